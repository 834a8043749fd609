"""Layout bookkeeping for the ONNX frontend: ONNX is NCHW, edgec's IR is NHWC.

Every ONNX activation is held in the IR in some axis order. A layout is a permutation ``perm``
with ``ir_array == onnx_array.transpose(perm)``; ``None`` means the ONNX order itself. Ops that
are layout-agnostic keep their input's layout, so a chain of convolutions stays NHWC without a
single TRANSPOSE; a layout is only changed ("materialized") where an op needs a specific one.
"""

from __future__ import annotations

NHWC = (0, 2, 3, 1)  # the IR order of an ONNX NCHW tensor


def is_identity(perm) -> bool:
    return perm is None or tuple(perm) == tuple(range(len(perm)))


def normalize(perm):
    """``None`` for the identity permutation, else the permutation as a tuple."""
    return None if is_identity(perm) else tuple(int(p) for p in perm)


def full(perm, rank: int) -> tuple[int, ...]:
    return tuple(range(rank)) if perm is None else tuple(perm)


def inverse(perm: tuple[int, ...]) -> tuple[int, ...]:
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return tuple(inv)


def permute_shape(shape, perm) -> tuple[int, ...]:
    """The IR shape of an ONNX tensor of ``shape`` held in layout ``perm``."""
    return tuple(shape) if perm is None else tuple(shape[p] for p in perm)


def relayout_perm(current, wanted, rank: int) -> tuple[int, ...]:
    """The TRANSPOSE perm turning an IR array in layout ``current`` into layout ``wanted``."""
    cur_inv = inverse(full(current, rank))
    return tuple(cur_inv[p] for p in full(wanted, rank))


def ir_axis(axis: int, perm, rank: int) -> int:
    """Where ONNX axis ``axis`` (possibly negative) lives in the IR array."""
    axis = axis % rank
    return full(perm, rank).index(axis)


def is_pure_reshape(shape, perm) -> bool:
    """True when transposing ``shape`` by ``perm`` moves no data: the non-unit dimensions
    keep their relative order, so a RESHAPE does the job of the TRANSPOSE."""
    moved = [p for p in perm if shape[p] != 1]
    return moved == sorted(moved)


def drop_axes(perm, axes, rank: int):
    """The layout left after removing ONNX ``axes`` from a tensor held in layout ``perm``."""
    kept = [p for p in full(perm, rank) if p not in axes]
    renumber = {p: i for i, p in enumerate(sorted(kept))}
    return normalize([renumber[p] for p in kept])
