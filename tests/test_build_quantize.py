"""``edgec build/verify --calibrate``: PTQ inside the build. The digits float model
(examples/digits.onnx), calibrated on seeded scikit-learn digits, compiles with int8 or int4
weights to C that matches the reference interpreter on the quantized graph bit for bit; int4
halves the bytes of the weight arrays; bad calibration data fails like ``edgec quantize``."""

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from edgec.build import Quantization, build, load_graph
from edgec.cli import main
from edgec.ir import interpret
from edgec.options import BuildOptions
from edgec.verify import compile_host, run_harness

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
MODEL = EXAMPLES / "digits.onnx"
CONV_LIKE = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """(calibration .npz path, held-out test images): the example's seeded split."""
    pytest.importorskip("sklearn")
    sys.path.insert(0, str(EXAMPLES))
    try:
        from make_digits_model import load_split
    finally:
        sys.path.remove(str(EXAMPLES))
    x_train, x_test, _, _ = load_split()
    path = tmp_path_factory.mktemp("calibration") / "digits.npz"
    np.savez(path, image=x_train[:100])
    return str(path), x_test[:20]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("kernel-cache")


@pytest.fixture(scope="module")
def builds(digits, cache_dir, tmp_path_factory):
    """``edgec build --calibrate`` with int8 and with int4 weights, by weight type."""
    results = {}
    for weights in ("int8", "int4"):
        out = tmp_path_factory.mktemp(f"digits-{weights}")
        assert main(["build", str(MODEL), "--target", "host", "-o", str(out), "--calibrate",
                     digits[0], "--weights", weights, "--cache-dir", str(cache_dir)]) == 0
        results[weights] = out
    return results


def report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


def weight_counts(graph) -> dict[str, int]:
    """Element count of each conv-like node's weights, by node name."""
    return {n.name: graph.tensors[n.inputs[1]].size for n in graph.nodes if n.op in CONV_LIKE}


@needs_gcc
@pytest.mark.parametrize("io", ["int8", "float"])
def test_int4_build_is_bit_exact_with_the_quantized_graph(digits, cache_dir, tmp_path, io):
    calibration, images = digits
    quantization = Quantization(calibration, weights="int4", io=io)
    reference = load_graph(MODEL, quantization)
    assert {reference.tensors[n.inputs[1]].dtype for n in reference.nodes
            if n.op in CONV_LIKE} == {"int4"}
    result = build(MODEL, tmp_path, BuildOptions(quantization=quantization, cache_dir=cache_dir))
    x = reference.tensors[reference.inputs[0]]
    if io == "int8":
        images = np.clip(np.round(images / x.quant.s) + x.quant.zp, -128, 127)
    samples = [[image.reshape(x.shape).astype(x.dtype)] for image in images]
    actual = run_harness(compile_host(result), result.graph, samples)
    for sample, (out,) in zip(samples, actual):
        expected = interpret(reference, sample[0])[reference.outputs[0]]
        assert out.dtype == expected.dtype and np.array_equal(out, expected)


def test_int4_halves_the_weight_arrays(builds):
    int8, int4 = report(builds["int8"]), report(builds["int4"])
    counts = weight_counts(load_graph(MODEL))
    saved = {n: c // 2 for n, c in counts.items()}  # int8 bytes minus ceil(count / 2)
    rows8 = {r["node"]: r["weight_bytes"] for r in int8["kernels"]}
    rows4 = {r["node"]: r["weight_bytes"] for r in int4["kernels"]}
    for node, count in counts.items():
        assert rows8[node] - rows4[node] == saved[node], node
    assert int8["totals"]["weight_bytes"] - int4["totals"]["weight_bytes"] == sum(saved.values())
    # The per-channel requantization arrays stay; in this small model they are a fifth.
    assert int4["totals"]["weight_bytes"] < 0.65 * int8["totals"]["weight_bytes"]


def test_int4_weights_are_packed_in_flash(builds):
    source = (builds["int4"] / "digits.c").read_text()
    graph = load_graph(MODEL)
    for node, count in weight_counts(graph).items():
        step = next(i for i, n in enumerate(graph.nodes) if n.name == node) + 1  # + QUANTIZE
        op = graph.nodes[step - 1].op.lower()
        assert f"static const uint8_t digits_k{step}_{op}_w[{(count + 1) // 2}]" in source


def test_report_says_how_the_model_was_quantized(builds):
    assert report(builds["int4"])["quantization"] == {
        "calibration": "digits.npz", "observer": "minmax", "percentile": 99.99,
        "weights": "int4", "io": "float", "activations": "int8"}
    text = (builds["int4"] / "report.txt").read_text()
    assert "quantized  int4 weights, minmax ranges from digits.npz, float I/O" in text


def test_builds_are_byte_identical(builds, digits, cache_dir, tmp_path):
    assert main(["build", str(MODEL), "-o", str(tmp_path), "--calibrate", digits[0],
                 "--weights", "int4", "--cache-dir", str(cache_dir)]) == 0
    for name in ("digits.c", "digits.h"):
        assert (tmp_path / name).read_bytes() == (builds["int4"] / name).read_bytes()


@needs_gcc
def test_verify_accepts_the_quantization_flags(digits, cache_dir, capsys):
    assert main(["verify", str(MODEL), "--calibrate", digits[0], "--weights", "int4",
                 "--io", "int8", "--observer", "percentile", "--percentile", "99.9",
                 "--count", "5", "--cache-dir", str(cache_dir)]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("vs the quantized graph: bit-exact on 5 inputs; "
                          "vs the float model (quantization error): max relative error ")


@needs_gcc
def test_verify_calibrate_shows_the_quantization_error(digits, cache_dir):
    """The C matches the quantized graph bit for bit, and its distance from the float model
    is reported: not 0 (the bug was comparing against the quantized reference only)."""
    import re

    from edgec.build import Quantization
    from edgec.verify.check import verify

    result = verify(MODEL,
                    BuildOptions(quantization=Quantization(digits[0]), cache_dir=cache_dir),
                    count=0, extra_inputs=[{"image": x[None]} for x in digits[1][:8]])
    assert result.ok and result.message.startswith("vs the quantized graph: max relative error 0")
    match = re.search(r"max relative error ([0-9.e-]+), top-1 agreement (\d+)/8", result.message)
    assert match, result.message
    error, agree = float(match.group(1)), int(match.group(2))
    assert 0 < error < 0.5 and agree >= 6


def error_line(capsys, argv) -> str:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert out == "" and len(lines) == 1 and lines[0].startswith("edgec: error: "), err
    return lines[0]


@pytest.mark.parametrize("bad", [
    {"image": np.zeros((4, 4, 8, 1), np.float32)},
    {"image": np.zeros((4, 8, 8, 1), np.int32)},
    {"image": np.zeros((4, 8, 8, 1), np.float32), "extra": np.zeros(3, np.float32)},
    None,
], ids=["shape", "dtype", "count", "missing-file"])
def test_bad_calibration_fails_like_quantize(capsys, tmp_path, bad):
    calibration = tmp_path / "cal.npz"
    if bad is not None:
        np.savez(calibration, **bad)
    expected = error_line(capsys, ["quantize", str(MODEL), "--calibrate", str(calibration),
                                   "-o", str(tmp_path / "q.tflite")])
    for command in (["build", "-o", str(tmp_path / "out")], ["verify"]):
        assert error_line(capsys, [command[0], str(MODEL), *command[1:], "--calibrate",
                                   str(calibration), "--weights", "int4"]) == expected


def test_quantization_flags_need_calibrate(capsys, tmp_path):
    line = error_line(capsys, ["build", str(MODEL), "-o", str(tmp_path), "--weights", "int4",
                               "--observer", "percentile"])
    assert line == ("edgec: error: --observer, --weights given without --calibrate (hint: add "
                    "--calibrate DATA.npz to quantize the float model first)")


@needs_gcc
def test_ternary_build_is_bit_exact_and_packs_four_per_byte(digits, cache_dir, tmp_path):
    calibration, images = digits
    quantization = Quantization(calibration, weights="ternary", io="float")
    reference = load_graph(MODEL, quantization)
    weights = [reference.tensors[n.inputs[1]] for n in reference.nodes if n.op in CONV_LIKE]
    assert {w.dtype for w in weights} == {"ternary"}
    assert all(set(np.unique(w.data)) <= {-1, 0, 1} for w in weights)
    result = build(MODEL, tmp_path, BuildOptions(quantization=quantization, cache_dir=cache_dir))
    x = reference.tensors[reference.inputs[0]]
    samples = [[image.reshape(x.shape).astype(x.dtype)] for image in images]
    actual = run_harness(compile_host(result), result.graph, samples)
    for sample, (out,) in zip(samples, actual):
        expected = interpret(reference, sample[0])[reference.outputs[0]]
        assert np.array_equal(out, expected)
    source = (tmp_path / "digits.c").read_text()
    graph = load_graph(MODEL)
    for node, count in weight_counts(graph).items():
        step = next(i for i, n in enumerate(graph.nodes) if n.name == node) + 1  # + QUANTIZE
        op = graph.nodes[step - 1].op.lower()
        assert f"static const uint8_t digits_k{step}_{op}_w[{(count + 3) // 4}]" in source
