"""Ternary weight packing: the byte layout of a ``ternary`` constant in C.

The contract (docs/IR.md, "Ternary weights"): a ``ternary`` tensor holds values in {-1, 0, +1}
(numpy keeps them in an int8 array). Flattened in C (row-major) order they are stored four per
byte: element ``4*i + k`` in bits ``2k`` and ``2k + 1`` of byte ``i`` (lowest pair first), each
as a 2-bit two's-complement number (``01`` = +1, ``00`` = 0, ``11`` = -1; ``10`` never
occurs); a count that is not a multiple of 4 leaves the last byte's high pairs 0.
"""

from __future__ import annotations

import numpy as np


def pack_ternary(values: np.ndarray) -> bytes:
    """Pack values in {-1, 0, 1} four per byte, lowest bit pair first."""
    flat = np.asarray(values).reshape(-1).astype(np.int64)
    if flat.size and (flat.min() < -1 or flat.max() > 1):
        raise ValueError(f"ternary values must lie in [-1, 1], got [{flat.min()}, {flat.max()}]")
    pairs = (flat & 0x3).astype(np.uint8)
    pairs = np.append(pairs, np.zeros(-pairs.size % 4, np.uint8)).reshape(-1, 4)
    packed = pairs[:, 0] | (pairs[:, 1] << 2) | (pairs[:, 2] << 4) | (pairs[:, 3] << 6)
    return packed.astype(np.uint8).tobytes()


def unpack_ternary(data: bytes, count: int) -> np.ndarray:
    """The ``count`` int8 values packed in ``data`` by ``pack_ternary``."""
    raw = np.frombuffer(data, np.uint8)
    if raw.size * 4 < count:
        raise ValueError(f"{raw.size} bytes cannot hold {count} ternary values")
    pairs = ((raw[:, None] >> np.array([0, 2, 4, 6], np.uint8)) & 3).reshape(-1).astype(np.int16)
    return ((pairs ^ 2) - 2)[:count].astype(np.int8)
