"""``edgec evaluate``: accuracy of the float model and of edgec's int8/int4 builds on the
user's data (see ``edgec.evaluate``)."""

from __future__ import annotations

import json

from edgec.cli.command import Command

_COLUMNS = ("accuracy", "agreement", "mse", "max_error", "mse_vs_float")


class EvaluateCommand(Command):
    name = "evaluate"
    help = "accuracy (or MSE) of the float model and its int8/int4 builds on your data"

    def add_parser(self, subparsers):
        parser = super().add_parser(subparsers)
        parser.add_argument("model", help="a .tflite or .onnx file")
        parser.add_argument("--data", required=True, metavar="TEST.npz",
                            help="one array per input name, samples on axis 0, plus labels")
        parser.add_argument("--labels", metavar="KEY",
                            help="the array of labels in --data: class indices (top-1 "
                                 "accuracy) or target values (MSE, max error)")
        parser.add_argument("--calibrate", metavar="CAL.npz",
                            help="calibration samples, to quantize a float model")
        parser.add_argument("--weights", choices=("int8", "int4"), action="append",
                            help="which quantized builds (default: both)")
        parser.add_argument("--json", action="store_true", help="print the results as JSON")
        parser.add_argument("--cache-dir", help="kernel cache folder")
        return parser

    def run(self, args, console):
        from edgec.evaluate import evaluate

        variants = evaluate(args.model, args.data, labels=args.labels,
                            calibration=args.calibrate,
                            weights=tuple(args.weights or ("int8", "int4")),
                            cache_dir=args.cache_dir)
        samples = len(variants[0].outputs)
        if args.json:
            console.out(json.dumps({"model": args.model, "samples": samples,
                                    "variants": {v.name: v.metrics for v in variants}},
                                   indent=2))
            return 0
        columns = [c for c in _COLUMNS if any(c in v.metrics for v in variants)]
        console.out(f"{'MODEL':<8}" + "".join(f"{c.upper():>14}" for c in columns)
                    + f"   ({samples} samples)")
        for v in variants:
            cells = "".join(f"{v.metrics[c]:>14.4g}" if c in v.metrics else f"{'-':>14}"
                            for c in columns)
            console.out(f"{v.name:<8}{cells}")
        return 0
