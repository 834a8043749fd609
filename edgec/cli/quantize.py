"""``edgec quantize``: post-training quantization of a float model to an int8 ``.tflite``."""

from __future__ import annotations

from edgec.cli.command import Command, load_graph
from edgec.quantize.observers import percentile_arg


def _op_list(text: str) -> list[str]:
    return [op.strip().upper() for op in text.split(",") if op.strip()]


def weight_bytes(graph) -> int:
    """Bytes of the constant tensors (weights, biases, parameters), int4 packed."""
    return sum(t.nbytes for t in graph.tensors.values() if t.is_const)


class QuantizeCommand(Command):
    name = "quantize"
    help = ("quantize a float model to int8 (int4 weights or int16 activations optional) and "
            "write a .tflite")

    def add_parser(self, subparsers):
        from edgec.quantize import ACTIVATION_DTYPES, INT4_OPS, IO_MODES, OBSERVERS, WEIGHT_DTYPES

        parser = super().add_parser(subparsers)
        parser.add_argument("model", help="a float32 .tflite or .onnx file")
        parser.add_argument("--calibrate", required=True, metavar="DATA.npz",
                            help="one float array per model input (key = input name), "
                                 "samples on axis 0")
        parser.add_argument("-o", "--output", required=True, metavar="OUT.tflite",
                            help="where to write the quantized model")
        parser.add_argument("--observer", choices=OBSERVERS, default="minmax",
                            help="how calibration picks ranges (default: minmax)")
        parser.add_argument("--percentile", type=percentile_arg, default=99.99,
                            help="the percentile observer's upper percentile (default 99.99)")
        parser.add_argument("--io", choices=IO_MODES, default="float",
                            help="float: quantize/dequantize inside the model (default); "
                                 "int8: the model takes and returns int8")
        parser.add_argument("--weights", choices=WEIGHT_DTYPES, default="int8",
                            help="int4: 4-bit symmetric weights in [-7, 7] (W4A8); ternary: "
                                 "{-1,0,+1} (stored as int8 in the .tflite; packed 4 per byte by "
                                 "edgec build --calibrate ... --weights ternary)")
        parser.add_argument("--activations", choices=ACTIVATION_DTYPES, default="int8",
                            help="int16: TFLite's 16x8 mode, int16 activations with int8 "
                                 "weights and int64 biases (default int8)")
        parser.add_argument("--int4-ops", type=_op_list, metavar="OP[,OP]",
                            help=f"ops given int4 weights (default: {','.join(INT4_OPS)})")
        return parser

    def run(self, args, console):
        from edgec.export import save_tflite
        from edgec.quantize import load_calibration, quantize_graph

        graph = load_graph(args.model, console)
        calibration = load_calibration(args.calibrate)
        quantized = quantize_graph(graph, calibration, observer=args.observer,
                                   percentile=args.percentile, io=args.io,
                                   weights=args.weights, int4_ops=args.int4_ops,
                                   activations=args.activations)
        size = save_tflite(quantized, args.output)
        console.inf(f"wrote {args.output} ({size} bytes): weights {weight_bytes(graph)} B "
                    f"float32 -> {weight_bytes(quantized)} B with {args.weights} weights, "
                    f"{args.activations} activations")
        return 0
