"""What lowering hands to the memory planner and the C emitter (plain data, no tvm)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edgec.cdefs import CParam, function_header


@dataclass
class Kernel:
    """One C function computing one IR node, its signature as data.

    ``params`` are the C parameters, one per argument (plus the scratch pointer last), with
    their element types and constness; ``body`` is the function's block (``{ ... }``), which
    never names the function, so kernels with equal ``params`` and ``body`` are one function.
    ``math`` lists the <math.h> functions the body calls; ``helpers`` the shared helper
    blocks it needs (``edgec.lower.templates.HELPERS``), emitted once per generated file.

    ``args`` are IR tensor names in call order (inputs first, then outputs); constant tensors
    among them, and the extra ``constants`` the lowering derived (requantization multipliers,
    shifts, rearranged weights, folded biases), are emitted as ``static const`` arrays.
    ``scratch_bytes`` > 0 means the function takes one more pointer: scratch in the arena.
    ``in_place`` names the input tensors whose bytes the output may overwrite: the C reads
    each of their elements only while computing the output element at the same index, and
    neither they nor the output are ``restrict``, so the planner may pass one pointer for
    both. ``access`` describes the order of the kernel's reads and writes when the planner
    may overlap its output with its input beyond that: ``"raster"`` (``edgec.plan.overlap``:
    output pixels completed in raster order, each written only while it is computed, reading
    only its receptive field; ``"raster_buffered"``: each pixel's window read into scratch
    before its first write); empty when it promises nothing.
    """

    node_name: str
    op: str
    func_name: str
    body: str
    args: list[str]
    constants: dict[str, np.ndarray] = field(default_factory=dict)
    scratch_bytes: int = 0
    macs: int = 0
    in_place: list[str] = field(default_factory=list)
    access: str = ""
    params: list[CParam] = field(default_factory=list)
    math: tuple[str, ...] = ()
    helpers: tuple[str, ...] = ()
    states: tuple[str, ...] = ()  # args the kernel updates in place and that persist between
    # calls (a stateful op's state): the emitter passes static buffers, reset by NAME_reset
    form: str = ""  # which kernel: the template of a DSP variant (``dsp/conv_rows.c.j2``),
    # empty for the portable rules; the cost model has a line per form (``edgec.estimate``)

    @property
    def c_source(self) -> str:
        """The function on its own: ``void func_name(params)`` and the body."""
        return f"{function_header(self.func_name, self.params)}\n{self.body}"
