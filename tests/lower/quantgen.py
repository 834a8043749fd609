"""Random quantization parameters for lowering tests, including saturation corners."""

from __future__ import annotations

import numpy as np

from edgec.ir import QuantParams, Tensor


def act_q(rng, corner: str = "") -> QuantParams:
    """Per-tensor activation quantization: random scale and zero point; ``corner`` "tiny"
    makes the scale so small that outputs saturate, "huge" so large that they collapse."""
    scale = {"tiny": 1e-6, "huge": 1e3}.get(corner, float(rng.uniform(0.005, 0.2)))
    return QuantParams(np.float32(scale), int(rng.integers(-128, 128)))


def weight_tensor(rng, name: str, shape, axis: int, per_channel: bool = True) -> Tensor:
    """Symmetric int8 weights, per-channel on ``axis`` (or per-tensor) with random scales."""
    data = rng.integers(-127, 128, shape).astype(np.int8)
    n = shape[axis] if per_channel else 1
    scales = rng.uniform(0.001, 0.05, n).astype(np.float32)
    return Tensor(name, shape, "int8", data,
                  QuantParams(scales, np.zeros(n, np.int64), axis if per_channel else None))


def bias_tensor(rng, name: str, n: int, corner: str = "") -> Tensor:
    """int32 bias; ``corner`` "extreme" puts values next to INT32_MIN/INT32_MAX."""
    if corner == "extreme":
        data = rng.choice([-(1 << 31), -(1 << 31) + 5, (1 << 31) - 1, (1 << 31) - 7], n)
    else:
        data = rng.integers(-5000, 5000, n)
    return Tensor(name, (n,), "int32", data.astype(np.int32), QuantParams(1e-4, 0))
