"""What lowering hands to the memory planner and the C emitter (plain data, no tvm)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Kernel:
    """One C function computing one IR node.

    ``args`` are IR tensor names in call order (inputs first, then outputs); constant tensors
    among them, and the extra ``constants`` the lowering derived (requantization multipliers,
    shifts, rearranged weights, folded biases), are emitted as ``static const`` arrays.
    ``scratch_bytes`` > 0 means the function takes one more pointer: scratch in the arena.
    ``in_place`` names the input tensors whose bytes the output may overwrite: the C reads
    each of their elements only while computing the output element at the same index, and
    neither they nor the output are ``restrict``, so the planner may pass one pointer for
    both.
    """

    node_name: str
    op: str
    func_name: str
    c_source: str
    args: list[str]
    constants: dict[str, np.ndarray] = field(default_factory=dict)
    scratch_bytes: int = 0
    macs: int = 0
    in_place: list[str] = field(default_factory=list)
