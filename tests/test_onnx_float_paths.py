"""ONNX float cases the node suite once refused, now imported: each checked against
onnxruntime through the reference interpreter and through the generated C on the host
(``edgec build`` + the host harness, as the node-suite runner does).

Clip with bounds computed at run time, MatMul of two vectors, Gemm with a run-time C, 3-D
pools (two separable 2-D pools), Resize modes RESIZE_* cannot express (one constant MatMul
per axis: ``edgec.frontends.onnx_resize``), and model outputs that are constants (a Shape of
a static tensor, Dropout's mask)."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from edgec.errors import EdgecError
from edgec.frontends.onnx import load_onnx
from edgec.frontends.onnx_resize import axis_weights
from edgec.ir import interpret
from tests.lower.harness import needs_gcc
from tests.onnx_node.runner import matches, run_c

RNG = np.random.default_rng(23)


def _model(nodes, inputs: dict, outputs: dict, consts=(), opset=19) -> bytes:
    graph = helper.make_graph(
        nodes, "test",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info(n, t, None) for n, t in outputs.items()],
        initializer=[numpy_helper.from_array(np.asarray(v), k) for k, v in consts])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]
                             ).SerializeToString()


def _feeds(inputs: dict) -> list:
    return [RNG.standard_normal(s).astype(np.float32) for s in inputs.values()]


def _check(data: bytes, feeds: list, tmp_path=None, c: bool = True, onnx_reference=False):
    """Reference (and, with ``tmp_path``, the host C) against onnxruntime (or ONNX's own
    reference runtime, for what onnxruntime does not run)."""
    model = onnx.load_model_from_string(data)
    init = {i.name for i in model.graph.initializer}
    names = [i.name for i in model.graph.input if i.name not in init]
    out_names = [o.name for o in model.graph.output]
    session = ReferenceEvaluator(model) if onnx_reference else ort.InferenceSession(data)
    want = session.run(None, dict(zip(names, feeds)))
    graph = load_onnx(data)
    got = interpret(graph, dict(zip(names, feeds)))
    for name, w in zip(out_names, want):
        assert matches(got[name], w) == "", name
    if tmp_path is not None and c:
        status, detail = run_c(data, [feeds], [want], names, out_names, tmp_path / "c")
        assert status == "pass", detail
    return graph


@needs_gcc
@pytest.mark.parametrize("bounds", [("lo", "hi"), ("lo", ""), ("", "hi"), ("hi", "lo")])
def test_clip_with_run_time_bounds(tmp_path, bounds):
    inputs = {"x": [2, 3, 4], "lo": [], "hi": []}
    node = helper.make_node("Clip", ["x", *bounds], ["y"])
    feeds = [RNG.standard_normal((2, 3, 4)).astype(np.float32), np.array(-0.4, np.float32),
             np.array(0.6, np.float32)]
    used = {"x", *bounds} - {""}
    keep = [k for k in inputs if k in used]
    graph = _check(_model([node], {k: inputs[k] for k in keep},
                          {"y": TensorProto.FLOAT}),
                   [f for k, f in zip(inputs, feeds) if k in used], tmp_path)
    assert {n.op for n in graph.nodes} <= {"MAXIMUM", "MINIMUM", "RESHAPE"}


def test_clip_of_a_constant_range_and_no_range():
    node = helper.make_node("Clip", ["x", "", "hi"], ["y"])
    _check(_model([node], {"x": [5]}, {"y": TensorProto.FLOAT},
                  [("hi", np.float32(0.0))]), _feeds({"x": [5]}))
    graph = load_onnx(_model([helper.make_node("Clip", ["x"], ["y"])], {"x": [5]},
                             {"y": TensorProto.FLOAT}))
    x = _feeds({"x": [5]})[0]
    np.testing.assert_array_equal(interpret(graph, x)["y"], x)


@needs_gcc
def test_matmul_of_two_vectors_is_a_scalar(tmp_path):
    node = helper.make_node("MatMul", ["a", "b"], ["y"])
    inputs = {"a": [7], "b": [7]}
    graph = _check(_model([node], inputs, {"y": TensorProto.FLOAT}), _feeds(inputs), tmp_path)
    assert graph.tensors[graph.outputs[0]].shape == ()


@needs_gcc
def test_gemm_with_a_run_time_c(tmp_path):
    node = helper.make_node("Gemm", ["a", "b", "c"], ["y"], alpha=0.5, beta=-2.0, transB=1)
    inputs = {"a": [3, 4], "b": [5, 4], "c": [1, 5]}
    _check(_model([node], inputs, {"y": TensorProto.FLOAT}), _feeds(inputs), tmp_path)


@needs_gcc
@pytest.mark.parametrize("op,extra", [
    ("MaxPool", dict(kernel_shape=[2, 3, 2], strides=[1, 2, 2], pads=[1, 0, 1, 0, 1, 1])),
    ("MaxPool", dict(kernel_shape=[2, 2, 2], dilations=[2, 1, 2], ceil_mode=1,
                     strides=[2, 2, 2])),
    ("AveragePool", dict(kernel_shape=[3, 2, 2], pads=[1, 1, 0, 1, 0, 1], strides=[2, 1, 2])),
    ("AveragePool", dict(kernel_shape=[3, 3, 3], pads=[1, 1, 1, 1, 1, 1], strides=[2, 2, 2],
                         count_include_pad=1, ceil_mode=1)),
])
def test_3d_pools_as_two_2d_pools(tmp_path, op, extra):
    inputs = {"x": [1, 2, 5, 6, 7]}
    graph = _check(_model([helper.make_node(op, ["x"], ["y"], **extra)], inputs,
                          {"y": TensorProto.FLOAT}), _feeds(inputs), tmp_path)
    pool = "MAX_POOL_2D" if op == "MaxPool" else "AVERAGE_POOL_2D"
    assert [n.op for n in graph.nodes].count(pool) == 2


def _resize(attrs: dict, x_shape, scales=None, sizes=None, roi=None, axes=None):
    consts = [("roi", np.asarray(roi if roi is not None else [], np.float32))]
    names = ["x", "roi", "", ""]
    if scales is not None:
        consts.append(("scales", np.asarray(scales, np.float32)))
        names[2] = "scales"
    if sizes is not None:
        consts.append(("sizes", np.asarray(sizes, np.int64)))
        names[3] = "sizes"
    if axes is not None:
        attrs = dict(attrs, axes=axes)
    node = helper.make_node("Resize", names, ["y"], **attrs)
    return _model([node], {"x": x_shape}, {"y": TensorProto.FLOAT}, consts)


RESIZES = {
    "cubic": (dict(mode="cubic"), dict(scales=[1, 1, 1.5, 0.75])),
    "cubic_a_exclude": (dict(mode="cubic", cubic_coeff_a=-0.5, exclude_outside=1),
                        dict(scales=[1, 1, 0.6, 1.7])),
    "cubic_align_corners": (dict(mode="cubic", coordinate_transformation_mode="align_corners"),
                            dict(sizes=[1, 2, 7, 3])),
    "linear_antialias": (dict(mode="linear", antialias=1), dict(sizes=[1, 2, 3, 4])),
    "cubic_antialias": (dict(mode="cubic", antialias=1), dict(scales=[1, 1, 0.5, 0.35])),
    "crop": (dict(mode="linear", coordinate_transformation_mode="tf_crop_and_resize",
                  extrapolation_value=7.5),
             dict(sizes=[1, 2, 4, 5], roi=[0, 0, -0.2, 0.3, 1, 1, 0.8, 1.4])),
    "half_pixel_symmetric": (dict(mode="linear",
                                  coordinate_transformation_mode="half_pixel_symmetric"),
                             dict(scales=[1, 1, 1.7, 0.6])),
    "not_larger": (dict(mode="nearest", keep_aspect_ratio_policy="not_larger"),
                   dict(sizes=[11, 4], axes=[2, 3])),
    "non_whole_scales": (dict(mode="linear"), dict(scales=[1, 1, 0.6, 0.6])),
    "channels": (dict(mode="linear"), dict(scales=[1, 2.5, 1, 1])),
    "nearest_3d": (dict(mode="nearest", nearest_mode="floor"), dict(scales=[1, 1, 2, 1.5, 1])),
}


@needs_gcc
@pytest.mark.parametrize("case", sorted(RESIZES))
def test_resize_as_constant_matmuls_matches_onnxruntime(tmp_path, case):
    attrs, given = RESIZES[case]
    shape = [1, 2, 6, 7, 3] if case == "nearest_3d" else [1, 2, 6, 7]
    graph = _check(_resize(attrs, shape, **given), _feeds({"x": shape}), tmp_path,
                   c=case in ("cubic", "crop", "channels", "nearest_3d"))
    assert not {"RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR"} & {n.op for n in graph.nodes}


def test_resize_weights_rows_sum_to_one_and_crop_rows_are_empty():
    for mode, antialias in (("linear", False), ("cubic", False), ("cubic", True)):
        m, outside = axis_weights(9, 4, 4 / 9, mode, "half_pixel", "round_prefer_floor",
                                  -0.75, antialias, False)
        np.testing.assert_allclose(m.sum(axis=1), 1.0)
        assert not outside.any()
    m, outside = axis_weights(5, 4, 0.8, "linear", "tf_crop_and_resize", "floor", -0.75,
                              False, False, roi=(-0.5, 1.0))
    assert outside.tolist() == [True, False, False, False]
    assert not m[0].any()


def test_plain_resizes_keep_their_ops():
    graph = load_onnx(_resize(dict(mode="linear"), [1, 2, 4, 4], scales=[1, 1, 2, 2]))
    assert [n.op for n in graph.nodes if n.op.startswith("RESIZE")] == ["RESIZE_BILINEAR"]


def test_resize_with_run_time_scales_is_refused_naming_them():
    node = helper.make_node("Resize", ["x", "", "s"], ["y"], mode="linear")
    data = _model([node], {"x": [1, 1, 2, 2], "s": [4]}, {"y": TensorProto.FLOAT})
    with pytest.raises(EdgecError, match="takes its scales at run time"):
        load_onnx(data)


@needs_gcc
def test_constant_outputs_are_filled_by_the_run_function(tmp_path):
    nodes = [helper.make_node("Shape", ["x"], ["shape"], start=1),
             helper.make_node("Dropout", ["x"], ["y", "mask"])]
    data = _model(nodes, {"x": [2, 3, 4]}, {"shape": TensorProto.INT64, "y": TensorProto.FLOAT,
                                            "mask": TensorProto.BOOL})
    graph = _check(data, _feeds({"x": [2, 3, 4]}), tmp_path)
    assert [graph.tensors[o].dtype for o in graph.outputs] == ["int32", "float32", "uint8"]


@needs_gcc
@pytest.mark.parametrize("run_time", [("s", "b", "m", "v"), ("m", "v"), ("s",)])
def test_batch_normalization_with_run_time_parameters(tmp_path, run_time):
    params = {k: RNG.standard_normal(3).astype(np.float32) for k in "sbmv"}
    params["v"] = np.abs(params["v"]) + 0.1
    node = helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"],
                            epsilon=1e-3)
    inputs = {"x": [2, 3, 4, 5], **{k: [3] for k in run_time}}
    consts = [(k, v) for k, v in params.items() if k not in run_time]
    feeds = [RNG.standard_normal((2, 3, 4, 5)).astype(np.float32),
             *(params[k] for k in run_time)]
    graph = _check(_model([node], inputs, {"y": TensorProto.FLOAT}, consts), feeds, tmp_path)
    assert ("SQRT" in {n.op for n in graph.nodes}) == ("v" in run_time)


@needs_gcc
@pytest.mark.parametrize("direction,layout", [("forward", 0), ("bidirectional", 1),
                                              ("reverse", 0)])
def test_lstm_with_peepholes_unrolled(tmp_path, direction, layout):
    """Against onnxruntime; batch-major (layout 1), which it does not run, against ONNX's
    reference runtime."""
    dirs, hidden, size, steps, batch = (2 if direction == "bidirectional" else 1), 3, 4, 3, 2

    def weights(*shape):
        return (RNG.standard_normal(shape) * 0.5).astype(np.float32)
    consts = [("W", weights(dirs, 4 * hidden, size)), ("R", weights(dirs, 4 * hidden, hidden)),
              ("B", weights(dirs, 8 * hidden)), ("P", weights(dirs, 3 * hidden)),
              ("h0", weights(*((batch, dirs, hidden) if layout else (dirs, batch, hidden)))),
              ("c0", weights(*((batch, dirs, hidden) if layout else (dirs, batch, hidden))))]
    node = helper.make_node("LSTM", ["x", "W", "R", "B", "", "h0", "c0", "P"],
                            ["y", "y_h", "y_c"], hidden_size=hidden, direction=direction,
                            layout=layout)
    x_shape = [batch, steps, size] if layout else [steps, batch, size]
    outputs = {n: TensorProto.FLOAT for n in ("y", "y_h", "y_c")}
    graph = _check(_model([node], {"x": x_shape}, outputs, consts), _feeds({"x": x_shape}),
                   tmp_path, c=direction == "bidirectional", onnx_reference=layout == 1)
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" not in {n.op for n in graph.nodes}


def test_a_model_without_inputs_is_refused():
    node = helper.make_node("Constant", [], ["y"], value=numpy_helper.from_array(
        np.ones(3, np.float32)))
    with pytest.raises(EdgecError, match="has no inputs"):
        load_onnx(_model([node], {}, {"y": TensorProto.FLOAT}))


@needs_gcc
@pytest.mark.parametrize("extra", [dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
                                   dict(kernel_shape=[2, 3], strides=[2, 1], storage_order=1),
                                   dict(kernel_shape=[2, 2], dilations=[2, 2], ceil_mode=1,
                                        strides=[2, 2])])
def test_max_pool_indices(tmp_path, extra):
    inputs = {"x": [2, 3, 6, 7]}
    node = helper.make_node("MaxPool", ["x"], ["y", "i"], **extra)
    graph = _check(_model([node], inputs, {"y": TensorProto.FLOAT, "i": TensorProto.INT64}),
                   _feeds(inputs), tmp_path)
    assert graph.tensors[graph.outputs[1]].dtype == "int32"


@needs_gcc
@pytest.mark.parametrize("extra", [dict(), dict(strides=[2, 1, 2], pads=[1, 0, 1, 0, 1, 1],
                                               dilations=[1, 2, 1], output_padding=[1, 0, 1])])
def test_3d_conv_transpose_as_2d_ones(tmp_path, extra):
    w = (RNG.standard_normal((2, 3, 3, 2, 3)) * 0.5).astype(np.float32)
    b = RNG.standard_normal(3).astype(np.float32)
    node = helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], **extra)
    inputs = {"x": [1, 2, 3, 4, 5]}
    graph = _check(_model([node], inputs, {"y": TensorProto.FLOAT}, [("w", w), ("b", b)]),
                   _feeds(inputs), tmp_path)
    assert [n.op for n in graph.nodes].count("TRANSPOSE_CONV") == 3
