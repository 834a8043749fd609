"""SUM and REDUCE_MAX: random axes, keep_dims and quantizations against TFLite Micro (int8,
bit-exact) and LiteRT (float); ONNX ReduceSum / ReduceMax against onnxruntime."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgec.errors import EdgecError
from edgec.frontends.onnx import load_onnx
from edgec.ir import interpret
from edgec.ir.ops.reduce import sum_multiplier
from tests.ops import act_quant, assert_float_matches_litert, float_data, int8_data
from tests.refs import assert_matches_tflm, run_edgec_tflite
from tests.tflite_builder import TFLiteBuilder


def _out_shape(shape, axes, keep_dims: bool):
    rank = len(shape)
    reduced = {a % rank for a in axes}
    if keep_dims:
        return tuple(1 if i in reduced else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in reduced)


def _model(op, shape, axes, keep_dims: bool, dtype: str, in_q=None, out_q=None):
    b = TFLiteBuilder()
    q_in = dict(zip(("scale", "zero_point"), in_q)) if in_q else {}
    q_out = dict(zip(("scale", "zero_point"), out_q)) if out_q else {}
    x = b.tensor("x", shape, dtype, **q_in)
    y = b.tensor("y", _out_shape(shape, axes, keep_dims), dtype, **q_out)
    b.op(op, [x, b.const("axes", list(axes))], [y], keep_dims=keep_dims)
    return b.build(inputs=[x], outputs=[y])


def _random_case(rng):
    shape = tuple(int(d) for d in rng.integers(1, 8, int(rng.integers(1, 5))))
    rank = len(shape)
    axes = [int(a) for a in rng.choice(rank, int(rng.integers(1, rank + 1)), replace=False)]
    return shape, [a - rank if rng.integers(0, 2) else a for a in axes], bool(rng.integers(0, 2))


def _sum_quant(rng, seed: int):
    """Input and output quantization, covering every fixed-point branch: a sum scale above the
    input's (right shift, the usual case), equal scales (shift 1, multiplier 2**30), and a
    smaller output scale (left shift of the int32 sum, saturating)."""
    in_q = act_quant(rng)
    kind = seed % 4
    if kind == 0:
        return in_q, in_q
    if kind == 1:
        return in_q, (float(np.float32(in_q[0] * 10.0 ** rng.uniform(0.3, 1.5))),
                      int(rng.integers(-128, 128)))
    if kind == 2:
        return in_q, (float(np.float32(in_q[0] * 10.0 ** rng.uniform(-1.5, 0.0))),
                      int(rng.integers(-128, 128)))
    return in_q, act_quant(rng)


@pytest.mark.parametrize("seed", range(24))
def test_sum_int8_matches_tflm(seed):
    rng = np.random.default_rng(seed)
    shape, axes, keep = _random_case(rng)
    in_q, out_q = _sum_quant(rng, seed)
    model = _model("SUM", shape, axes, keep, "int8", in_q, out_q)
    assert_matches_tflm(model, [int8_data(rng, shape)])


def test_sum_int8_long_reduction_and_both_shift_signs():
    rng = np.random.default_rng(40)
    x = int8_data(rng, (1, 32, 32, 4))
    for out_q in [(0.05 * 1024 / 40, 3), (0.05 * 3, -7), (0.05 / 3, 0)]:
        assert_matches_tflm(_model("SUM", (1, 32, 32, 4), [1, 2], True, "int8", (0.05, -20),
                                   out_q), [x])


def test_sum_int8_saturates_at_both_ends():
    rng = np.random.default_rng(41)
    x = int8_data(rng, (2, 9, 5))
    out = assert_matches_tflm(_model("SUM", (2, 9, 5), [1], False, "int8", (0.1, 0),
                                     (0.02, 0)), [x])[0]
    assert (out == 127).any() and (out == -128).any()


def test_sum_multiplier_is_not_divided_by_the_count():
    assert sum_multiplier(0.5, 0.5) == (1 << 30, 1)
    assert sum_multiplier(0.5, 2.0) == (1 << 30, -1)


@pytest.mark.parametrize("seed", range(6))
def test_sum_float_matches_litert(seed):
    rng = np.random.default_rng(100 + seed)
    shape, axes, keep = _random_case(rng)
    assert_float_matches_litert(_model("SUM", shape, axes, keep, "float32"),
                                [float_data(rng, shape)])


@pytest.mark.parametrize("seed", range(12))
def test_reduce_max_int8_matches_tflm(seed):
    rng = np.random.default_rng(200 + seed)
    shape, axes, keep = _random_case(rng)
    q = act_quant(rng)
    assert_matches_tflm(_model("REDUCE_MAX", shape, axes, keep, "int8", q, q),
                        [int8_data(rng, shape)])


def test_reduce_max_int8_refuses_two_quantizations():
    model = _model("REDUCE_MAX", (2, 3), [1], False, "int8", (0.1, 0), (0.2, 0))
    with pytest.raises(EdgecError, match="share one quantization"):
        run_edgec_tflite(model, [np.zeros((2, 3), np.int8)])


@pytest.mark.parametrize("seed", range(6))
def test_reduce_max_float_matches_litert(seed):
    rng = np.random.default_rng(300 + seed)
    shape, axes, keep = _random_case(rng)
    assert_float_matches_litert(_model("REDUCE_MAX", shape, axes, keep, "float32"),
                                [float_data(rng, shape)])


def _onnx(op_type, shape, opset, axes=None, as_input=False, **kw) -> bytes:
    inputs, inits = ["x"], []
    if axes is not None and as_input:
        inputs.append("axes")
        inits.append(numpy_helper.from_array(np.array(axes, np.int64), "axes"))
    elif axes is not None:
        kw["axes"] = axes
    graph = helper.make_graph([helper.make_node(op_type, inputs, ["y"], **kw)], "t",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model.SerializeToString()


ONNX_CASES = [  # op, opset, axes, axes as an input, attributes
    ("ReduceSum", 13, [1], True, {"keepdims": 0}),
    ("ReduceSum", 13, [-1, 0], True, {}),
    ("ReduceSum", 11, [2, 1], False, {"keepdims": 1}),
    ("ReduceSum", 13, None, False, {"keepdims": 0}),
    ("ReduceSum", 13, [], True, {"noop_with_empty_axes": 1}),
    ("ReduceMax", 18, [1, 2], True, {"keepdims": 0}),
    ("ReduceMax", 13, [-2], False, {}),
    ("ReduceMax", 18, None, False, {"keepdims": 1}),
]


@pytest.mark.parametrize("case", range(len(ONNX_CASES)))
def test_onnx_matches_onnxruntime(case):
    import onnxruntime as ort

    op_type, opset, axes, as_input, kw = ONNX_CASES[case]
    shape = (2, 3, 4, 5)
    data = _onnx(op_type, shape, opset, axes, as_input, **kw)
    x = np.random.default_rng(case).standard_normal(shape).astype(np.float32)
    expected = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(
        None, {"x": x})[0]
    graph = load_onnx(data)
    actual = interpret(graph, [x])[graph.outputs[0]]
    np.testing.assert_allclose(actual.reshape(expected.shape), expected, rtol=1e-5, atol=1e-5)
    assert actual.shape == expected.shape


def test_ptq_calibrates_sum_and_keeps_the_input_quantization_for_max():
    """Float CONV -> SUM (calibrated: its range is the sums') and REDUCE_MAX (the input's
    quantization), quantized by edgec, exported, bit-exact in TFLite Micro."""
    from edgec.export import to_tflite_bytes
    from edgec.frontends.tflite_schema import read_model
    from edgec.quantize import quantize_graph
    from edgec.quantize.params import quantize_array
    from tests.quantize.float_graphs import FloatGraphBuilder, calibration_inputs
    from tests.refs import describe_mismatch, run_tflm

    b = FloatGraphBuilder("reductions")
    x = b.input("x", (1, 6, 6, 3))
    c = b.node("CONV_2D", [x, b.const("w", (8, 3, 3, 3)), b.const("b", (8,))], "c")
    s = b.node("SUM", [c], "s", axes=(1, 2), keep_dims=True)
    m = b.node("REDUCE_MAX", [c], "m", axes=(-1,), keep_dims=False)
    t = b.node("SUM", [m], "t", axes=(1,), keep_dims=False)
    float_graph = b.finish(s, t)
    graph = quantize_graph(float_graph, calibration_inputs(float_graph, 24, seed=0), io="int8")
    q = graph.tensors
    assert q["m"].quant == q["c"].quant
    assert q["s"].quant.s > 2 * q["c"].quant.s, "sums of 16 values need a wider range"
    exported = to_tflite_bytes(graph)
    ops = {op.builtin for op in read_model(exported).ops}
    assert {"SUM", "REDUCE_MAX"} <= ops
    for sample in calibration_inputs(float_graph, 6, seed=1)["x"]:
        xq = quantize_array(sample, q["x"].quant)
        expected = interpret(graph, xq)
        for name, actual in zip(graph.outputs, run_tflm(exported, [xq])):
            assert describe_mismatch(expected[name], actual, name) is None
    # And close to the float graph.
    sample = calibration_inputs(float_graph, 1, seed=2)["x"][0]
    want = interpret(float_graph, sample)["s"]
    got = interpret(graph, quantize_array(sample, q["x"].quant))["s"]
    assert np.abs((got.astype(np.float32) - q["s"].quant.zp) * q["s"].quant.s - want).max() \
        < 3 * float(q["s"].quant.s) + 0.05 * np.abs(want).max()


@pytest.mark.parametrize("op_type, ir_op", [("ReduceSum", "SUM"), ("ReduceMax", "REDUCE_MAX")])
def test_onnx_qdq_becomes_the_int8_op(op_type, ir_op):
    """Q/DQ around ReduceSum / ReduceMax: the int8 IR op, within one output step of
    onnxruntime (which computes in float between the Q/DQ pairs)."""
    import onnxruntime as ort

    out_scale = 0.3 if op_type == "ReduceSum" else 0.05
    consts = [numpy_helper.from_array(np.float32(0.05), "xs"),
              numpy_helper.from_array(np.int8(3), "xz"),
              numpy_helper.from_array(np.float32(out_scale), "ys"),
              numpy_helper.from_array(np.int8(3 if op_type == "ReduceMax" else -5), "yz"),
              numpy_helper.from_array(np.array([1, 3], np.int64), "ax")]
    nodes = [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
             helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
             helper.make_node(op_type, ["xd", "ax"], ["r"], keepdims=0)
             if op_type == "ReduceSum" else  # opset 13: ReduceSum's axes are an input
             helper.make_node(op_type, ["xd"], ["r"], axes=[1, 3], keepdims=0),
             helper.make_node("QuantizeLinear", ["r", "ys", "yz"], ["yq"]),
             helper.make_node("DequantizeLinear", ["yq", "ys", "yz"], ["y"])]
    graph = helper.make_graph(nodes, "t",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                             (1, 4, 3, 5))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              initializer=consts)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    data = model.SerializeToString()
    g = load_onnx(data)
    node = next(n for n in g.nodes if n.op == ir_op)
    assert g.tensors[node.inputs[0]].dtype == "int8" == g.tensors[node.outputs[0]].dtype
    x = np.random.default_rng(9).standard_normal((1, 4, 3, 5)).astype(np.float32) * 1.5
    expected = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(
        None, {"x": x})[0]
    np.testing.assert_allclose(interpret(g, x)[g.outputs[0]].reshape(expected.shape), expected,
                               atol=out_scale + 1e-6)


def test_reduce_max_float_of_only_minus_infinity_is_the_lowest_float_as_litert():
    from tests.refs import run_litert

    x = np.full((2, 3), -np.inf, np.float32)
    x[1, 2] = -1.5
    model = _model("REDUCE_MAX", (2, 3), [1], False, "float32")
    want = run_litert(model, [x])[0]
    np.testing.assert_array_equal(run_edgec_tflite(model, [x])[0], want)
    assert want[0] == np.finfo(np.float32).min


@pytest.mark.parametrize("seed", range(4))
def test_reduce_any_matches_litert(seed):
    """REDUCE_ANY (bool): edgec's import of the TFLite builtin equals LiteRT's reference."""
    from tests.refs import run_litert

    rng = np.random.default_rng(400 + seed)
    shape, axes, keep = _random_case(rng)
    data = rng.random(shape) < 0.15
    model = _model("REDUCE_ANY", shape, axes, keep, "bool")
    expected = run_litert(model, [data], reference=True)
    actual = run_edgec_tflite(model, [data])
    assert [a.dtype for a in actual] == [np.dtype(bool)]
    np.testing.assert_array_equal(actual[0], expected[0])


def test_onnx_reduce_max_of_bools_is_reduce_any():
    x = helper.make_tensor_value_info("x", TensorProto.BOOL, [2, 3, 4])
    y = helper.make_tensor_value_info("y", TensorProto.BOOL, [2, 1, 4])
    node = helper.make_node("ReduceMax", ["x", "axes"], ["y"], keepdims=1)
    graph = helper.make_graph([node], "g", [x], [y], [numpy_helper.from_array(
        np.array([1], np.int64), "axes")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    g = load_onnx(model.SerializeToString(), "m")
    assert [n.op for n in g.nodes] == ["REDUCE_ANY"]
    data = np.random.default_rng(0).random((2, 3, 4)) < 0.2
    out = interpret(g, {"x": data})["y"]
    np.testing.assert_array_equal(out, data.any(axis=1, keepdims=True))
    bad = helper.make_model(helper.make_graph(
        [helper.make_node("ReduceSum", ["x", "axes"], ["y"])], "g", [x], [y],
        [numpy_helper.from_array(np.array([1], np.int64), "axes")]),
        opset_imports=[helper.make_opsetid("", 18)])
    with pytest.raises(EdgecError, match="reduces a bool tensor"):
        load_onnx(bad.SerializeToString(), "m")
