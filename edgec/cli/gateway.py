"""``edgec gateway``: combine the result lines of many nodes (edgec/gateway, docs/GATEWAY.md)."""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path

from edgec.cli.command import Command
from edgec.errors import EdgecError


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value < 0:
        raise EdgecError(f"'{text}' is not a number of seconds >= 0", "e.g. --heartbeat 5")
    return value


class GatewayCommand(Command):
    name = "gateway"
    help = "read result lines from many nodes, combine them by rules or a model, emit decisions"

    def add_parser(self, subparsers):
        parser = super().add_parser(subparsers)
        parser.add_argument("nodes", nargs="+", metavar="NAME=SPEC",
                            help="a node: NAME=serial:PORT[@BAUD], NAME=tcp:HOST:PORT, "
                                 "NAME=file:PATH or NAME=- (stdin)")
        parser.add_argument("--rules", metavar="RULES.yaml",
                            help="rules and second-stage model (default: majority over 10 s)")
        parser.add_argument("--heartbeat", type=_seconds, metavar="S",
                            help="a node silent for S seconds misses a heartbeat (0: off)")
        parser.add_argument("--json", action="store_true", help="print decisions as JSON lines")
        parser.add_argument("--mqtt", metavar="HOST[:PORT]",
                            help="also publish decisions to this broker (needs paho-mqtt)")
        parser.add_argument("--mqtt-topic", default="edgec/gateway", metavar="TOPIC",
                            help="topic prefix; a decision goes to TOPIC/<rule name>")
        parser.add_argument("--duration", type=_seconds, metavar="S",
                            help="stop after S seconds (default: when every node's stream ends)")
        parser.add_argument("--follow", action="store_true",
                            help="keep running after every node's stream ended")
        return parser

    def run(self, args, console):
        from edgec.gateway import Gateway, load_rules
        from edgec.gateway.rules import parse_rules
        from edgec.gateway.sinks import StdoutSink, mqtt_sink
        from edgec.gateway.sources import parse_spec, start
        from edgec.gateway.stage2 import load_stage2

        specs = [parse_spec(text) for text in args.nodes]
        if args.rules:
            rules, model = load_rules(args.rules)
        else:
            rules, model = parse_rules({"heartbeat": 5, "rules": [{"kind": "majority"}]}), None
        if args.heartbeat is not None:
            rules.heartbeat = args.heartbeat
        stage2 = load_stage2(model, Path(args.rules).parent) if model else None
        sinks = [StdoutSink(console, args.json)]
        if args.mqtt:
            sink = mqtt_sink(args.mqtt, args.mqtt_topic, console)
            sinks += [sink] if sink else []
        gateway = Gateway(rules, stage2, sinks)
        events, stop = queue.Queue(), threading.Event()
        start(specs, events, stop)
        if args.duration is not None:
            timer = threading.Timer(args.duration, stop.set)
            timer.daemon = True
            timer.start()
        try:
            gateway.serve(events, len(specs), stop, follow=args.follow)
        finally:
            stop.set()
            for sink in sinks:
                sink.close()
        _summary(gateway, console)
        return 0


def _summary(gateway, console) -> None:
    now = time.time()
    for node in gateway.fleet.summary(now):
        state = "closed" if node["closed"] else "done" if node["done"] else "open"
        last = "-" if node["label"] is None else node["label"]
        score = "" if node["score"] is None else f" {node['score']:.3f}"
        console.inf(f"node {node['node']}: {node['results']} results, last {last}{score}, "
                    f"{node['errors']} errors, {node['garbage']} garbage lines, "
                    f"{node['missed_heartbeats']} missed heartbeats, {state}")
