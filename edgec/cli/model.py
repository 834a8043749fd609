"""``edgec inspect`` and ``edgec run``: look at a model and run it with the reference
interpreter."""

from __future__ import annotations

import json
import sys

import numpy as np

from edgec.cli.command import Command, load_graph, load_inputs, save_outputs


class InspectCommand(Command):
    name = "inspect"
    help = "show a model's ops, shapes, MACs, parameter and activation memory"

    def add_parser(self, subparsers):
        parser = super().add_parser(subparsers)
        parser.add_argument("model", help="a .tflite or .onnx file")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        return parser

    def run(self, args, console):
        from edgec.analysis import analyze, format_report

        report = analyze(load_graph(args.model, console))
        if args.json:
            console.out(json.dumps({"model": args.model, **report.to_dict()}, indent=2))
        else:
            console.out(format_report(report))
        return 0


class RunCommand(Command):
    name = "run"
    help = "run a model on inputs with the reference interpreter"

    def add_parser(self, subparsers):
        parser = super().add_parser(subparsers)
        parser.add_argument("model", help="a .tflite or .onnx file")
        parser.add_argument("--input", "-i", required=True, metavar="IN.npy|IN.npz",
                            help=".npy: the single input; .npz: one array per input name")
        parser.add_argument("--output", "-o", metavar="OUT.npy|OUT.npz",
                            help="write the outputs here instead of printing them")
        return parser

    def run(self, args, console):
        from edgec.ir import interpret

        graph = load_graph(args.model, console)
        outputs = interpret(graph, load_inputs(args.input, graph.inputs))
        if args.output:
            save_outputs(args.output, outputs)
            console.inf(f"wrote {len(outputs)} output(s) to {args.output}")
            return 0
        with np.printoptions(threshold=sys.maxsize):
            for name, value in outputs.items():
                console.out(f"{name} = {np.array_repr(value)}")
        return 0
