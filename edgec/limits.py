"""Import bounds: sizes above these are refused at the model boundary (docs/LIMITS.md).

They sit far above any microcontroller model (the MLPerf Tiny models stay below 2**16
elements per tensor) and keep a corrupt or hostile file from making edgec allocate gigabytes,
run for minutes, or overflow the int32 index arithmetic of generated C.
"""

from __future__ import annotations

import math

from edgec.errors import EdgecError

MAX_DIM = 1 << 16  # one dimension of a tensor
MAX_ELEMENTS = 1 << 24  # elements of one tensor
MAX_RANK = 8  # dimensions of one tensor
MAX_WINDOW = 1 << 12  # kernel size, stride, dilation and each pad of a window op
MAX_NODES = 1 << 14  # operators in one model
MAX_MACS = 1 << 27  # multiply-accumulates of one inference (MLPerf Tiny: at most ~12.5 M)
MIN_SCALE, MAX_SCALE = 1e-30, 1e30  # a quantization scale, finite and positive

_HINT = "edgec's limits are listed in docs/LIMITS.md; check the model file is not corrupt"


def check_shape(what: str, shape) -> tuple[int, ...]:
    """``shape`` as a tuple, or an ``EdgecError`` naming ``what`` and the limit it breaks."""
    shape = tuple(int(d) for d in shape)
    if len(shape) > MAX_RANK:
        raise EdgecError(f"{what} has rank {len(shape)}, above the limit of {MAX_RANK}", _HINT)
    for d in shape:
        if d > MAX_DIM:
            raise EdgecError(f"{what} has dimension {d} in {list(shape)}, above the limit of "
                             f"{MAX_DIM}", _HINT)
    if all(d > 0 for d in shape) and math.prod(shape) > MAX_ELEMENTS:
        raise EdgecError(f"{what} has {math.prod(shape):,} elements {list(shape)}, above the "
                         f"limit of {MAX_ELEMENTS:,}", _HINT)
    return shape


def check_window(what: str, name: str, values, low: int = 0) -> None:
    """Each of a window attribute's ``values`` (kernel, strides, dilations, pads) in
    [low, MAX_WINDOW]."""
    for v in values:
        if not low <= int(v) <= MAX_WINDOW:
            raise EdgecError(f"{what} has {name} {list(map(int, values))}; each must be in "
                             f"[{low}, {MAX_WINDOW}]", _HINT)


def check_scales(what: str, scale) -> None:
    """Quantization scales finite, positive and within [MIN_SCALE, MAX_SCALE]."""
    import numpy as np

    s = np.asarray(scale, np.float64).reshape(-1)
    bad = ~np.isfinite(s) | (s < MIN_SCALE) | (s > MAX_SCALE)
    if s.size == 0 or bad.any():
        value = s[bad][0] if bad.any() else "none"
        raise EdgecError(f"{what} has quantization scale {value}; scales must be finite and in "
                         f"[{MIN_SCALE:g}, {MAX_SCALE:g}]", "check the model file is not "
                         "corrupt; re-quantize the model")
