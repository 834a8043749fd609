"""1-D convolutions from the TFLite converter.

Older converters write a dilated Keras Conv1D as rank-3 SPACE_TO_BATCH_ND -> EXPAND_DIMS ->
CONV_2D -> SQUEEZE -> BATCH_TO_SPACE_ND; edgec runs the rank-3 block ops as their NHWC form
with H = 1. Checked against LiteRT's reference kernels (which pad space-to-batch with the
zero point as TFLite means; TFLM leaves the padding unwritten) and built and verified on the
host. Current converters (TF 2.20) write Conv1D as RESHAPE -> dilated CONV_2D -> RESHAPE;
``test_keras_conv1d`` runs those through the converter and checks them against TFLM.
"""

import numpy as np
import pytest

from edgec.frontends.tflite import load_tflite
from edgec.ir import interpret
from edgec.verify import verify
from tests.refs import describe_mismatch, run_litert
from tests.tflite_builder import TFLiteBuilder

W, C, OC, D = 20, 3, 4, 2


def _rank3_dilated(dtype: str, seed: int = 0) -> bytes:
    """x (1, 20, 3) -> S2B(block 2, pad 2+2) -> (2, 12, 3) -> EXPAND_DIMS -> (2, 1, 12, 3)
    -> CONV_2D 1x3 VALID -> (2, 1, 10, 4) -> SQUEEZE -> (2, 10, 4) -> B2S -> (1, 20, 4)."""
    rng = np.random.default_rng(seed)
    q = dtype == "int8"
    b = TFLiteBuilder()

    def act(name, shape, scale, zp):
        return b.tensor(name, shape, dtype, scale=scale if q else None,
                        zero_point=zp if q else None)

    x = act("x", (1, W, C), 0.05, -20)
    s = act("s", (D, (W + 4) // D, C), 0.05, -20)
    e = act("e", (D, 1, (W + 4) // D, C), 0.05, -20)
    c = act("c", (D, 1, (W + 4) // D - 2, OC), 0.1, 5)
    sq = act("sq", (D, (W + 4) // D - 2, OC), 0.1, 5)
    y = act("y", (1, W, OC), 0.1, 5)
    w_scales = rng.uniform(0.01, 0.02, OC)
    if q:
        w = b.tensor("w", (OC, 1, 3, C), "int8", data=rng.integers(-127, 128, (OC, 1, 3, C)),
                     scale=w_scales, quantized_dimension=0)
        bias = b.tensor("b", (OC,), "int32", data=rng.integers(-500, 500, OC),
                        scale=0.05 * w_scales)
    else:
        w = b.tensor("w", (OC, 1, 3, C), "float32", data=rng.standard_normal((OC, 1, 3, C)))
        bias = b.tensor("b", (OC,), "float32", data=rng.standard_normal(OC))
    b.op("SPACE_TO_BATCH_ND", [x, b.const("block", [D]), b.const("pads", [[2, 2]])], [s])
    b.op("EXPAND_DIMS", [s, b.const("axis", [1])], [e])
    b.op("CONV_2D", [e, w, bias], [c], padding="VALID", stride_w=1, stride_h=1,
         dilation_h_factor=1, dilation_w_factor=1, fused_activation_function="RELU")
    b.op("SQUEEZE", [c], [sq], squeeze_dims=[1])
    b.op("BATCH_TO_SPACE_ND", [sq, b.const("block2", [D]), b.const("crops", [[0, 0]])], [y])
    return b.build(inputs=[x], outputs=[y])


def _input(dtype, rng):
    if dtype == "int8":
        return rng.integers(-128, 128, (1, W, C)).astype(np.int8)
    return rng.standard_normal((1, W, C)).astype(np.float32)


@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_rank3_dilated_conv1d_matches_litert(dtype):
    model = _rank3_dilated(dtype)
    graph = load_tflite(model)
    rng = np.random.default_rng(3)
    for _ in range(3):
        x = _input(dtype, rng)
        got, want = interpret(graph, [x])["y"], run_litert(model, [x])[0]
        if dtype == "int8":
            assert describe_mismatch(want, got, "litert") is None
        else:
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_rank3_dilated_conv1d_builds_and_verifies_on_host(dtype, tmp_path):
    path = tmp_path / f"conv1d_{dtype}.tflite"
    path.write_bytes(_rank3_dilated(dtype))
    result = verify(path, count=3)
    assert result.ok, result.message
