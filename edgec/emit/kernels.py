"""Lowered ``Kernel``s -> the private functions of the generated file, one per distinct body.

Nodes whose kernels have the same parameters and body (the same op on the same shapes) call
one function with their own constants. A function is named after what it computes: the op
and the output shape of its first node (``conv_2d_25x5x64``), with a number when two
different bodies would get the same name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edgec.cdefs import CParam, function_header
from edgec.lower.kernel import Kernel


@dataclass
class CFunction:
    """One generated kernel function: its C name, parameters, body, and the nodes calling it."""

    c_name: str
    params: list[CParam]
    body: str
    math: tuple[str, ...]
    helpers: tuple[str, ...]
    comments: list[str] = field(default_factory=list)

    def source(self, specifiers: str = "") -> str:
        """The ``static`` definition, beginning with ``specifiers`` (``NAME_KERNEL``)."""
        prefix = f"{specifiers} static void " if specifiers else "static void "
        return f"{function_header(self.c_name, self.params, prefix)}\n{self.body}"


def _shape_name(shape) -> str:
    dims = [str(d) for d in shape]
    while len(dims) > 1 and dims[0] == "1":  # a leading batch of 1 says nothing
        dims.pop(0)
    return "x".join(dims) or "scalar"


def distinct_functions(kernels: dict[int, Kernel], out_shapes: dict[int, tuple],
                       comments: dict[int, str], prefix: str):
    """``(by_step, functions)``: the function each step calls and the distinct functions in
    order of first use. ``kernels``, ``out_shapes`` and ``comments`` are by step."""
    by_body: dict[tuple, CFunction] = {}
    by_step: dict[int, CFunction] = {}
    names: set[str] = set()
    for step, kernel in kernels.items():
        if not kernel.params:
            raise ValueError(f"kernel {kernel.func_name} declares no parameters")
        expected = len(kernel.args) + (1 if kernel.scratch_bytes > 0 else 0)
        if len(kernel.params) != expected:
            raise ValueError(f"kernel {kernel.func_name} takes {len(kernel.params)} "
                             f"parameters, its arguments need {expected}")
        key = (tuple(kernel.params), kernel.body)
        fn = by_body.get(key)
        if fn is None:
            base = f"{prefix}_{kernel.op.lower()}_{_shape_name(out_shapes[step])}"
            name, n = base, 2
            while name in names:
                name, n = f"{base}_{n}", n + 1
            names.add(name)
            fn = by_body[key] = CFunction(name, list(kernel.params), kernel.body, kernel.math,
                                          kernel.helpers)
        fn.comments.append(comments[step])
        by_step[step] = fn
    return by_step, list(by_body.values())
