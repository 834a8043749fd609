"""The gateway loop: events in, node state updated, rules and the second stage evaluated,
decisions out. ``Gateway.feed`` and ``Gateway.tick`` are pure (explicit times), so tests drive
them with recorded streams; ``Gateway.serve`` runs them on live sources.
"""

from __future__ import annotations

import queue
import threading
import time

from edgec.gateway.lines import parse_line
from edgec.gateway.rules import RuleSet
from edgec.gateway.sources import Event
from edgec.gateway.state import Fleet


class Gateway:
    def __init__(self, rules: RuleSet, stage2=None, sinks=()):
        self.rules = rules
        self.stage2 = stage2
        self.sinks = list(sinks)
        keep = max(rules.longest_window, stage2.window if stage2 else 0.0, 1.0)
        self.fleet = Fleet(rules.heartbeat, keep)
        self.decisions: list[dict] = []

    def _emit(self, now: float, items: list[dict]) -> list[dict]:
        for item in items:
            item.setdefault("time", now)
            self.decisions.append(item)
            for sink in self.sinks:
                sink(item)
        return items

    def feed(self, event: Event) -> list[dict]:
        """Take one event; return the decisions it caused (already sent to the sinks)."""
        now = event.time
        if event.kind == "closed":
            out = [_node_event(e, error=event.error or None) for e in self.fleet.close(event.node)]
            return self._emit(now, out + self._decide(now))
        parsed = parse_line(event.text)
        out = [_node_event(e) for e in self.fleet.observe(event.node, parsed, now)]
        return self._emit(now, out + self._decide(now))

    def tick(self, now: float) -> list[dict]:
        """Time passes: report silent nodes, expire windows."""
        out = [_node_event(e) for e in self.fleet.heartbeat_events(now)]
        return self._emit(now, out + self._decide(now))

    def _decide(self, now: float) -> list[dict]:
        out = []
        for rule in self.rules.rules:
            value = rule.evaluate(self.rules.votes(self.fleet.recent(now, rule.window)))
            out.extend(_edge(rule.name, rule.kind, rule.label, rule.state, value))
            rule.state = value
        if self.stage2 is not None:
            out.extend(self._stage2(now))
        return out

    def _stage2(self, now: float) -> list[dict]:
        recent = self.fleet.recent(now, self.stage2.window)
        latest = {node: results[-1] for node, results in recent.items() if results}
        if not latest:
            return []
        label, value = self.stage2.evaluate(latest)
        if self.stage2.state == label:
            return []
        self.stage2.state = label
        return [{"name": self.stage2.name, "kind": "model", "event": "changed", "label": label,
                 "nodes": sorted(latest), "score": value}]

    def serve(self, events: queue.Queue, nodes: int, stop: threading.Event,
              tick: float = 0.1, follow: bool = False) -> None:
        """Consume ``events`` until every one of ``nodes`` sources closed (unless ``follow``)
        or ``stop`` is set."""
        closed = 0
        last_tick = time.time()
        while not stop.is_set() and (follow or closed < nodes):
            try:
                event = events.get(timeout=tick)
            except queue.Empty:
                event = None
            if event is not None:
                closed += event.kind == "closed"
                self.feed(event)
            now = time.time()
            if now - last_tick >= tick:
                self.tick(now)
                last_tick = now


def _node_event(event: dict, **extra) -> dict:
    """A node event as a decision: name "node", the node in ``nodes``."""
    return dict(event, name="node", kind="node", label=None, nodes=[event["node"]], **extra)


def _edge(name: str, kind: str, label, before, after) -> list[dict]:
    """The decision a rule emits when its output goes from ``before`` to ``after``."""
    if kind == "majority":
        old = before[0] if before else None
        new = after[0] if after else None
        if old == new:
            return []
        return [{"name": name, "kind": kind, "event": "changed" if new else "lost",
                 "label": new or old, "nodes": list(after[1]) if after else []}]
    if bool(before) == bool(after):
        return []
    return [{"name": name, "kind": kind, "event": "raised" if after else "cleared",
             "label": label, "nodes": list(after or before)}]
