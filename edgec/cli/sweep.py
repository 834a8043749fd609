"""``edgec sweep``: the CLI side of ``edgec.sweep``."""

from __future__ import annotations

from edgec.cli.command import Command
from edgec.errors import EdgecError


class SweepCommand(Command):
    name = "sweep"
    help = ("build and measure every prune ratio x weight type x optimize mode for boards: "
            "accuracy, flash, RAM, latency, Pareto fronts and the best setting per board")

    def add_parser(self, subparsers):
        parser = super().add_parser(subparsers)
        parser.add_argument("model", help="a float32 .tflite or .onnx file")
        parser.add_argument("--data", required=True, metavar="TEST.npz",
                            help="test samples: one array per input name plus the labels")
        parser.add_argument("--labels", default="labels", metavar="KEY",
                            help="the labels' array in --data: class indices (accuracy) or "
                                 "target values (MSE); default 'labels'")
        parser.add_argument("--calibrate", required=True, metavar="CAL.npz",
                            help="calibration samples for the quantization of each point")
        parser.add_argument("--prune", default="0,0.25,0.5", metavar="R[,R...]",
                            help="structured pruning ratios (0: none; default 0,0.25,0.5)")
        parser.add_argument("--weights", default="int8,int4,ternary", metavar="W[,W...]",
                            help="weight types (default int8,int4,ternary)")
        parser.add_argument("--optimize", metavar="MODE[,MODE...]",
                            help="build optimize modes (default: every mode edgec has)")
        parser.add_argument("--targets", metavar="BOARD[,BOARD...]",
                            help="boards to rank (default: every board target)")
        parser.add_argument("--finetune", metavar="SCRIPT.py",
                            help="a script defining finetune(model, data), called after "
                                 "pruning and before quantization (see docs/SWEEP.md)")
        parser.add_argument("--train", metavar="TRAIN.npz",
                            help="the data given to the fine-tuning function (default: "
                                 "--calibrate)")
        parser.add_argument("-o", "--output", metavar="DIR",
                            help="results folder, also the cache of finished points "
                                 "(default: sweep_<model stem>)")
        parser.add_argument("-j", "--jobs", type=int, metavar="N",
                            help="local worker processes (default: the cores)")
        parser.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                            help="run the points on a Ray cluster (ADDRESS, or a local Ray "
                                 "instance when omitted); needs edgec[ray]")
        parser.add_argument("--timing-samples", type=int, default=3, metavar="N",
                            help="inferences timed on the emulated core (default 3)")
        parser.add_argument("--cache-dir", help="where lowered kernels are cached")
        return parser

    def run(self, args, console):
        from pathlib import Path

        from edgec.sweep import Inputs, LocalPool, RayBackend, sweep
        from edgec.sweep.grid import (optimize_modes, parse_list, parse_ratios,
                                      weight_types)
        from edgec.sweep.report import table

        if args.jobs is not None and args.jobs < 1:
            raise EdgecError(f"--jobs must be at least 1, not {args.jobs}")
        if args.timing_samples < 1:
            raise EdgecError(f"--timing-samples must be at least 1, not {args.timing_samples}")
        if args.jobs is not None and args.ray is not None:
            raise EdgecError("--jobs and --ray both given", "Ray sizes its own workers")
        inputs = Inputs(args.model, args.data, args.calibrate, args.labels, args.finetune,
                        args.train, args.timing_samples)
        prune = parse_ratios(args.prune)
        weights = parse_list(args.weights, "weights", weight_types())
        optimize = parse_list(args.optimize or ",".join(optimize_modes()), "optimize",
                              optimize_modes())
        boards = parse_list(args.targets, "targets") if args.targets else None
        out_dir = Path(args.output or f"sweep_{Path(args.model).stem}")
        backend = RayBackend(args.ray or None) if args.ray is not None else LocalPool(args.jobs)

        def progress(point, result, cached):
            state = ("cached" if cached else f"FAILED: {result['error']}" if "error" in result
                     else f"{result['seconds']:.1f} s")
            console.inf(f"{point.label} on {point.machine}: {state}")

        console.inf(f"sweep on {backend.name} back end, {backend.workers} workers, "
                    f"results in {out_dir}")
        outcome = sweep(inputs, out_dir, prune=prune, weights=weights, optimize=optimize,
                        boards=boards, backend=backend, cache_dir=args.cache_dir,
                        on_point=progress)
        run = outcome.run
        console.out(table(outcome.rows, outcome.metric))
        console.out(f"\n{len(run.points)} points: {run.computed} measured, {run.cached} from "
                    f"the cache, {run.failed} failed")
        for board in dict.fromkeys(r["board"] for r in outcome.rows):
            entry = outcome.best.get(board)
            if entry is None:
                console.out(f"\nbest on {board}: no setting fits")
                continue
            row = entry["row"]
            console.out(f"\nbest on {board}: prune {row['prune']:g} {row['weights']} "
                        f"{row['optimize']}: {outcome.metric.name} {row['metric']:.4f}, flash "
                        f"{row['flash_bytes']:,} B, RAM {row['ram_bytes']:,} B, "
                        f"{row['ms']:.3f} ms")
            for line in entry["commands"]:
                console.out(f"  {line}")
        if outcome.note:
            console.out(f"\nnote: {outcome.note}")
        console.out(f"\nwrote {', '.join(p.name for p in outcome.files)} to {out_dir}")
        return 1 if run.failed else 0
