"""DIV end to end. float32: against LiteRT under broadcasting and with a fused activation,
division by zero giving the IEEE results in reference and C alike, the export round trip,
the ONNX import of a division by an activation against onnxruntime. int8: against TFLM on
every pair of codes, broadcasting, PTQ making int8 DIV, the C kernel on every pair."""

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from edgec.errors import EdgecError
from edgec.export import to_tflite_bytes
from edgec.frontends.onnx import load_onnx
from edgec.frontends.tflite import load_tflite
from edgec.ir import Tensor, interpret
from tests.lower.harness import check_against_reference, needs_gcc, single_node_graph
from tests.ops import assert_float_matches_litert, float_data
from tests.refs import assert_matches_tflm, run_edgec_tflite
from tests.tflite_builder import TFLiteBuilder


def _model(a_shape, b_shape, activation="NONE"):
    b = TFLiteBuilder()
    x, y = b.tensor("a", a_shape, "float32"), b.tensor("b", b_shape, "float32")
    out = b.tensor("out", tuple(np.broadcast_shapes(a_shape, b_shape)), "float32")
    b.op("DIV", [x, y], [out], fused_activation_function=activation)
    return b.build(inputs=[x, y], outputs=[out])


@pytest.mark.parametrize("shapes,activation", [(((2, 3, 8), (2, 3, 8)), "NONE"),
                                               (((1, 4, 4, 3), (3,)), "RELU6"),
                                               (((2, 5, 6), (1, 5, 1)), "RELU")])
def test_float_matches_litert(shapes, activation):
    rng = np.random.default_rng(len(shapes[1]))
    a, b = shapes
    assert_float_matches_litert(_model(a, b, activation), [float_data(rng, a),
                                                           float_data(rng, b)])


def test_division_by_zero_gives_ieee_results():
    graph = load_tflite(_model((4,), (4,)))
    got = interpret(graph, [np.array([1, -1, 0, 2], np.float32), np.zeros(4, np.float32)])
    np.testing.assert_array_equal(got[graph.outputs[0]], [np.inf, -np.inf, np.nan, np.inf])


def test_export_round_trips():
    graph = load_tflite(_model((2, 8), (1, 8), "RELU"))
    again = load_tflite(to_tflite_bytes(graph))
    rng = np.random.default_rng(1)
    xs = [float_data(rng, (2, 8)), float_data(rng, (1, 8))]
    assert [(n.op, n.attrs["activation"]) for n in again.nodes] == [("DIV", "RELU")]
    np.testing.assert_array_equal(interpret(again, xs)[again.outputs[0]],
                                  interpret(graph, xs)[graph.outputs[0]])


def _onnx_div(const_dividend=None) -> bytes:
    inputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 1])]
    inits = []
    if const_dividend is None:
        inputs.insert(0, helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4]))
    else:
        inits.append(helper.make_tensor("x", TensorProto.FLOAT, [4], const_dividend))
    graph = helper.make_graph([helper.make_node("Div", ["x", "y"], ["z"])], "div", inputs,
                              [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)],
                              initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]
                             ).SerializeToString()


@pytest.mark.parametrize("const_dividend", [None, [1.0, -2.0, 0.5, 3.0]])
def test_onnx_division_by_an_activation_matches_onnxruntime(const_dividend):
    data = _onnx_div(const_dividend)
    graph = load_onnx(data)
    assert [n.op for n in graph.nodes] == ["DIV"]
    rng = np.random.default_rng(2)
    feed = {"y": float_data(rng, (3, 1)) + 3.0}
    if const_dividend is None:
        feed["x"] = float_data(rng, (2, 3, 4))
    got = interpret(graph, feed)[graph.outputs[0]]
    np.testing.assert_allclose(got, ort.InferenceSession(data).run(None, feed)[0], rtol=1e-6)


def test_post_training_quantization_makes_int8_div():
    from edgec.quantize import quantize_graph

    graph = load_tflite(_model((1, 8), (1, 8)))
    rng = np.random.default_rng(1)
    samples = {n: rng.normal(size=(4, 1, 8)).astype(np.float32) + 3 for n in graph.inputs}
    q = quantize_graph(graph, samples, io="int8")
    assert [n.op for n in q.nodes] == ["DIV"]
    assert {t.dtype for t in q.tensors.values()} == {"int8"}
    exported = to_tflite_bytes(q)
    codes = [rng.integers(-128, 128, (1, 8)).astype(np.int8) for _ in range(2)]
    assert_matches_tflm(exported, codes)


def _int8_model(shapes, quants, activation="NONE"):
    b = TFLiteBuilder()
    ins = [b.tensor(n, s, "int8", scale=q[0], zero_point=q[1])
           for n, s, q in zip("ab", shapes, quants)]
    out = b.tensor("out", tuple(np.broadcast_shapes(*shapes)), "int8", scale=quants[2][0],
                   zero_point=quants[2][1])
    b.op("DIV", ins, [out], fused_activation_function=activation)
    return b.build(inputs=ins, outputs=[out])


def _random_quants(rng):
    return [(float(np.float32(10 ** rng.uniform(-3, 1))), int(rng.integers(-128, 128)))
            for _ in range(3)]


CODES = (np.arange(256) - 128).astype(np.int8)


@pytest.mark.parametrize("seed", range(6))
def test_int8_matches_tflm_on_every_pair_of_codes(seed):
    """All 65,536 (a, b) pairs, zero divisors included, at random scales: output shifts
    whose final rounding shift passes 31 (TFLM's x86 semantics) and below."""
    rng = np.random.default_rng(seed)
    a, b = np.meshgrid(CODES, CODES, indexing="ij")
    activation = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1", "NONE", "NONE"][seed]
    assert_matches_tflm(_int8_model([(256, 256), (256, 256)], _random_quants(rng),
                                    activation), [a, b])


def test_int8_broadcast_matches_tflm():
    rng = np.random.default_rng(9)
    model = _int8_model([(2, 3, 8), (3, 1)], _random_quants(rng))
    assert_matches_tflm(model, [rng.integers(-128, 128, (2, 3, 8)).astype(np.int8),
                                rng.integers(-128, 128, (3, 1)).astype(np.int8)])
    again = to_tflite_bytes(load_tflite(model))
    assert [n.op for n in load_tflite(again).nodes] == ["DIV"]


def test_int8_refuses_a_ratio_beyond_tflms_shifts():
    model = _int8_model([(4,), (4,)], [(100.0, 0), (0.001, 0), (0.001, 0)])
    with pytest.raises(EdgecError, match="outside what TFLite Micro's int8 DIV computes"):
        run_edgec_tflite(model, [np.ones(4, np.int8), np.ones(4, np.int8)])


@needs_gcc
def test_int8_c_kernel_matches_reference_on_every_pair(tmp_path):
    from edgec.ir import QuantParams, Tensor, interpret
    from edgec.lower import lower_graph
    from edgec.options import BuildOptions
    from tests.lower.harness import run_kernel, single_node_graph

    rng = np.random.default_rng(3)
    a, b = np.meshgrid(CODES, CODES, indexing="ij")
    for seed, activation in enumerate(["NONE", "RELU6", "NONE"]):
        q1, q2, qo = (QuantParams(np.float32(s), z) for s, z in _random_quants(rng))
        graph = single_node_graph("DIV", [Tensor("a", (256, 256), "int8", quant=q1),
                                          Tensor("b", (256, 256), "int8", quant=q2)],
                                  [Tensor("y", (256, 256), "int8", quant=qo)],
                                  {"activation": activation})
        (kernel,) = lower_graph(graph, BuildOptions(cache_dir=tmp_path))
        inputs = {"a": a, "b": b}
        got = run_kernel(kernel, graph, inputs, sanitize=True)["y"]
        np.testing.assert_array_equal(got, interpret(graph, inputs)["y"])


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("kernel-cache")


@needs_gcc
def test_c_kernel_matches_reference(cache_dir):
    rng = np.random.default_rng(5)
    graph = single_node_graph("DIV", [Tensor("a", (2, 3, 7), "float32"),
                                      Tensor("b", (1, 3, 1), "float32")],
                              [Tensor("y", (2, 3, 7), "float32")])
    check_against_reference(graph, cache_dir, rng, sanitize=True)
