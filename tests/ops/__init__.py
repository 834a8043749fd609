"""Op-by-op tests: single-op TFLite models built with ``tests.tflite_builder``, run by edgec's
importer + reference interpreter and compared with TFLite Micro (int8, bit-exact) or LiteRT's
reference kernels (float32, 1e-5 relative).

The helpers below draw the random pieces every op test needs: quantization parameters, int8
data, per-channel weights with a matching int32 bias, and TFLite's window geometry; and build
the single-input single-output model of a unary op.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.refs import run_edgec_tflite, run_litert
from tests.tflite_builder import TFLiteBuilder

MODELS = Path(__file__).resolve().parents[3] / "shared" / "models"

ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")


def int8_data(rng, shape) -> np.ndarray:
    """Uniform int8 values over the whole range, including -128 and 127."""
    return rng.integers(-128, 128, size=shape, dtype=np.int64).astype(np.int8)


def float_data(rng, shape) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def every_code(rng, shape=(2, 128)) -> np.ndarray:
    """All 256 int8 codes, shuffled into ``shape``."""
    return (rng.permutation(256) - 128).astype(np.int8).reshape(shape)


def random_data(rng, shape, dtype: str) -> np.ndarray:
    """``int8_data`` for int8, ``float_data`` for float32."""
    return int8_data(rng, shape) if dtype == "int8" else float_data(rng, shape)


def act_quant(rng) -> tuple[float, int]:
    """A random activation (scale, zero point): scale over three decades, any zero point."""
    return float(np.float32(10.0 ** rng.uniform(-2.5, 0.5))), int(rng.integers(-128, 128))


def quant_kwargs(rng, dtype: str) -> dict:
    """``TFLiteBuilder.tensor`` keywords of a random activation quantization (int8), or none."""
    return dict(zip(("scale", "zero_point"), act_quant(rng))) if dtype == "int8" else {}


def pick_activation(rng) -> str:
    """A fused activation, NONE and RELU more often than the narrow clamps."""
    return str(rng.choice(ACTIVATIONS, p=[0.4, 0.3, 0.15, 0.15]))


def conv_quant(rng, taps: int, channels: int, per_channel: bool, activation: str):
    """``((x_scale, x_zp), weight_scales, (y_scale, y_zp))`` for a conv-like op.

    With RELU6 / RELU_N1_TO_1 the output covers the clamp range, as converters choose it.
    Weight scales (one, or one per channel) then make a typical accumulator (``taps``
    products of roughly 74 x 74 codes) span about +-40 output codes, times a random factor
    of up to 3 either way so that some outputs clamp.
    """
    x_q = act_quant(rng)
    jitter = float(rng.uniform(0.8, 1.25))
    if activation == "RELU6":
        y_q = (float(np.float32(6.0 / 255 * jitter)), -128 + int(rng.integers(0, 8)))
    elif activation == "RELU_N1_TO_1":
        y_q = (float(np.float32(2.0 / 255 * jitter)), int(rng.integers(-8, 8)))
    else:
        y_q = act_quant(rng)
    typical = y_q[0] * 40.0 / (np.sqrt(taps) * 74.0 * 74.0 * x_q[0])
    n = channels if per_channel else 1
    w_scales = (typical * 2.0 ** rng.uniform(-1.6, 1.6, n)).astype(np.float32)
    return x_q, w_scales, y_q


def int8_weights(rng, shape) -> np.ndarray:
    """Symmetric int8 weights in [-127, 127], as TFLite's converter produces them."""
    return rng.integers(-127, 128, size=shape, dtype=np.int64).astype(np.int8)


def int32_bias(rng, channels: int, magnitude: int = 5000) -> np.ndarray:
    return rng.integers(-magnitude, magnitude + 1, channels).astype(np.int32)


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


def conv_window(rng, g: dict) -> dict:
    """Add a random convolution window to geometry ``g`` (which has ``h``, ``w``): kernel
    ``kh``/``kw``, strides ``sh``/``sw``, dilations ``dh``/``dw``, ``padding`` and the output
    size ``oh``/``ow``."""
    g.update(kh=int(rng.integers(1, 5)), kw=int(rng.integers(1, 5)),
             sh=int(rng.integers(1, 4)), sw=int(rng.integers(1, 4)),
             dh=int(rng.integers(1, 3)), dw=int(rng.integers(1, 3)))
    g["padding"] = pick_padding(rng, (g["h"], g["w"]), (g["kh"], g["kw"]), (g["dh"], g["dw"]))
    g["oh"] = window_out(g["h"], g["kh"], g["sh"], g["dh"], g["padding"])
    g["ow"] = window_out(g["w"], g["kw"], g["sw"], g["dw"], g["padding"])
    return g


def unary_model(op, shape, in_q, out_q):
    """A single-op model; ``in_q``/``out_q`` are (scale, zero point) or None for float32."""
    b = TFLiteBuilder()
    tensors = []
    for name, q in (("x", in_q), ("y", out_q)):
        if q is None:
            tensors.append(b.tensor(name, shape, "float32"))
        else:
            tensors.append(b.tensor(name, shape, "int8", scale=q[0], zero_point=q[1]))
    b.op(op, [tensors[0]], [tensors[1]])
    return b.build(inputs=[tensors[0]], outputs=[tensors[1]])


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


def model_macs(file_name: str) -> tuple[int, set[str]]:
    """Total MACs of a shared model after edgec's import, and the ops it contains."""
    from edgec.frontends.tflite import load_tflite
    from edgec.ir import get_op

    graph = load_tflite((MODELS / file_name).read_bytes())
    total = sum(get_op(n.op).macs(n, graph.input_tensors(n), graph.output_tensors(n))
                for n in graph.nodes)
    return total, {n.op for n in graph.nodes}
