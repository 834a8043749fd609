"""EXP, LOG, ERF (float32) and the ONNX ops built on existing ones (Reciprocal as DIV, Pow by
1 / 2 / 0.5 as identity / MUL / SQRT): against LiteRT and onnxruntime, the export round trip,
PTQ refusing them, and the C kernels against the reference."""

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgec.export import to_tflite_bytes
from edgec.frontends.onnx import load_onnx
from edgec.frontends.tflite import load_tflite
from edgec.ir import Tensor, interpret
from tests.lower.harness import check_against_reference, needs_gcc, single_node_graph
from tests.ops import float_data, unary_model
from tests.refs import run_edgec_tflite, run_litert


def _inputs(op: str, rng, shape) -> np.ndarray:
    x = float_data(rng, shape) * 8
    if op == "LOG":  # positive, tiny, huge, and the edges: 0 -> -inf, below 0 -> NaN
        x = np.abs(x) * 10
        x.flat[:4] = [1e-38, 3.4e38, 1.0, 0.0]
    if op == "EXP":  # overflow to inf, underflow to 0
        x.flat[:3] = [89.0, -104.0, 0.0]
    return x.astype(np.float32)


@pytest.mark.parametrize("op", ["EXP", "LOG"])
def test_float_matches_litert(op):
    """Each element within 2 ulp-ish of LiteRT's reference kernel, relative to itself (the
    outputs span many magnitudes; infinities and zeros must match exactly)."""
    x = _inputs(op, np.random.default_rng(3), (3, 40))
    if op == "LOG":
        x[x == 0] = 7.0  # LiteRT's LOG: log(0) is checked in the edge test below
    model = unary_model(op, x.shape, None, None)
    expected = run_litert(model, [x], reference=True)[0]
    actual = run_edgec_tflite(model, [x])[0]
    assert np.isinf(expected).any() or op == "LOG"
    np.testing.assert_allclose(actual, expected, rtol=3e-7, atol=0)


@pytest.mark.parametrize("op,x,expected", [
    ("EXP", [0.0, 1.0, 100.0, -200.0, -np.inf], [1.0, np.float32(np.e), np.inf, 0.0, 0.0]),
    ("LOG", [1.0, 0.0, -1.0, np.inf], [0.0, -np.inf, np.nan, np.inf]),
])
def test_edges_and_export_round_trip(op, x, expected):
    graph = load_tflite(unary_model(op, (len(x),), None, None))
    out = interpret(graph, np.array(x, np.float32))[graph.outputs[0]]
    np.testing.assert_array_equal(out, np.array(expected, np.float32))
    again = load_tflite(to_tflite_bytes(graph))
    assert [n.op for n in again.nodes] == [op]


def _onnx_model(nodes, inits=(), shape=(2, 3, 4)) -> bytes:
    graph_def = helper.make_graph(
        nodes, "m", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.asarray(v), n) for n, v in inits])
    return helper.make_model(graph_def, opset_imports=[helper.make_opsetid("", 17)]
                             ).SerializeToString()


_ONNX_CASES = {
    "Exp": ([helper.make_node("Exp", ["x"], ["y"])], ()),
    "Log": ([helper.make_node("Log", ["x"], ["y"])], ()),
    "Erf": ([helper.make_node("Erf", ["x"], ["y"])], ()),
    "Reciprocal": ([helper.make_node("Reciprocal", ["x"], ["y"])], ()),
    "Pow2": ([helper.make_node("Pow", ["x", "e"], ["y"])], (("e", np.float32(2.0)),)),
    "Pow05": ([helper.make_node("Pow", ["x", "e"], ["y"])], (("e", np.array([0.5], np.float32)),)),
    "Pow1": ([helper.make_node("Pow", ["x", "e"], ["y"])], (("e", np.float32(1.0)),)),
    # The exact GELU as PyTorch exports it.
    "Gelu": ([helper.make_node("Div", ["x", "s"], ["d"]), helper.make_node("Erf", ["d"], ["e"]),
              helper.make_node("Add", ["e", "one"], ["a"]),
              helper.make_node("Mul", ["x", "a"], ["m"]), helper.make_node("Mul", ["m", "half"], ["y"])],
             (("s", np.float32(np.sqrt(2))), ("one", np.float32(1)), ("half", np.float32(0.5)))),
}


@pytest.mark.parametrize("case", sorted(_ONNX_CASES))
def test_onnx_matches_onnxruntime(case):
    nodes, inits = _ONNX_CASES[case]
    data = _onnx_model(nodes, inits)
    x = float_data(np.random.default_rng(1), (2, 3, 4)) * 4
    if case in ("Log", "Pow05"):
        x = np.abs(x) + np.float32(1e-3)
    graph = load_onnx(data)
    expected = ort.InferenceSession(data).run(None, {"x": x})[0]
    np.testing.assert_allclose(interpret(graph, x)["y"], expected, rtol=2e-6, atol=1e-7)
    assert sorted({n.op for n in graph.nodes}) == _IR_OPS[case]


# The IR ops each case imports as (x ** 1 is x: the output is a copy of the input).
_IR_OPS = {"Exp": ["EXP"], "Log": ["LOG"], "Erf": ["ERF"], "Reciprocal": ["DIV"],
           "Pow2": ["MUL"], "Pow05": ["SQRT"], "Pow1": ["RESHAPE"],
           "Gelu": ["ADD", "ERF", "MUL"]}


@pytest.mark.parametrize("op", ["EXP", "LOG"])
def test_post_training_quantization_keeps_it_float(op):
    """TFLM's EXP and LOG are float only (the converter writes int8 ones, which TFLM
    refuses): PTQ leaves them float32 between DEQUANTIZE and QUANTIZE, bit-exact in TFLM."""
    from edgec.quantize import quantize_graph
    from tests.quantize.test_ptq_tflm import assert_tflm_agrees

    graph = load_tflite(unary_model(op, (1, 8), None, None))
    samples = np.random.default_rng(0).uniform(0.1, 3, (4, 1, 8)).astype(np.float32)
    q = quantize_graph(graph, {graph.inputs[0]: samples}, io="int8")
    assert [n.op for n in q.nodes] == ["DEQUANTIZE", op, "QUANTIZE"]
    assert_tflm_agrees(q, samples)


@needs_gcc
@pytest.mark.parametrize("op", ["EXP", "LOG", "ERF"])
def test_c_kernel_matches_reference(op, tmp_path):
    graph = single_node_graph(op, [Tensor("x", (3, 17), "float32")],
                              [Tensor("y", (3, 17), "float32")])
    check_against_reference(graph, tmp_path, np.random.default_rng(4), sanitize=True)
