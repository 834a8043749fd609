"""``edgec inspect`` and ``edgec run``: look at a model and run it with the reference
interpreter."""

from __future__ import annotations

import json
import sys

import numpy as np

from edgec.cli.command import Command, load_graph, load_inputs, save_outputs
from edgec.errors import EdgecError


class InspectCommand(Command):
    name = "inspect"
    help = "show a model's ops, shapes, MACs, parameter and activation memory"

    def add_parser(self, subparsers):
        parser = super().add_parser(subparsers)
        parser.add_argument("model", help="a .tflite or .onnx file")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument("--target", default="host",
                            help="check that every node can be lowered for this target "
                                 "(default: host; `edgec targets` lists them)")
        return parser

    def run(self, args, console):
        from edgec.analysis import analyze, format_report
        from edgec.lower.select import unlowerable
        from edgec.passes import run_passes
        from edgec.targets import load_target

        target = load_target(args.target)
        graph = load_graph(args.model, console)
        report = analyze(graph)
        missing = unlowerable(run_passes(graph))  # what build would lower
        if args.json:
            console.out(json.dumps({"model": args.model, **report.to_dict(),
                                    "target": target["name"], "unsupported": missing}, indent=2))
        else:
            console.out(format_report(report))
            for line in missing:
                console.out(f"unsupported for {target['name']}: {line}")
        if missing:
            raise EdgecError(f"{len(missing)} node(s) cannot be lowered for {target['name']}: "
                             f"{', '.join(missing)}", "edgec build would refuse this model; "
                             "see the supported op/dtype pairs in docs/IR.md")
        return 0


def batch_size(graph, inputs: dict) -> int | None:
    """N when every input holds N > 1 samples of a model input whose first dimension is 1
    (a batch on axis 0), else None (the interpreter checks shapes as usual)."""
    sizes = set()
    for name, array in inputs.items():
        shape = graph.tensors[name].shape
        array = np.asarray(array)
        if not shape or shape[0] != 1 or array.shape[1:] != tuple(shape[1:]):
            return None
        sizes.add(array.shape[0])
    return sizes.pop() if len(sizes) == 1 and min(sizes) > 1 else None


class RunCommand(Command):
    name = "run"
    help = "run a model on inputs with the reference interpreter"

    def add_parser(self, subparsers):
        parser = super().add_parser(subparsers)
        parser.add_argument("model", help="a .tflite or .onnx file")
        parser.add_argument("--input", "-i", required=True, metavar="IN.npy|IN.npz",
                            help=".npy: the single input; .npz: one array per input name; a batch "
                                 "of N samples on axis 0 runs N times")
        parser.add_argument("--output", "-o", metavar="OUT.npy|OUT.npz",
                            help="write the outputs here instead of printing them")
        return parser

    def run(self, args, console):
        from edgec.ir import interpret

        graph = load_graph(args.model, console)
        inputs = load_inputs(args.input, graph.inputs)
        batch = batch_size(graph, inputs)
        if batch is None:
            outputs = interpret(graph, inputs)
        else:  # one run per sample on axis 0, outputs stacked on axis 0
            runs = [interpret(graph, {n: a[i:i + 1] for n, a in inputs.items()})
                    for i in range(batch)]
            outputs = {n: np.concatenate([r[n] for r in runs]) for n in graph.outputs}
        if args.output:
            save_outputs(args.output, outputs)
            console.inf(f"wrote {len(outputs)} output(s) to {args.output}")
            return 0
        with np.printoptions(threshold=sys.maxsize):
            for name, value in outputs.items():
                console.out(f"{name} = {np.array_repr(value)}")
        return 0
