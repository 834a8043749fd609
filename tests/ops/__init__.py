"""Op-by-op tests: single-op TFLite models built with ``tests.tflite_builder``, run by edgec's
importer + reference interpreter and compared with TFLite Micro (int8, bit-exact) or LiteRT's
reference kernels (float32, 1e-5 relative).

The helpers below draw the random pieces every op test needs: quantization parameters, int8
data, per-channel weights with a matching int32 bias, and TFLite's window output sizes.
"""

from __future__ import annotations

import numpy as np

from tests.refs import run_edgec_tflite, run_litert

ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")


def int8_data(rng, shape) -> np.ndarray:
    """Uniform int8 values over the whole range, including -128 and 127."""
    return rng.integers(-128, 128, size=shape, dtype=np.int64).astype(np.int8)


def float_data(rng, shape) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def act_quant(rng) -> tuple[float, int]:
    """A random activation (scale, zero point): scale over three decades, any zero point."""
    return float(np.float32(10.0 ** rng.uniform(-2.5, 0.5))), int(rng.integers(-128, 128))


def weight_scales(rng, channels: int, per_channel: bool) -> np.ndarray:
    """Symmetric weight scales, one per channel or a single one."""
    n = channels if per_channel else 1
    return (10.0 ** rng.uniform(-3.0, -1.0, n)).astype(np.float32)


def int32_bias(rng, channels: int, magnitude: int = 5000) -> np.ndarray:
    return rng.integers(-magnitude, magnitude + 1, channels).astype(np.int32)


def output_scale(rng, in_scale: float, w_scales: np.ndarray, taps: int) -> float:
    """An output scale that spreads a typical accumulator (``sqrt(taps)`` random products of
    about 74 x 74) over roughly +-40 codes, times a random factor so some outputs clamp."""
    spread = np.sqrt(taps) * 74.0 * 74.0 * in_scale * float(np.mean(w_scales))
    return float(np.float32(spread / 40.0 * 2.0 ** rng.uniform(-1.5, 1.5)))


def window_out(size: int, kernel: int, stride: int, dilation: int, padding: str) -> int:
    """TFLite's output size of a window op (``ComputeOutSize``)."""
    effective = (kernel - 1) * dilation + 1
    if padding == "SAME":
        return (size + stride - 1) // stride
    return (size - effective + stride) // stride


def pick_padding(rng, sizes, kernels, dilations) -> str:
    """SAME or VALID, VALID only when every effective kernel fits the input."""
    fits = all((k - 1) * d + 1 <= s for s, k, d in zip(sizes, kernels, dilations))
    return str(rng.choice(["SAME", "VALID"])) if fits else "SAME"


def assert_float_matches_litert(model_bytes: bytes, inputs, rtol: float = 1e-5):
    """edgec's float outputs equal LiteRT's reference kernels' within ``rtol`` relative to
    each element, or to the output's largest magnitude where values cancel to near zero."""
    expected = run_litert(model_bytes, inputs, reference=True)
    actual = run_edgec_tflite(model_bytes, inputs)
    assert len(expected) == len(actual)
    for i, (e, a) in enumerate(zip(expected, actual)):
        assert e.shape == a.shape and e.dtype == a.dtype, \
            f"output {i}: expected {e.dtype}{list(e.shape)}, got {a.dtype}{list(a.shape)}"
        floor = rtol * max(float(np.max(np.abs(e), initial=0.0)), 1e-30)
        np.testing.assert_allclose(a, e, rtol=rtol, atol=floor, err_msg=f"output {i}")
    return expected
