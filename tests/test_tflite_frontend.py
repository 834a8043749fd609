"""The TFLite frontend: each operator's attributes as docs/IR.md defines them, constant shape
folding, static shapes, and the errors a user sees for bad files and unsupported models."""

from pathlib import Path

import numpy as np
import pytest

from edgec.errors import EdgecError
from edgec.frontends import load_model
from edgec.frontends.tflite import load_tflite
from edgec.frontends.tflite_ops import same_padding
from tests.refs import assert_matches_tflm
from tests.tflite_builder import TFLiteBuilder

MODELS = Path(__file__).parents[1] / ".." / "shared" / "models"
RNG = np.random.default_rng(11)


def _q(b, name, shape, scale=0.1, zero_point=2):
    return b.tensor(name, shape, "int8", scale=scale, zero_point=zero_point)


def _weights(b, name, shape, axis=0):
    channels = shape[axis]
    return b.tensor(name, shape, "int8", data=RNG.integers(-127, 128, shape),
                    scale=RNG.uniform(0.01, 0.03, channels), quantized_dimension=axis)


def _only_node(model_bytes):
    graph = load_tflite(model_bytes)
    assert len(graph.nodes) == 1, [n.op for n in graph.nodes]
    return graph.nodes[0]


def _random_inputs(model_bytes):
    graph = load_tflite(model_bytes)
    return [RNG.integers(-128, 128, graph.tensors[n].shape).astype(np.int8)
            for n in graph.inputs]


def _single_op(op, in_shapes, out_shape, consts=(), **options):
    """int8 model of one op: activations ``in_shapes``, then int32 constant inputs."""
    b = TFLiteBuilder()
    xs = [_q(b, f"x{i}", s) for i, s in enumerate(in_shapes)]
    cs = [b.const(f"c{i}", c) for i, c in enumerate(consts)]
    y = _q(b, "y", out_shape)
    b.op(op, xs + cs, [y], **options)
    return b.build(inputs=xs, outputs=[y])


# -- padding arithmetic -----------------------------------------------------------------

@pytest.mark.parametrize("size,kernel,stride,dilation,expected", [
    (7, 3, 2, 1, (1, 1)), (8, 3, 2, 1, (0, 1)), (8, 3, 1, 2, (2, 2)), (5, 1, 1, 1, (0, 0)),
    (49, 10, 2, 1, (4, 5)), (4, 5, 1, 1, (2, 2)),
])
def test_same_padding_puts_the_odd_pixel_after(size, kernel, stride, dilation, expected):
    assert same_padding(size, kernel, stride, dilation) == expected


# -- operator attributes ----------------------------------------------------------------

def test_conv_2d_same_stride_2_pads_and_matches_tflm():
    b = TFLiteBuilder()
    x = _q(b, "x", (1, 7, 8, 3))
    w = _weights(b, "w", (5, 3, 3, 3))
    y = _q(b, "y", (1, 4, 4, 5), scale=0.3, zero_point=-3)
    b.op("CONV_2D", [x, w, None], [y], padding="SAME", stride_h=2, stride_w=2,
         dilation_h_factor=1, dilation_w_factor=1, fused_activation_function="RELU6")
    model = b.build(inputs=[x], outputs=[y])
    node = _only_node(model)
    assert (node.op, node.inputs[2]) == ("CONV_2D", "")
    assert node.attrs == {"strides": (2, 2), "dilations": (1, 1), "pads": (1, 0, 1, 1),
                          "activation": "RELU6"}
    assert_matches_tflm(model, _random_inputs(model))


def test_depthwise_multiplier_from_shapes_when_option_is_zero():
    b = TFLiteBuilder()
    x = _q(b, "x", (1, 6, 6, 3))
    w = _weights(b, "w", (1, 3, 3, 6), axis=3)
    y = _q(b, "y", (1, 6, 6, 6))
    b.op("DEPTHWISE_CONV_2D", [x, w, None], [y], padding="SAME", stride_h=1, stride_w=1,
         depth_multiplier=0, dilation_h_factor=2, dilation_w_factor=2)
    node = _only_node(b.build(inputs=[x], outputs=[y]))
    assert node.attrs == {"strides": (1, 1), "dilations": (2, 2), "pads": (2, 2, 2, 2),
                          "activation": "NONE", "depth_multiplier": 2}


def test_fully_connected_keep_num_dims_and_absent_bias():
    b = TFLiteBuilder()
    x = _q(b, "x", (1, 3, 8))
    w = _weights(b, "w", (4, 8))
    y = _q(b, "y", (1, 3, 4))
    b.op("FULLY_CONNECTED", [x, w, None], [y], keep_num_dims=True,
         fused_activation_function="RELU")
    node = _only_node(b.build(inputs=[x], outputs=[y]))
    assert node.inputs == ["x", "w", ""]
    assert node.attrs == {"activation": "RELU", "keep_num_dims": True}


@pytest.mark.parametrize("op", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
def test_pool_same_padding_matches_tflm(op):
    model = _single_op(op, [(1, 5, 6, 2)], (1, 3, 3, 2), padding="SAME", stride_h=2,
                       stride_w=2, filter_height=3, filter_width=2,
                       fused_activation_function="NONE")
    node = _only_node(model)
    assert node.attrs == {"filter": (3, 2), "strides": (2, 2), "dilations": (1, 1),
                          "pads": (1, 0, 1, 0), "activation": "NONE"}
    assert_matches_tflm(model, _random_inputs(model))


@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL"])
def test_binary_activation(op):
    node = _only_node(_single_op(op, [(1, 4), (1, 4)], (1, 4),
                                 fused_activation_function="RELU_N1_TO_1"))
    assert (node.op, node.attrs) == (op, {"activation": "RELU_N1_TO_1"})


def test_concatenation_axis_is_made_non_negative():
    model = _single_op("CONCATENATION", [(1, 2, 3), (1, 2, 5)], (1, 2, 8), axis=-1,
                       fused_activation_function="NONE")
    node = _only_node(model)
    assert node.attrs == {"axis": 2, "activation": "NONE"}
    assert_matches_tflm(model, _random_inputs(model))


@pytest.mark.parametrize("op,in_shape,out_shape,consts,options", [
    ("RESHAPE", (1, 2, 3, 4), (1, 24), [[1, 24]], {"new_shape": [1, 24]}),
    ("RESHAPE", (1, 2, 3, 4), (6, 4), [[-1, 4]], {}),
    ("SQUEEZE", (1, 1, 3, 4), (3, 4), [], {"squeeze_dims": [0, 1]}),
    ("EXPAND_DIMS", (3, 4), (3, 1, 4), [[1]], {}),
])
def test_shape_ops_become_reshape_with_the_static_shape(op, in_shape, out_shape, consts,
                                                        options):
    node = _only_node(_single_op(op, [in_shape], out_shape, consts, **options))
    assert (node.op, node.inputs, node.attrs) == ("RESHAPE", ["x0"], {"shape": out_shape})


def test_pad_and_padv2():
    pads = [[0, 0], [1, 2], [0, 3], [0, 0]]
    node = _only_node(_single_op("PAD", [(1, 2, 2, 1)], (1, 5, 5, 1), [pads]))
    assert node.attrs == {"pads": ((0, 0), (1, 2), (0, 3), (0, 0)), "value": None}
    b = TFLiteBuilder()
    x, y = _q(b, "x", (1, 2, 2, 1)), _q(b, "y", (1, 5, 5, 1))
    value = b.tensor("v", (), "int8", data=np.int8(-7), scale=0.1, zero_point=2)
    b.op("PADV2", [x, b.const("p", pads), value], [y])
    model = b.build(inputs=[x], outputs=[y])
    assert _only_node(model).attrs["value"] == -7
    assert_matches_tflm(model, _random_inputs(model))


def test_mean_axes_normalised_and_keep_dims():
    node = _only_node(_single_op("MEAN", [(1, 4, 5, 3)], (1, 1, 1, 3), [[-2, 1]],
                                 keep_dims=True))
    assert node.attrs == {"axes": (1, 2), "keep_dims": True}


def test_softmax_transpose_and_plain_ops():
    node = _only_node(_single_op("SOFTMAX", [(1, 10)], (1, 10), beta=0.5))
    assert node.attrs == {"beta": 0.5}
    node = _only_node(_single_op("TRANSPOSE", [(1, 2, 3, 4)], (1, 4, 2, 3), [[0, 3, 1, 2]]))
    assert node.attrs == {"perm": (0, 3, 1, 2)}
    for op in ["LOGISTIC", "TANH", "RELU", "RELU6"]:
        node = _only_node(_single_op(op, [(1, 10)], (1, 10)))
        assert (node.op, node.attrs) == (op, {})


def test_quantize_and_dequantize():
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 6), "float32")
    q = _q(b, "q", (1, 6), scale=0.05, zero_point=-1)
    y = b.tensor("y", (1, 6), "float32")
    b.op("QUANTIZE", [x], [q])
    b.op("DEQUANTIZE", [q], [y])
    graph = load_tflite(b.build(inputs=[x], outputs=[y]))
    assert [(n.op, n.attrs) for n in graph.nodes] == [("QUANTIZE", {}), ("DEQUANTIZE", {})]
    assert graph.tensors["q"].quant.s == np.float32(0.05) and graph.tensors["q"].quant.zp == -1


def test_space_to_batch_and_batch_to_space_attributes():
    node = _only_node(_single_op("SPACE_TO_BATCH_ND", [(1, 5, 6, 2)], (4, 4, 3, 2),
                                 [[2, 2], [[1, 2], [0, 0]]]))
    assert node.attrs == {"block_shape": (2, 2), "paddings": ((1, 2), (0, 0))}
    node = _only_node(_single_op("BATCH_TO_SPACE_ND", [(4, 4, 3, 2)], (1, 7, 6, 2),
                                 [[2, 2], [[0, 1], [0, 0]]]))
    assert node.attrs == {"block_shape": (2, 2), "crops": ((0, 1), (0, 0))}


def test_per_axis_quantization_of_weights():
    b = TFLiteBuilder()
    x = _q(b, "x", (1, 4, 4, 2))
    w = _weights(b, "w", (1, 3, 3, 2), axis=3)
    y = _q(b, "y", (1, 2, 2, 2))
    b.op("DEPTHWISE_CONV_2D", [x, w, None], [y], padding="VALID", stride_h=1, stride_w=1,
         depth_multiplier=1)
    wq = load_tflite(b.build(inputs=[x], outputs=[y])).tensors["w"].quant
    assert wq.axis == 3 and wq.scale.shape == (2,) and list(wq.zero_point) == [0, 0]


# -- folding and static shapes ----------------------------------------------------------

def test_shape_subgraph_is_folded_into_the_reshape():
    b = TFLiteBuilder()
    x = _q(b, "x", (1, 4, 4, 2))
    shape = b.tensor("shape", (4,), "int32")
    batch = b.tensor("batch", (), "int32")
    packed = b.tensor("packed", (2,), "int32")
    y = _q(b, "y", (1, 32))
    b.op("SHAPE", [x], [shape], out_type="INT32")
    b.op("STRIDED_SLICE", [shape, b.const("begin", [0]), b.const("end", [1]),
                           b.const("strides", [1])], [batch], shrink_axis_mask=1)
    b.op("PACK", [batch, b.const("minus_one", np.int32(-1))], [packed], values_count=2, axis=0)
    b.op("RESHAPE", [x, packed], [y])
    model = b.build(inputs=[x], outputs=[y])
    graph = load_tflite(model)
    assert [(n.op, n.inputs, n.attrs) for n in graph.nodes] == \
        [("RESHAPE", ["x"], {"shape": (1, 32)})]
    assert set(graph.tensors) == {"x", "y"}
    assert_matches_tflm(model, _random_inputs(model))


def test_dynamic_batch_signature_with_stored_batch_one_imports():
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 4), "float32", shape_signature=(-1, 4))
    y = b.tensor("y", (1, 4), "float32")
    b.op("RELU", [x], [y])
    graph = load_tflite(b.build(inputs=[x], outputs=[y]))
    assert graph.tensors["x"].shape == (1, 4)


@pytest.mark.parametrize("shape", [(-1, 4), (0, 4)])
def test_unknown_dimension_is_an_error(shape):
    b = TFLiteBuilder()
    x = b.tensor("x", shape, "float32")
    y = b.tensor("y", shape, "float32")
    b.op("RELU", [x], [y])
    with pytest.raises(EdgecError, match=r"tensor 'x' has an unknown dimension") as info:
        load_tflite(b.build(inputs=[x], outputs=[y]))
    assert "static shapes" in info.value.hint


# -- unsupported content ----------------------------------------------------------------

def test_unsupported_operator_names_op_node_output_and_supported_list():
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 4), "float32")
    h = b.tensor("h", (1, 4), "float32")
    y = b.tensor("sine_out", (1, 4), "float32")
    b.op("RELU", [x], [h])
    b.op("SIN", [h], [y])
    with pytest.raises(EdgecError) as info:
        load_tflite(b.build(inputs=[x], outputs=[y]))
    assert info.value.message == \
        "unsupported TFLite operator SIN at operator 1 (SIN, output 'sine_out')"
    assert "CONV_2D" in info.value.hint and "SOFTMAX" in info.value.hint


def test_unsupported_fused_activation():
    with pytest.raises(EdgecError, match="fused activation TANH"):
        load_tflite(_single_op("ADD", [(1, 4), (1, 4)], (1, 4),
                               fused_activation_function="TANH"))


def test_runtime_pad_amounts_are_an_error():
    b = TFLiteBuilder()
    x = _q(b, "x", (1, 4))
    p = b.tensor("p", (2, 2), "int32")
    y = _q(b, "y", (1, 6))
    b.op("PAD", [x, p], [y])
    with pytest.raises(EdgecError, match="input 1 must be constant"):
        load_tflite(b.build(inputs=[x, p], outputs=[y]))


def test_unsupported_tensor_type():
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 4), "complex64")
    y = b.tensor("y", (1, 4), "complex64")
    b.op("RELU", [x], [y])
    with pytest.raises(EdgecError, match="tensor 'x' has type COMPLEX64"):
        load_tflite(b.build(inputs=[x], outputs=[y]))


def test_float16_op_without_a_float16_kernel_is_refused_naming_it():
    """FLOAT16 tensors import (edgec.ir.floats); an op that does not compute on them says so."""
    from edgec.ir import interpret

    b = TFLiteBuilder()
    x = b.tensor("x", (1, 4), "float16")
    y = b.tensor("y", (1, 4), "float16")
    b.op("RELU", [x], [y])
    graph = load_tflite(b.build(inputs=[x], outputs=[y]))
    with pytest.raises(EdgecError, match="RELU has no reference kernel for float16"):
        interpret(graph, [np.zeros((1, 4), np.float16)])


# -- files ------------------------------------------------------------------------------

def _relu_model() -> bytes:
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 4), "float32")
    y = b.tensor("y", (1, 4), "float32")
    b.op("RELU", [x], [y])
    return b.build(inputs=[x], outputs=[y])


def test_load_model_reads_a_tflite_file(tmp_path):
    path = tmp_path / "relu.tflite"
    path.write_bytes(_relu_model())
    graph = load_model(path)
    assert (graph.name, graph.inputs, graph.outputs) == ("relu", ["x"], ["y"])


def test_missing_file(tmp_path):
    with pytest.raises(EdgecError, match="does not exist"):
        load_model(tmp_path / "nope.tflite")


def test_directory_is_not_a_model(tmp_path):
    with pytest.raises(EdgecError, match="is not a file"):
        load_model(tmp_path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.tflite"
    path.write_bytes(b"")
    with pytest.raises(EdgecError, match="is empty"):
        load_model(path)


def test_not_a_model(tmp_path):
    path = tmp_path / "notes.tflite"
    path.write_text("these are not the weights you are looking for\n")
    with pytest.raises(EdgecError, match="neither a TFLite nor an ONNX model") as info:
        load_model(path)
    assert "TFLite" in info.value.hint and "ONNX" in info.value.hint


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
def test_truncated_tflite(tmp_path, fraction):
    data = (MODELS / "kws_dscnn_int8.tflite").read_bytes() if \
        (MODELS / "kws_dscnn_int8.tflite").is_file() else _relu_model()
    path = tmp_path / "cut.tflite"
    path.write_bytes(data[:int(len(data) * fraction)])
    with pytest.raises(EdgecError, match="truncated or corrupt"):
        load_model(path)


def test_corrupt_tflite_body(tmp_path):
    path = tmp_path / "noise.tflite"
    noise = np.random.default_rng(3).integers(0, 256, 2000).astype(np.uint8).tobytes()
    path.write_bytes(b"\x10\x00\x00\x00TFL3" + noise)
    with pytest.raises(EdgecError, match="truncated or corrupt"):
        load_model(path)


def test_other_tflite_schema_identifier(tmp_path):
    path = tmp_path / "old.tflite"
    path.write_bytes(_relu_model().replace(b"TFL3", b"TFL2", 1))
    with pytest.raises(EdgecError, match="identifier"):
        load_model(path)


def test_onnx_file_goes_to_the_onnx_frontend():
    path = MODELS / "onnx" / "ad_fc_autoencoder_float32.onnx"
    if not path.is_file():
        pytest.skip(f"shared model {path} is not present")
    pytest.importorskip("edgec.frontends.onnx")
    graph = load_model(path)
    assert graph.name == "ad_fc_autoencoder_float32" and graph.nodes


def test_control_flow_into_other_subgraphs_is_reported():
    from edgec.frontends.tflite import ImportContext
    from edgec.frontends.tflite_schema import TfModel, TfOp, TfTensor

    cond = TfTensor(0, "cond", (1,), None, "BOOL", None, None, None, 0)
    out = TfTensor(1, "loop_out", (1,), None, "BOOL", None, None, None, 0)
    op = TfOp(0, "WHILE", [0], [1], {"cond_subgraph_index": 1, "body_subgraph_index": 2})
    ctx = ImportContext(TfModel([cond, out], [op], [0], [1], 3, ""), "loop")
    with pytest.raises(EdgecError, match="runs another subgraph.*unroll=True"):
        ctx.import_op(op)


def test_bias_with_the_weights_quantized_dimension_reads_like_tflm():
    """person_detect.tflite: 1-D bias tensors carry quantized_dimension=3 (the depthwise
    weights' axis); TFLM reads their scales along the only axis, so does edgec."""
    b = TFLiteBuilder()
    x = _q(b, "x", (1, 6, 6, 3))
    w = _weights(b, "w", (1, 3, 3, 3), axis=3)
    bias = b.tensor("bias", (3,), "int32", data=RNG.integers(-500, 500, 3),
                    scale=RNG.uniform(1e-4, 3e-4, 3), quantized_dimension=3)
    y = _q(b, "y", (1, 6, 6, 3), scale=0.2)
    b.op("DEPTHWISE_CONV_2D", [x, w, bias], [y], padding="SAME", stride_h=1, stride_w=1,
         depth_multiplier=1, dilation_h_factor=1, dilation_w_factor=1)
    model = b.build(inputs=[x], outputs=[y])
    assert _only_node(model).op == "DEPTHWISE_CONV_2D"
    assert_matches_tflm(model, _random_inputs(model))


def test_per_channel_scales_that_fit_no_axis_are_refused():
    b = TFLiteBuilder()
    x = _q(b, "x", (1, 6, 6, 3))
    w = b.tensor("w", (4, 3, 3, 3), "int8", data=RNG.integers(-127, 128, (4, 3, 3, 3)),
                 scale=RNG.uniform(0.01, 0.03, 5), quantized_dimension=0)
    y = _q(b, "y", (1, 6, 6, 4))
    b.op("CONV_2D", [x, w, None], [y], padding="SAME", stride_h=1, stride_w=1,
         dilation_h_factor=1, dilation_w_factor=1)
    with pytest.raises(EdgecError, match="does not fit its shape") as info:
        load_tflite(b.build(inputs=[x], outputs=[y]))
    assert "bug" not in str(info.value)


# -- the ops of the converter's unrolled recurrent layers -------------------------------

@pytest.mark.parametrize("axis", [0, 1, -1])
def test_unpack_becomes_slices_bit_exact_with_tflm(axis):
    shape = (3, 2, 4)
    b = TFLiteBuilder()
    x = _q(b, "x", shape)
    rest = tuple(n for d, n in enumerate(shape) if d != axis % 3)
    ys = [_q(b, f"y{k}", rest) for k in range(shape[axis])]
    b.op("UNPACK", [x], ys, num=shape[axis], axis=axis)
    model = b.build(inputs=[x], outputs=ys)
    assert {n.op for n in load_tflite(model).nodes} == {"STRIDED_SLICE", "RESHAPE"}
    assert_matches_tflm(model, _random_inputs(model))


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_pack_at_run_time_is_bit_exact_with_tflm(axis):
    b = TFLiteBuilder()
    xs = [_q(b, f"x{k}", (2, 4)) for k in range(3)]
    out = [2, 4]
    out.insert(axis, 3)
    y = _q(b, "y", out)
    b.op("PACK", xs, [y], values_count=3, axis=axis)
    model = b.build(inputs=xs, outputs=[y])
    assert [n.op for n in load_tflite(model).nodes].count("CONCATENATION") == 1
    assert_matches_tflm(model, _random_inputs(model))


@pytest.mark.parametrize("indices,axis", [(2, 0), ([1, 2, 3], 1), ([3, 1], 1), ([0], 2)])
def test_gather_at_constant_indices_is_bit_exact_with_tflm(indices, axis):
    shape = (4, 5, 3)
    idx = np.asarray(indices, np.int32)
    out = shape[:axis] + idx.shape + shape[axis + 1:]
    b = TFLiteBuilder()
    x = _q(b, "x", shape)
    i = b.tensor("i", idx.shape, "int32", data=idx)
    y = _q(b, "y", out)
    b.op("GATHER", [x, i], [y], axis=axis)
    model = b.build(inputs=[x], outputs=[y])
    assert "STRIDED_SLICE" in {n.op for n in load_tflite(model).nodes}
    assert_matches_tflm(model, _random_inputs(model))


def test_gather_at_unevenly_spaced_indices_is_refused():
    b = TFLiteBuilder()
    x = _q(b, "x", (5, 2))
    i = b.tensor("i", (3,), "int32", data=np.array([0, 1, 3], np.int32))
    y = _q(b, "y", (3, 2))
    b.op("GATHER", [x, i], [y], axis=0)
    with pytest.raises(EdgecError, match="evenly spaced"):
        load_tflite(b.build(inputs=[x], outputs=[y]))


def test_float_unpack_pack_and_a_filled_state_match_litert():
    """A constant FILL (the converter's zero state) folds; UNPACK and PACK run."""
    from tests.refs import run_edgec_tflite, run_litert

    b = TFLiteBuilder()
    x = b.tensor("x", (3, 1, 4), "float32")
    steps = [b.tensor(f"s{k}", (1, 4), "float32") for k in range(3)]
    b.op("UNPACK", [x], steps, num=3, axis=0)
    state = b.tensor("state", (1, 4), "float32")
    value = b.tensor("v", (), "float32", data=np.float32(0.5))
    b.op("FILL", [b.const("dims", [1, 4]), value], [state])
    summed = [b.tensor(f"a{k}", (1, 4), "float32") for k in range(3)]
    for s, a in zip(steps, summed):
        b.op("ADD", [s, state], [a])
    y = b.tensor("y", (1, 3, 4), "float32")
    b.op("PACK", summed, [y], values_count=3, axis=1)
    model = b.build(inputs=[x], outputs=[y])
    assert "FILL" not in {n.op for n in load_tflite(model).nodes}
    data = RNG.standard_normal((3, 1, 4)).astype(np.float32)
    np.testing.assert_array_equal(run_edgec_tflite(model, [data])[0],
                                  run_litert(model, [data])[0])


@pytest.mark.parametrize("axes", [[0], [1, 2], [-1]])
def test_reverse_v2_is_a_backward_slice_bit_exact_with_tflm(axes):
    b = TFLiteBuilder()
    x = _q(b, "x", (3, 4, 2))
    y = _q(b, "y", (3, 4, 2))
    b.op("REVERSE_V2", [x, b.const("axes", axes)], [y])
    model = b.build(inputs=[x], outputs=[y])
    (node,) = load_tflite(model).nodes
    assert node.op == "STRIDED_SLICE" and -1 in node.attrs["steps"]
    assert_matches_tflm(model, _random_inputs(model))
