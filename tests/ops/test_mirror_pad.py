"""MIRROR_PAD: TFLite models against TFLite Micro (int8) and LiteRT (float), ONNX Pad
reflect/edge against onnxruntime."""

import numpy as np
import pytest
from onnx import helper

from tests.ops import float_data, int8_data
from tests.refs import assert_matches_tflm, run_edgec_tflite, run_litert
from tests.tflite_builder import TFLiteBuilder

# (input shape, pads per axis, mode)
CASES = [((1, 4, 5, 3), ((0, 0), (2, 1), (3, 4), (0, 0)), "SYMMETRIC"),
         ((1, 4, 5, 3), ((0, 0), (3, 0), (1, 4), (0, 0)), "REFLECT"),
         ((2, 6, 3), ((1, 1), (0, 5), (2, 2)), "REFLECT"),
         ((7, 2), ((6, 7), (2, 1)), "SYMMETRIC")]


def _out_shape(shape, pads):
    return tuple(d + b + a for d, (b, a) in zip(shape, pads))


def _model(shape, pads, mode, dtype):
    b = TFLiteBuilder()
    q = dict(scale=0.05, zero_point=-3) if dtype == "int8" else {}
    x = b.tensor("x", shape, dtype, **q)
    p = b.tensor("pads", (len(shape), 2), "int32", data=np.array(pads, np.int32))
    y = b.tensor("y", _out_shape(shape, pads), dtype, **q)
    b.op("MIRROR_PAD", [x, p], [y], mode=mode)
    return b.build(inputs=[x], outputs=[y])


@pytest.mark.parametrize("case", range(len(CASES)))
def test_int8_matches_tflm(case):
    shape, pads, mode = CASES[case]
    rng = np.random.default_rng(case)
    assert_matches_tflm(_model(shape, pads, mode, "int8"), [int8_data(rng, shape)])


@pytest.mark.parametrize("case", range(len(CASES)))
def test_float_matches_litert(case):
    shape, pads, mode = CASES[case]
    model = _model(shape, pads, mode, "float32")
    x = float_data(np.random.default_rng(case), shape)
    np.testing.assert_array_equal(run_edgec_tflite(model, [x])[0], run_litert(model, [x])[0])


@pytest.mark.parametrize("mode", ["reflect", "edge"])
def test_onnx_pad_reflect_and_edge_match_onnxruntime(mode):
    from tests.test_onnx_frontend import _check, _const, _model as onnx_model, _ops

    pads = np.array([0, 0, 2, 1, 0, 0, 1, 3], np.int64)
    w = np.random.default_rng(1).standard_normal((3, 2, 1, 1)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"]),
             helper.make_node("Pad", ["c", "pads"], ["y"], mode=mode)]
    graph = _check(onnx_model(nodes, {"x": [1, 2, 4, 5]}, ["y"],
                              [_const("w", w), _const("pads", pads)]), (1, 2, 4, 5))
    assert "MIRROR_PAD" in _ops(graph)
