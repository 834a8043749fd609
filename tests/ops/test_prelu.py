"""PRELU: random single-op models against TFLite Micro (int8) and LiteRT (float); ONNX PRelu
against onnxruntime."""

import numpy as np
import pytest
from onnx import helper

from tests.ops import act_quant, assert_float_matches_litert, float_data
from tests.refs import assert_matches_tflm
from tests.tflite_builder import TFLiteBuilder

ALPHA_SHAPES = [(1, 1, 5), (5,), (1,), (3, 1)]


def _model(x_shape, alpha, x_q=None, a_q=None, y_q=None):
    b = TFLiteBuilder()
    if x_q is None:
        x = b.tensor("x", x_shape, "float32")
        a = b.tensor("alpha", alpha.shape, "float32", data=alpha)
        y = b.tensor("y", x_shape, "float32")
    else:
        x = b.tensor("x", x_shape, "int8", scale=x_q[0], zero_point=x_q[1])
        a = b.tensor("alpha", alpha.shape, "int8", data=alpha, scale=a_q[0], zero_point=a_q[1])
        y = b.tensor("y", x_shape, "int8", scale=y_q[0], zero_point=y_q[1])
    b.op("PRELU", [x, a], [y])
    return b.build(inputs=[x], outputs=[y])


@pytest.mark.parametrize("seed", range(12))
def test_int8_matches_tflm(seed):
    rng = np.random.default_rng(seed)
    shape = ALPHA_SHAPES[seed % len(ALPHA_SHAPES)]
    alpha = rng.integers(-128, 128, shape).astype(np.int8)
    a_q = (float(np.float32(10.0 ** rng.uniform(-3, 0))), int(rng.integers(-128, 128)))
    x = (rng.permutation(256 * 15) % 256 - 128).astype(np.int8).reshape(256, 3, 5)
    model = _model(x.shape, alpha, act_quant(rng), a_q, act_quant(rng))
    assert_matches_tflm(model, [x])


@pytest.mark.parametrize("seed", range(3))
def test_float_matches_litert(seed):
    rng = np.random.default_rng(50 + seed)
    alpha = float_data(rng, ALPHA_SHAPES[seed])
    assert_float_matches_litert(_model((2, 3, 5), alpha), [float_data(rng, (2, 3, 5))])


@pytest.mark.parametrize("slope_shape", [(3, 1, 1), (1,), (4,)])
def test_onnx_prelu_matches_onnxruntime(slope_shape):
    from tests.test_onnx_frontend import _check, _const, _model as onnx_model, _ops

    slope = np.random.default_rng(3).standard_normal(slope_shape).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"]),
             helper.make_node("PRelu", ["c", "s"], ["y"])]
    w = np.random.default_rng(4).standard_normal((3, 2, 1, 1)).astype(np.float32)
    graph = _check(onnx_model(nodes, {"x": [1, 2, 4, 4]}, ["y"],
                              [_const("w", w), _const("s", slope)]), (1, 2, 4, 4))
    assert "PRELU" in _ops(graph)
