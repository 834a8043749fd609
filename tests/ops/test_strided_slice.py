"""STRIDED_SLICE, SLICE, SPLIT and SPLIT_V of a run-time tensor (imported as STRIDED_SLICE
nodes) against TFLite Micro (int8) and LiteRT (float); ONNX Slice and Split against
onnxruntime; export round trip."""

import numpy as np
import pytest
from onnx import helper

from edgec.export import to_tflite_bytes
from edgec.frontends.tflite import load_tflite
from tests.ops import float_data, int8_data
from tests.refs import assert_matches_tflm, run_edgec_tflite, run_litert, run_tflm
from tests.tflite_builder import TFLiteBuilder

X_SHAPE = (2, 5, 6, 4)
# (begin, end, strides, begin_mask, end_mask, shrink_axis_mask, output shape)
STRIDED = [((0, 1, 0, 1), (2, 4, 6, 4), (1, 1, 2, 1), 0, 0, 0, (2, 3, 3, 3)),
           ((1, -1, 5, 0), (2, -6, -7, 4), (1, -2, -2, 1), 0, 0b0100, 0b0001, (3, 3, 4)),
           ((0, 0, -3), (0, 5, 0), (1, 1, 1), 0b001, 0b101, 0, (2, 5, 3, 4)),
           ((0, 2), (0, 3), (1, 1), 0b01, 0b01, 0b10, (2, 6, 4))]


def _tensor(b, name, shape, dtype):
    q = dict(scale=0.07, zero_point=-4) if dtype == "int8" else {}
    return b.tensor(name, shape, dtype, **q)


def _strided(case, dtype):
    begin, end, strides, bm, em, sm, out = STRIDED[case]
    b = TFLiteBuilder()
    x, y = _tensor(b, "x", X_SHAPE, dtype), _tensor(b, "y", out, dtype)
    consts = [b.tensor(n, (len(v),), "int32", data=np.array(v, np.int32))
              for n, v in (("begin", begin), ("end", end), ("strides", strides))]
    b.op("STRIDED_SLICE", [x, *consts], [y], begin_mask=bm, end_mask=em, shrink_axis_mask=sm)
    return b.build(inputs=[x], outputs=[y])


def _splits(dtype):
    """SLICE, SPLIT (3 ways on axis 2) and SPLIT_V ([1, 3, 1] on axis 1) of one input."""
    b = TFLiteBuilder()
    x = _tensor(b, "x", X_SHAPE, dtype)
    s = _tensor(b, "s", (1, 3, 4, 2), dtype)
    b.op("SLICE", [x, b.tensor("sb", (4,), "int32", data=np.array([1, 1, 2, 1], np.int32)),
                   b.tensor("ss", (4,), "int32", data=np.array([-1, 3, -1, 2], np.int32))],
         [s])
    parts = [_tensor(b, f"p{k}", (2, 5, 2, 4), dtype) for k in range(3)]
    b.op("SPLIT", [b.tensor("axis", (), "int32", data=np.array(2, np.int32)), x], parts,
         num_splits=3)
    vs = [_tensor(b, f"v{k}", (2, n, 6, 4), dtype) for k, n in enumerate((1, 3, 1))]
    b.op("SPLIT_V", [x, b.tensor("sizes", (3,), "int32", data=np.array([1, 3, 1], np.int32)),
                     b.tensor("vaxis", (), "int32", data=np.array(1, np.int32))], vs,
         num_splits=3)
    return b.build(inputs=[x], outputs=[s, *parts, *vs])


@pytest.mark.parametrize("case", range(len(STRIDED)))
def test_strided_slice_matches_tflm_and_litert(case):
    rng = np.random.default_rng(case)
    x = int8_data(rng, X_SHAPE)
    if len(STRIDED[case][0]) == len(X_SHAPE):
        assert_matches_tflm(_strided(case, "int8"), [x])
    else:  # TFLM refuses begin/end shorter than the rank; LiteRT's reference kernel runs it
        model = _strided(case, "int8")
        np.testing.assert_array_equal(run_edgec_tflite(model, [x])[0],
                                      run_litert(model, [x])[0])
    model, x = _strided(case, "float32"), float_data(rng, X_SHAPE)
    np.testing.assert_array_equal(run_edgec_tflite(model, [x])[0], run_litert(model, [x])[0])
    again = to_tflite_bytes(load_tflite(_strided(case, "int8")))
    xi = int8_data(rng, X_SHAPE)
    np.testing.assert_array_equal(run_tflm(again, [xi])[0],
                                  run_edgec_tflite(_strided(case, "int8"), [xi])[0])


def test_slice_and_splits_match_tflm_and_litert():
    rng = np.random.default_rng(9)
    assert_matches_tflm(_splits("int8"), [int8_data(rng, X_SHAPE)])
    model, x = _splits("float32"), float_data(rng, X_SHAPE)
    for got, want in zip(run_edgec_tflite(model, [x]), run_litert(model, [x])):
        np.testing.assert_array_equal(got, want)


def test_onnx_slice_and_split_of_an_activation_match_onnxruntime():
    from tests.test_onnx_frontend import _check, _const, _model as onnx_model, _ops

    w = np.random.default_rng(1).standard_normal((6, 2, 1, 1)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"]),
             helper.make_node("Slice", ["c", "st", "en", "ax", "sp"], ["s"]),
             helper.make_node("Split", ["c", "split"], ["a", "b"], axis=1)]
    consts = [_const("w", w), _const("st", np.array([1, -1], np.int64)),
              _const("en", np.array([6, -9], np.int64)), _const("ax", np.array([1, 3], np.int64)),
              _const("sp", np.array([2, -2], np.int64)), _const("split", np.array([2, 4], np.int64))]
    graph = _check(onnx_model(nodes, {"x": [1, 2, 4, 5]}, ["s", "a", "b"], consts, opset=13),
                   (1, 2, 4, 5))
    assert "STRIDED_SLICE" in _ops(graph)
