"""Accuracy of edgec's post-training quantization on real data: scikit-learn's 8x8 digits.

The float model is ``examples/digits.onnx`` (a small CNN trained by
``examples/make_digits_model.py``, seeded). On the same seeded test split this measures:
float32 (edgec's interpreter), edgec PTQ int8 with each observer, int16 activations (TFLite's
16x8 mode), int4 weights (W4A8) and
ternary weights (W2A8) through edgec's interpreter, every quantized model also checked prediction for prediction
against TensorFlow Lite Micro on its exported ``.tflite`` (outputs bit-equal), and
onnxruntime's static quantizer (QDQ, per-channel, min-max) run in onnxruntime, and edgec's
structured pruning (no fine-tuning) in float and int8. Calibration: the first 300 training
images for every quantizer.

Run: ``python benchmarks/accuracy.py``; the table goes to docs/BENCHMARKS.md between the
``accuracy`` markers.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "examples")]

from benchmarks import sections  # noqa: E402
from edgec.export import to_tflite_bytes  # noqa: E402
from edgec.frontends import load_model  # noqa: E402
from edgec.ir import interpret  # noqa: E402
from edgec.quantize import quantize_graph  # noqa: E402
from make_digits_model import CALIBRATION_IMAGES, load_split  # noqa: E402

FLOAT_MODEL = ROOT / "examples" / "digits.onnx"
REPORT = ROOT / "docs" / "BENCHMARKS.md"
BEGIN, END = "<!-- accuracy:begin -->", "<!-- accuracy:end -->"
WEIGHT_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def predict_edgec(graph, images: np.ndarray) -> np.ndarray:
    """Class predictions of ``graph`` (float interface) with edgec's interpreter."""
    return np.array([int(np.argmax(interpret(graph, x[np.newaxis])[graph.outputs[0]]))
                     for x in images])


def tflm_mismatches(graph, images: np.ndarray) -> int:
    """Test images whose TFLM output differs in any byte from edgec's on ``graph``."""
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(to_tflite_bytes(graph), arena_size=1 << 18)
    bad = 0
    for x in images:
        interp.set_input(x[np.newaxis], 0)
        interp.invoke()
        bad += not np.array_equal(interp.get_output(0),
                                  interpret(graph, x[np.newaxis])[graph.outputs[0]])
    return bad


def weight_bytes(graph) -> int:
    """Bytes of the conv / depthwise / fully-connected weights (int4 packed)."""
    return sum(graph.tensors[n.inputs[1]].nbytes for n in graph.nodes if n.op in WEIGHT_OPS)


def onnxruntime_accuracy(calibration: np.ndarray, images, labels, workdir: Path) -> float:
    """onnxruntime's ``quantize_static`` (QDQ, per-channel int8) run in onnxruntime."""
    import onnxruntime as ort
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.samples = iter(calibration)

        def get_next(self):
            x = next(self.samples, None)
            return None if x is None else {"image": x[np.newaxis]}

    out = workdir / "digits_ort_qdq.onnx"
    quantize_static(str(FLOAT_MODEL), str(out), Reader(), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QInt8,
                    weight_type=QuantType.QInt8)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    predictions = [int(np.argmax(session.run(None, {"image": x[np.newaxis]})[0]))
                   for x in images]
    return float(np.mean(np.array(predictions) == labels))


PRUNE_RATIO = 0.25


def pruned_rows(graph, calibration, images, labels) -> list:
    """Float and int8 rows after structured pruning (``edgec.passes.prune``, no fine-tuning),
    or a note when that pass is not there."""
    label = f"edgec prune_structured {PRUNE_RATIO:.0%} per layer"
    try:
        from edgec.passes.prune import prune_structured
    except ImportError:
        return [(label, None, "skipped: edgec has no prune_structured pass")]
    pruned = prune_structured(graph, PRUNE_RATIO)
    quantized = quantize_graph(pruned, {"image": calibration})
    return [(f"{label}, float32", float(np.mean(predict_edgec(pruned, images) == labels)),
             f"weights {weight_bytes(pruned)} B; no fine-tuning"),
            (f"{label} + PTQ int8", float(np.mean(predict_edgec(quantized, images) == labels)),
             f"weights {weight_bytes(quantized)} B")]


def measure(workdir: Path) -> list[tuple[str, float | None, str]]:
    """Rows of (model, test accuracy or None, note)."""
    x_train, x_test, _, y_test = load_split()
    calibration = x_train[:CALIBRATION_IMAGES]
    graph = load_model(FLOAT_MODEL)
    float_acc = float(np.mean(predict_edgec(graph, x_test) == y_test))
    rows = [("float32 (edgec interpreter)", float_acc, "weights "
             f"{weight_bytes(graph)} B")]
    variants = [("edgec PTQ int8, min-max", {}),
                ("edgec PTQ int8, percentile 99.99", {"observer": "percentile"}),
                ("edgec PTQ 16x8 (int16 activations, int8 weights), min-max",
                 {"activations": "int16"}),
                ("edgec PTQ W4A8 (int4 weights), min-max", {"weights": "int4"}),
                ("edgec PTQ W2A8 (ternary weights), min-max", {"weights": "ternary"})]
    for label, options in variants:
        quantized = quantize_graph(graph, {"image": calibration}, **options)
        accuracy = float(np.mean(predict_edgec(quantized, x_test) == y_test))
        bad = tflm_mismatches(quantized, x_test)
        rows.append((label, accuracy, f"weights {weight_bytes(quantized)} B; TFLM differs "
                                      f"on {bad} of {len(x_test)} test images"))
    rows.append(("onnxruntime quantize_static (QDQ, per-channel int8)",
                 onnxruntime_accuracy(calibration, x_test, y_test, workdir), "run in onnxruntime"))
    rows += pruned_rows(graph, calibration, x_test, y_test)
    return rows


def format_table(rows, test_count: int) -> str:
    lines = [f"Digits CNN (`examples/digits.onnx`), {test_count} test images, calibration "
             f"{CALIBRATION_IMAGES} training images. Written by `python benchmarks/accuracy.py`.",
             "", "| model | test accuracy | notes |", "|---|---|---|"]
    for label, accuracy, note in rows:
        shown = "-" if accuracy is None else f"{100 * accuracy:.2f} %"
        lines.append(f"| {label} | {shown} | {note} |")
    lines += ["", "Goals: int8 within 1 point of float and no worse than onnxruntime's quantizer; "
              "int4 within 3 points; ternary has none: post-training only, without the "
              "ternary-aware training such weights need. \"weights\" "
              "counts the conv and fully-connected weight bytes (int4 packed two per byte, "
              "ternary four; the .tflite TFLM runs stores ternary values as int8); "
              "\"TFLM differs\" compares every output byte of TensorFlow Lite Micro on the "
              "exported `.tflite` with edgec's interpreter."]
    return "\n".join(lines)


def write_section(text: str) -> None:
    """Replace what is between the markers in docs/BENCHMARKS.md (added at the end if absent)."""
    sections.write_section(f"{BEGIN}\n## Quantization accuracy\n\n{text}\n{END}", BEGIN, END,
                           REPORT)


def main() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as workdir:
        rows = measure(Path(workdir))
    table = format_table(rows, len(load_split()[1]))
    print(table)
    write_section(table)


if __name__ == "__main__":
    main()
