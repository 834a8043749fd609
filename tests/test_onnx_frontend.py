"""The ONNX frontend, one small model per op family, each checked against onnxruntime.

Models are NCHW float graphs built with ``onnx.helper``; ``interpret(graph, x)`` must equal
onnxruntime's output for the same NCHW array (relative 1e-5; absolute 1e-4 where long sums
round differently).
"""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgec.errors import EdgecError
from edgec.frontends.onnx import load_onnx
from edgec.frontends.onnx_converters import supported_ops
from edgec.ir import interpret

RNG = np.random.default_rng(7)


def _const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def _weights(*shape):
    return RNG.standard_normal(shape).astype(np.float32) * 0.5


def _model(nodes, inputs, outputs, consts=(), opset=17, dtype=TensorProto.FLOAT) -> bytes:
    """A model from nodes; ``inputs`` maps names to shapes, ``outputs`` lists names."""
    graph = helper.make_graph(
        nodes, "test",
        [helper.make_tensor_value_info(n, dtype, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs],
        initializer=list(consts))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model.SerializeToString()


def _check(data: bytes, *shapes, atol=1e-4):
    """Import, run on random inputs, compare every output with onnxruntime; return the graph."""
    import onnxruntime as ort

    graph = load_onnx(data)
    xs = [RNG.standard_normal(s).astype(np.float32) for s in shapes]
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    expected = session.run(None, {i.name: x for i, x in zip(session.get_inputs(), xs)})
    actual = interpret(graph, xs)
    for name, e in zip(graph.outputs, expected):
        np.testing.assert_allclose(actual[name], e, rtol=1e-5, atol=atol, err_msg=name)
    return graph


def _ops(graph):
    return [n.op for n in graph.nodes]


def test_conv_relu_fuses_and_transposes_only_at_the_ends():
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["y"])]
    graph = _check(_model(nodes, {"x": [1, 3, 8, 8]}, ["y"],
                          [_const("w", _weights(4, 3, 3, 3)), _const("b", _weights(4))]),
                   (1, 3, 8, 8))
    assert _ops(graph) == ["TRANSPOSE", "CONV_2D", "TRANSPOSE"]
    assert graph.nodes[1].attrs["activation"] == "RELU"
    assert graph.outputs == ["y"] and graph.tensors["y"].shape == (1, 4, 8, 8)


def test_depthwise_conv_with_multiplier_and_relu6():
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], group=3, strides=[2, 1],
                              auto_pad="SAME_UPPER"),
             helper.make_node("Clip", ["c", "lo", "hi"], ["y"])]
    graph = _check(_model(nodes, {"x": [1, 3, 7, 6]}, ["y"],
                          [_const("w", _weights(6, 1, 3, 3)), _const("lo", np.float32(0)),
                           _const("hi", np.float32(6))]), (1, 3, 7, 6))
    dw = graph.nodes[1]
    assert dw.op == "DEPTHWISE_CONV_2D" and dw.attrs["depth_multiplier"] == 2
    assert dw.attrs["activation"] == "RELU6"
    assert graph.tensors[dw.inputs[1]].shape == (1, 3, 3, 6)


def test_dilated_conv_then_standalone_relu():
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], dilations=[2, 2], pads=[2, 1, 2, 1]),
             helper.make_node("Relu", ["c"], ["y"])]
    graph = _check(_model(nodes, {"x": [1, 2, 9, 9]}, ["y", "c"],
                          [_const("w", _weights(3, 2, 3, 3))]), (1, 2, 9, 9))
    assert "RELU" in _ops(graph), "a Relu whose input is also an output cannot fuse"


def test_grouped_conv_matches_onnxruntime_and_uneven_groups_are_refused():
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["y"], group=2, pads=[1, 0, 1, 1])]
    graph = _check(_model(nodes, {"x": [1, 4, 5, 5]}, ["y"],
                          [_const("w", _weights(6, 2, 3, 2)), _const("b", _weights(6))]),
                   (1, 4, 5, 5))
    assert "CONV_2D" in _ops(graph)
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], group=2)]
    with pytest.raises(EdgecError, match="group=2 with 4 input and 3 output channels"):
        load_onnx(_model(nodes, {"x": [1, 4, 5, 5]}, ["y"], [_const("w", _weights(3, 2, 1, 1))]))


def test_batchnorm_folds_into_conv_and_else_becomes_mul_add():
    bn = [_const(f"{p}{i}", v) for i in (1, 2) for p, v in
          (("g", _weights(3) + 1), ("be", _weights(3)), ("m", _weights(3)),
           ("v", np.abs(_weights(3)) + 0.5))]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"]),
             helper.make_node("BatchNormalization", ["c", "g1", "be1", "m1", "v1"], ["n"]),
             helper.make_node("Add", ["n", "x"], ["s"]),
             helper.make_node("BatchNormalization", ["s", "g2", "be2", "m2", "v2"], ["y"],
                              epsilon=1e-3)]
    graph = _check(_model(nodes, {"x": [1, 3, 4, 4]}, ["y"],
                          [_const("w", _weights(3, 3, 1, 1))] + bn), (1, 3, 4, 4))
    assert _ops(graph) == ["TRANSPOSE", "CONV_2D", "ADD", "MUL", "ADD", "TRANSPOSE"]


def test_gemm_and_matmul_become_fully_connected():
    nodes = [helper.make_node("Gemm", ["x", "w1", "b1"], ["g"], transB=1, alpha=0.5, beta=2.0),
             helper.make_node("MatMul", ["g", "w2"], ["m"]),
             helper.make_node("Add", ["m", "b2"], ["a"]),
             helper.make_node("Relu", ["a"], ["y"])]
    graph = _check(_model(nodes, {"x": [1, 10]}, ["y"],
                          [_const("w1", _weights(6, 10)), _const("b1", _weights(6)),
                           _const("w2", _weights(6, 5)), _const("b2", _weights(5))]), (1, 10))
    assert _ops(graph) == ["FULLY_CONNECTED", "FULLY_CONNECTED"]
    assert len(graph.nodes[1].inputs) == 3 and graph.nodes[1].attrs["activation"] == "RELU"


def test_matmul_on_a_3d_input_keeps_its_dims():
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"])]
    graph = _check(_model(nodes, {"x": [1, 4, 6]}, ["y"], [_const("w", _weights(6, 3))]),
                   (1, 4, 6))
    assert graph.nodes[0].attrs["keep_num_dims"] is True


@pytest.mark.parametrize("node, op", [
    (helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2],
                      pads=[1, 1, 1, 1]), "MAX_POOL_2D"),
    (helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 2], pads=[1, 0, 1, 1]),
     "AVERAGE_POOL_2D"),
    (helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                      count_include_pad=1), "PAD"),
    (helper.make_node("GlobalAveragePool", ["x"], ["y"]), "MEAN"),
    (helper.make_node("GlobalMaxPool", ["x"], ["y"]), "MAX_POOL_2D"),
])
def test_pools(node, op):
    graph = _check(_model([node], {"x": [1, 3, 7, 7]}, ["y"]), (1, 3, 7, 7))
    assert op in _ops(graph)


def test_elementwise_with_broadcast_constants_stay_nhwc():
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"]),
             helper.make_node("Mul", ["c", "k"], ["m"]),
             helper.make_node("Sub", ["s", "m"], ["d"]),
             helper.make_node("Add", ["d", "c"], ["e"]),
             helper.make_node("Sigmoid", ["e"], ["f"]),
             helper.make_node("Tanh", ["f"], ["g"]),
             helper.make_node("Identity", ["g"], ["h"]),
             helper.make_node("Dropout", ["h"], ["y"])]
    graph = _check(_model(nodes, {"x": [1, 2, 5, 5]}, ["y"],
                          [_const("w", _weights(4, 2, 1, 1)), _const("k", _weights(4, 1, 1)),
                           _const("s", _weights(1))]), (1, 2, 5, 5))
    assert _ops(graph) == ["TRANSPOSE", "CONV_2D", "MUL", "SUB", "ADD", "LOGISTIC", "TANH",
                           "TRANSPOSE"]


def test_concat_and_softmax_on_channels_need_no_transpose():
    nodes = [helper.make_node("Conv", ["x", "w1"], ["a"]),
             helper.make_node("Conv", ["x", "w2"], ["b"]),
             helper.make_node("Concat", ["a", "b"], ["c"], axis=1),
             helper.make_node("Softmax", ["c"], ["y"], axis=1)]
    graph = _check(_model(nodes, {"x": [1, 3, 4, 4]}, ["y"],
                          [_const("w1", _weights(2, 3, 1, 1)), _const("w2", _weights(3, 3, 1, 1))]),
                   (1, 3, 4, 4))
    assert graph.nodes[3].op == "CONCATENATION" and graph.nodes[3].attrs["axis"] == 3
    assert _ops(graph).count("TRANSPOSE") == 2


def test_softmax_on_a_spatial_axis_and_old_opset_semantics():
    nodes = [helper.make_node("Softmax", ["x"], ["y"], axis=2)]
    _check(_model(nodes, {"x": [1, 3, 4, 5]}, ["y"]), (1, 3, 4, 5))
    nodes = [helper.make_node("Softmax", ["x"], ["y"])]  # opset 11: axis 1, flattened
    _check(_model(nodes, {"x": [2, 6]}, ["y"], opset=11), (2, 6))


def test_reshape_flatten_after_conv_uses_onnx_order():
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"]),
             helper.make_node("Flatten", ["c"], ["f"]),
             helper.make_node("Unsqueeze", ["f", "ax"], ["u"]),
             helper.make_node("Squeeze", ["u", "ax"], ["y"])]
    graph = _check(_model(nodes, {"x": [1, 2, 3, 3]}, ["y"],
                          [_const("w", _weights(4, 2, 1, 1)), _const("ax", np.array([0]))]),
                   (1, 2, 3, 3))
    assert graph.tensors["y"].shape == (1, 36)
    assert "TRANSPOSE" in _ops(graph), "flattening NCHW order needs the data in NCHW"


def test_transpose_pad_reduce_mean():
    nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 3, 1]),
             helper.make_node("Pad", ["t", "p", "v"], ["p_out"]),
             helper.make_node("ReduceMean", ["p_out"], ["y"], axes=[1, 2], keepdims=0)]
    graph = _check(_model(nodes, {"x": [1, 3, 4, 5]}, ["y"],
                          [_const("p", np.array([0, 1, 0, 0, 0, 2, 1, 0])),
                           _const("v", np.float32(0.5))], opset=17), (1, 3, 4, 5))
    assert "MEAN" in _ops(graph)


def test_tf2onnx_transpose_pairs_around_convs_cancel():
    nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=[0, 3, 1, 2]),
             helper.make_node("Conv", ["t", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("Transpose", ["r"], ["y"], perm=[0, 2, 3, 1])]
    graph = _check(_model(nodes, {"x": [1, 6, 6, 2]}, ["y"], [_const("w", _weights(3, 2, 3, 3))]),
                   (1, 6, 6, 2))
    assert _ops(graph) == ["CONV_2D"]
    assert graph.inputs == ["x"] and graph.outputs == ["y"]


def test_shape_subgraph_folds_into_a_constant_reshape():
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
             helper.make_node("Unsqueeze", ["n", "zero1"], ["n1"]),
             helper.make_node("Concat", ["n1", "minus1"], ["shape"], axis=0),
             helper.make_node("Reshape", ["x", "shape"], ["y"])]
    graph = _check(_model(nodes, {"x": ["batch", 2, 3, 4]}, ["y"],
                          [_const("zero", np.array(0)), _const("zero1", np.array([0])),
                           _const("minus1", np.array([-1]))]), (1, 2, 3, 4))
    assert _ops(graph) == ["RESHAPE"] and graph.tensors["y"].shape == (1, 24)


def _qdq_conv_model(activation_type=TensorProto.INT8) -> bytes:
    """x(float) -Q-> DQ -> Conv(int8 per-channel weights, int32 bias) -> Relu -Q-> DQ -> y."""
    zp_type = np.int8 if activation_type == TensorProto.INT8 else np.uint8
    w = RNG.integers(-127, 128, (4, 2, 3, 3)).astype(np.int8)
    w_scale = (RNG.random(4) * 0.02 + 0.01).astype(np.float32)
    b = RNG.integers(-500, 500, 4).astype(np.int32)
    consts = [_const("xs", np.float32(0.05)), _const("xz", zp_type(3)),
              _const("w", w), _const("ws", w_scale), _const("wz", np.zeros(4, np.int8)),
              _const("b", b), _const("bs", np.float32(0.05) * w_scale),
              _const("bz", np.zeros(4, np.int32)),
              _const("ys", np.float32(0.1)), _const("yz", zp_type(-128 if zp_type == np.int8
                                                                   else 0))]
    nodes = [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
             helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
             helper.make_node("DequantizeLinear", ["w", "ws", "wz"], ["wd"], axis=0),
             helper.make_node("DequantizeLinear", ["b", "bs", "bz"], ["bd"], axis=0),
             helper.make_node("Conv", ["xd", "wd", "bd"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("QuantizeLinear", ["r", "ys", "yz"], ["yq"]),
             helper.make_node("DequantizeLinear", ["yq", "ys", "yz"], ["y"])]
    return _model(nodes, {"x": [1, 2, 5, 5]}, ["y"], consts)


def test_qdq_conv_becomes_an_int8_conv_with_fused_relu():
    import onnxruntime as ort

    data = _qdq_conv_model()
    graph = load_onnx(data)
    assert _ops(graph) == ["QUANTIZE", "TRANSPOSE", "CONV_2D", "TRANSPOSE", "DEQUANTIZE"]
    conv = graph.nodes[2]
    assert conv.attrs["activation"] == "RELU"
    assert graph.tensors[conv.inputs[0]].dtype == "int8"
    assert graph.tensors[conv.inputs[1]].quant.axis == 0
    assert graph.tensors[conv.inputs[2]].dtype == "int32"
    assert graph.tensors[conv.outputs[0]].quant.zp == -128
    # onnxruntime's QLinearConv rounds once in float, TFLM twice in integers: one step apart
    # at most (0.1, the output scale).
    x = RNG.standard_normal((1, 2, 5, 5)).astype(np.float32)
    expected = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(
        None, {"x": x})[0]
    np.testing.assert_allclose(interpret(graph, x)["y"], expected, atol=0.1 + 1e-6)


def test_uint8_qdq_runs_as_int8_with_shifted_zero_points():
    """uint8 activations are int8 codes 128 higher: the same graph, zero points less 128,
    within one output step of onnxruntime (as the int8 model)."""
    import onnxruntime as ort

    data = _qdq_conv_model(TensorProto.UINT8)
    graph = load_onnx(data)
    conv = next(n for n in graph.nodes if n.op == "CONV_2D")
    assert graph.tensors[conv.inputs[0]].quant.zp == 3 - 128
    assert graph.tensors[conv.outputs[0]].quant.zp == -128
    x = RNG.standard_normal((1, 2, 5, 5)).astype(np.float32)
    expected = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(
        None, {"x": x})[0]
    np.testing.assert_allclose(interpret(graph, x)["y"], expected, atol=0.1 + 1e-6)


def test_unsupported_op_names_op_node_and_supported_list():
    nodes = [helper.make_node("Einsum", ["x", "x"], ["y"], name="mix", equation="ij,ij->ij")]
    with pytest.raises(EdgecError) as err:
        load_onnx(_model(nodes, {"x": [2, 2]}, ["y"]))
    assert "unsupported ONNX op Einsum (node 'mix')" in err.value.message
    assert "Conv" in err.value.hint and "QuantizeLinear" in err.value.hint


def test_dynamic_non_batch_dimension_is_refused():
    nodes = [helper.make_node("Relu", ["x"], ["y"])]
    with pytest.raises(EdgecError) as err:
        load_onnx(_model(nodes, {"x": [1, "seq"]}, ["y"]))
    assert err.value.message == "input 'x' has a dynamic dimension 'seq' at axis 1"
    assert "fixed input shape" in err.value.hint


def test_corrupt_protobuf_is_refused():
    data = _model([helper.make_node("Relu", ["x"], ["y"])], {"x": [1, 4]}, ["y"])
    with pytest.raises(EdgecError, match="not a valid ONNX model"):
        load_onnx(data[: len(data) // 2] + b"\xff\xff\xff")


def test_registry_covers_the_documented_ops():
    documented = {"Conv", "Gemm", "MatMul", "BatchNormalization", "Relu", "Clip", "MaxPool",
                  "AveragePool", "GlobalAveragePool", "Add", "Mul", "Sub", "Concat", "Reshape",
                  "Flatten", "Transpose", "Softmax", "Sigmoid", "Tanh", "Pad", "Squeeze",
                  "Unsqueeze", "Identity", "Dropout", "Shape", "ReduceMean", "QuantizeLinear",
                  "DequantizeLinear"}
    assert documented <= set(supported_ops())


@pytest.mark.parametrize("out_scale, ops", [(1 / 256, ["SOFTMAX"]),
                                            (1 / 255, ["SOFTMAX", "QUANTIZE"])])
def test_qdq_softmax_requantizes_to_the_graph_scale(out_scale, ops):
    """TFLM's int8 softmax only writes scale 1/256; onnxruntime's quantizer picks 1/255, which
    costs one requantizing QUANTIZE (and at most one step of difference from onnxruntime)."""
    import onnxruntime as ort

    consts = [_const("xs", np.float32(0.1)), _const("xz", np.int8(5)),
              _const("ys", np.float32(out_scale)), _const("yz", np.int8(-128))]
    nodes = [helper.make_node("DequantizeLinear", ["x", "xs", "xz"], ["xd"]),
             helper.make_node("Softmax", ["xd"], ["p"]),
             helper.make_node("QuantizeLinear", ["p", "ys", "yz"], ["y"])]
    graph_proto = onnx.load_from_string(_model(nodes, {"x": [2, 10]}, [], consts,
                                               dtype=TensorProto.INT8))
    graph_proto.graph.output.append(helper.make_tensor_value_info("y", TensorProto.INT8, None))
    data = graph_proto.SerializeToString()
    graph = load_onnx(data)
    assert _ops(graph) == ops
    assert graph.tensors["x"].dtype == "int8" and graph.tensors["x"].quant.zp == 5
    x = RNG.integers(-128, 128, (2, 10), dtype=np.int8)
    expected = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(
        None, {"x": x})[0]
    actual = interpret(graph, x)["y"]
    assert actual.dtype == np.int8
    assert np.max(np.abs(actual.astype(int) - expected.astype(int))) <= 1


@pytest.mark.parametrize("node", [
    helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2],
                     ceil_mode=1, dilations=[2, 1], pads=[1, 0, 0, 1]),
    helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 2], strides=[2, 2],
                     ceil_mode=1, pads=[1, 1, 0, 0], count_include_pad=1),
    helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[2, 3], strides=[3, 2],
                     ceil_mode=1, dilations=[2, 2])], ids=["max", "avg-include-pad", "avg"])
def test_pools_with_ceil_mode_and_dilations_match_onnxruntime(node):
    graph = _check(_model([node], {"x": [1, 2, 8, 7]}, ["y"], opset=19), (1, 2, 8, 7))
    assert {"MAX_POOL_2D", "AVERAGE_POOL_2D"} & set(_ops(graph))


@pytest.mark.parametrize("bounds", [(-0.5, 2.5), (0.25, None), (None, -0.1)])
def test_qdq_clip_with_any_range_stays_int8_and_exact(bounds):
    """DQ -> Clip(lo, hi) -> Q with the input's parameters: int8 MAXIMUM/MINIMUM by the bounds'
    codes, equal to onnxruntime's codes."""
    import onnxruntime as ort

    lo, hi = bounds
    consts = [_const("s", np.float32(0.02)), _const("z", np.int8(-5))]
    names = ["xd", "lo" if lo is not None else "", "hi" if hi is not None else ""]
    consts += [_const(n, np.float32(b)) for n, b in (("lo", lo), ("hi", hi)) if b is not None]
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["xq"]),
             helper.make_node("DequantizeLinear", ["xq", "s", "z"], ["xd"]),
             helper.make_node("Clip", names, ["c"]),
             helper.make_node("QuantizeLinear", ["c", "s", "z"], ["y"])]
    graph = helper.make_graph(nodes, "clip", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, [2, 64])], [helper.make_tensor_value_info(
            "y", TensorProto.INT8, [2, 64])], initializer=consts)
    data = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    data.ir_version = 8
    data = data.SerializeToString()
    ir = load_onnx(data)
    assert [n.op for n in ir.nodes if n.op in ("MAXIMUM", "MINIMUM")] and \
        all(ir.tensors[t].dtype == "int8" for n in ir.nodes for t in n.outputs)
    x = np.linspace(-3, 3, 128, dtype=np.float32).reshape(2, 64)
    expected = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(
        None, {"x": x})[0]
    np.testing.assert_array_equal(interpret(ir, x)[ir.outputs[0]], expected)
