"""RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR: random single-op models against TFLite Micro
(int8) and LiteRT (float), every coordinate mode, up- and downsampling."""

import numpy as np
import pytest

from tests.ops import act_quant, assert_float_matches_litert, float_data, int8_data
from tests.refs import assert_matches_tflm
from tests.tflite_builder import TFLiteBuilder

OPS = ["RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR"]
MODES = [(False, False), (True, False), (False, True)]  # (align_corners, half_pixel_centers)
SIZES = [((4, 5), (8, 10)), ((5, 3), (7, 9)), ((9, 7), (4, 3)), ((1, 6), (3, 1))]


def _model(op, in_hw, out_hw, mode, dtype, q=None):
    b = TFLiteBuilder()
    kw = dict(scale=q[0], zero_point=q[1]) if q else {}
    x = b.tensor("x", (2, *in_hw, 3), dtype, **kw)
    size = b.tensor("size", (2,), "int32", data=np.array(out_hw, np.int32))
    y = b.tensor("y", (2, *out_hw, 3), dtype, **kw)
    b.op(op, [x, size], [y], align_corners=mode[0], half_pixel_centers=mode[1])
    return b.build(inputs=[x], outputs=[y])


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("mode", range(len(MODES)))
@pytest.mark.parametrize("sizes", range(len(SIZES)))
def test_int8_matches_tflm(op, mode, sizes):
    rng = np.random.default_rng([mode, sizes])
    in_hw, out_hw = SIZES[sizes]
    model = _model(op, in_hw, out_hw, MODES[mode], "int8", act_quant(rng))
    assert_matches_tflm(model, [int8_data(rng, (2, *in_hw, 3))])


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("mode", range(len(MODES)))
def test_float_matches_litert(op, mode):
    rng = np.random.default_rng(mode)
    for in_hw, out_hw in SIZES:
        model = _model(op, in_hw, out_hw, MODES[mode], "float32")
        assert_float_matches_litert(model, [float_data(rng, (2, *in_hw, 3))])


ONNX_CASES = [("nearest", "half_pixel", "round_prefer_floor", (7, 10)),
              ("nearest", "asymmetric", "floor", (8, 10)),
              ("nearest", "align_corners", "round_prefer_ceil", (3, 2)),
              ("nearest", "tf_half_pixel_for_nn", "ceil", (6, 7)),
              ("linear", "half_pixel", None, (7, 9)),
              ("linear", "pytorch_half_pixel", None, (2, 3)),
              ("linear", "align_corners", None, (8, 10)),
              ("linear", "asymmetric", None, (3, 4))]


@pytest.mark.parametrize("case", range(len(ONNX_CASES)))
def test_onnx_resize_matches_onnxruntime(case):
    from onnx import helper

    from tests.test_onnx_frontend import _check, _const, _model as onnx_model, _ops

    mode, coord, rounding, out_hw = ONNX_CASES[case]
    kw = {"nearest_mode": rounding} if rounding else {}
    nodes = [helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], mode=mode,
                              coordinate_transformation_mode=coord, **kw)]
    sizes = np.array([1, 2, *out_hw], np.int64)
    graph = _check(onnx_model(nodes, {"x": [1, 2, 4, 5]}, ["y"], [_const("sizes", sizes)],
                              opset=13), (1, 2, 4, 5), atol=1e-5)
    assert {"RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR"} & set(_ops(graph))
