"""``edgec passes`` and ``edgec prune``: the CLI side of ``edgec.passes``."""

from __future__ import annotations

import json

from edgec.cli.command import Command, load_graph
from edgec.errors import EdgecError


def _ratio(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise EdgecError(f"pruning ratio '{text}' is not a number",
                         "give the fraction of filters to remove, e.g. 0.25") from None


class PassesCommand(Command):
    name = "passes"
    help = "run the graph passes on a model and show what each one changed"

    def add_parser(self, subparsers):
        parser = super().add_parser(subparsers)
        parser.add_argument("model", help="a .tflite or .onnx file")
        parser.add_argument("--dump-after", metavar="PASS",
                            help="stop after this pass and print the graph as `inspect` does")
        return parser

    def run(self, args, console):
        from edgec.analysis import analyze, format_report
        from edgec.passes import PIPELINE, pass_names

        if args.dump_after is not None and args.dump_after not in pass_names():
            raise EdgecError(f"unknown pass '{args.dump_after}'",
                             f"known passes: {', '.join(pass_names())}")
        graph = load_graph(args.model, console)
        console.out(_summary("(imported)", graph))
        for name, run in PIPELINE:
            graph = run(graph)
            console.out(_summary(name, graph))
            if name == args.dump_after:
                console.out("")
                console.out(format_report(analyze(graph)))
                break
        return 0


def _summary(label: str, graph) -> str:
    """One line: node count, MACs and parameter bytes of ``graph``."""
    from edgec.analysis import analyze

    report = analyze(graph)
    return (f"{label:<18} {len(graph.nodes):>4} nodes  {report.total_macs:>12,} MACs  "
            f"{report.param_bytes:>10,} parameter bytes")


class PruneCommand(Command):
    name = "prune"
    help = "remove the smallest filters (L1 norm) and report the savings per layer"

    def add_parser(self, subparsers):
        parser = super().add_parser(subparsers)
        parser.add_argument("model", help="a .tflite or .onnx file")
        parser.add_argument("--structured", required=True, type=_ratio, metavar="RATIO",
                            help="fraction of filters to remove, in (0, 1)")
        parser.add_argument("--scope", choices=("layer", "global"), default="layer",
                            help="rank filters within each layer (default) or across layers")
        parser.add_argument("-o", "--output", metavar="OUT.tflite",
                            help="write the pruned model here")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        return parser

    def run(self, args, console):
        from edgec.passes.prune import prune_structured
        from edgec.passes.prune_report import format_prune_report, prune_report

        graph = load_graph(args.model, console)
        pruned = prune_structured(graph, args.structured, args.scope)
        report = prune_report(graph, pruned)
        if args.json:
            console.out(json.dumps({"model": args.model, **report.to_dict()}, indent=2))
        else:
            console.out(format_prune_report(report))
        if args.output:
            from edgec.export import save_tflite

            size = save_tflite(pruned, args.output)
            console.inf(f"wrote {args.output} ({size:,} bytes)")
        return 0
