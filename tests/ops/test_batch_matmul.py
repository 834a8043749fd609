"""BATCH_MATMUL: two run-time operands, against TFLite Micro (int8) and LiteRT (float);
ONNX MatMul / Gemm of two activations against onnxruntime."""

import numpy as np
import pytest
from onnx import helper

from tests.ops import act_quant, assert_float_matches_litert, float_data, int8_data
from tests.refs import assert_matches_tflm
from tests.tflite_builder import TFLiteBuilder

# (x shape, y shape, adj_x, adj_y, output shape)
CASES = [((2, 3, 4), (2, 4, 5), False, False, (2, 3, 5)),
         ((3, 4), (5, 4), False, True, (3, 5)),
         ((2, 1, 6, 3), (1, 3, 6, 2), True, False, (2, 3, 3, 2)),
         ((1, 7, 9), (1, 5, 7), True, True, (1, 9, 5))]


def _model(case, dtype, quant=None):
    xs, ys, adj_x, adj_y, out = CASES[case]
    b = TFLiteBuilder()
    kw = [dict(scale=q[0], zero_point=q[1]) for q in quant] if quant else [{}] * 3
    x = b.tensor("x", xs, dtype, **kw[0])
    y = b.tensor("y", ys, dtype, **kw[1])
    z = b.tensor("z", out, dtype, **kw[2])
    b.op("BATCH_MATMUL", [x, y], [z], adj_x=adj_x, adj_y=adj_y)
    return b.build(inputs=[x, y], outputs=[z])


@pytest.mark.parametrize("seed", range(8))
def test_int8_matches_tflm(seed):
    rng = np.random.default_rng(seed)
    case = seed % len(CASES)
    quant = [act_quant(rng), act_quant(rng), act_quant(rng)]
    # An output scale that makes a typical sum span tens of codes, and some clamp.
    k = CASES[case][0][-2 if CASES[case][2] else -1]
    quant[2] = (float(np.float32(quant[0][0] * quant[1][0] * 74 * 74 * np.sqrt(k) / 40
                                 * 2.0 ** rng.uniform(-2, 2))), quant[2][1])
    xs, ys = CASES[case][:2]
    assert_matches_tflm(_model(case, "int8", quant), [int8_data(rng, xs), int8_data(rng, ys)])


@pytest.mark.parametrize("case", range(len(CASES)))
def test_float_matches_litert(case):
    rng = np.random.default_rng(case)
    xs, ys = CASES[case][:2]
    assert_float_matches_litert(_model(case, "float32"), [float_data(rng, xs),
                                                          float_data(rng, ys)])


def test_onnx_matmul_and_gemm_of_two_activations_match_onnxruntime():
    from tests.test_onnx_frontend import _check, _const, _model as onnx_model, _ops

    c = np.random.default_rng(2).standard_normal((3, 5)).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["a", "b"], ["m"]),
             helper.make_node("Gemm", ["a2", "b2", "c"], ["g"], transA=1, transB=1, beta=0.5)]
    graph = _check(onnx_model(nodes, {"a": [2, 3, 4], "b": [2, 4, 6], "a2": [4, 3],
                                      "b2": [5, 4]}, ["m", "g"], [_const("c", c)]),
                   (2, 3, 4), (2, 4, 6), (4, 3), (5, 4), atol=1e-5)
    assert _ops(graph).count("BATCH_MATMUL") == 2
