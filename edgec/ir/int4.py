"""int4 weight packing: the byte layout of an ``int4`` constant in a file or in C.

The contract (docs/IR.md, "int4 weights"): the tensor's values, flattened in C (row-major)
order, are stored two per byte; element ``2*i`` in the **low** nibble of byte ``i`` and element
``2*i + 1`` in its **high** nibble, each as a 4-bit two's-complement number; an odd count leaves
the last byte's high nibble 0. This is the order TFLite Micro unpacks
(``tensor_utils::UnpackDenseInt4IntoInt8``).
"""

from __future__ import annotations

import numpy as np


def pack_int4(values: np.ndarray) -> bytes:
    """Pack int values in [-8, 7] two per byte, low nibble first."""
    flat = np.asarray(values).reshape(-1).astype(np.int64)
    if flat.size and (flat.min() < -8 or flat.max() > 7):
        raise ValueError(f"int4 values must lie in [-8, 7], got [{flat.min()}, {flat.max()}]")
    nibbles = (flat & 0xF).astype(np.uint8)
    if nibbles.size % 2:
        nibbles = np.append(nibbles, np.uint8(0))
    return (nibbles[0::2] | (nibbles[1::2] << 4)).astype(np.uint8).tobytes()


def unpack_int4(data: bytes, count: int) -> np.ndarray:
    """The ``count`` int8 values (sign-extended) packed in ``data`` by ``pack_int4``."""
    raw = np.frombuffer(data, np.uint8)
    if raw.size * 2 < count:
        raise ValueError(f"{raw.size} bytes cannot hold {count} int4 values")
    nibbles = np.empty(raw.size * 2, np.int16)
    nibbles[0::2] = raw & 0xF
    nibbles[1::2] = raw >> 4
    return np.where(nibbles > 7, nibbles - 16, nibbles)[:count].astype(np.int8)
