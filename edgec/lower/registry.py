"""The lowering-rule registry: one rule per (op, input dtype), registered by decorator.

A rule turns one IR node into a ``KernelPlan``: the C parameters in call order, the constant
arrays derived in Python (multipliers, shifts, folded biases, scalar parameters) and a
``build`` callable that produces the TE computation and its schedule. ``build`` runs only on a
cache miss, so a rule must not read quantization *values* inside it: those go into constants,
which keeps one C text valid for every node with the same shapes.

A *variant* (``lowering_variant``) is a faster rule for targets with a CPU feature (e.g.
``"dsp"``), TFLM-style: same node, same contract, chosen by the target; it returns ``None`` for
nodes it does not handle, which then take the portable rule. A variant may offer a speed/size
trade-off and reads the build's choice from ``ctx.optimize`` (``edgec.options.Optimize``); portable
rules ignore it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from edgec.cdefs import CParam
from edgec.ir import Graph, Node, Tensor, get_op
from edgec.ir.graph import kernel_key
from edgec.ir.registry import check_op_names


@dataclass
class LoweringContext:
    """What a rule sees: the node, its attributes with defaults, its tensors, the kernel name,
    and the build's ``optimize`` mode (``edgec.options.OPTIMIZE_MODES``)."""

    node: Node
    attrs: dict[str, Any]
    ins: list[Tensor | None]
    outs: list[Tensor]
    func_name: str
    optimize: str = "speed"

    @property
    def dtype(self) -> str:
        """The key kernels are chosen by: the first present input's ``kernel_key`` (its dtype,
        or ``plain_int8`` ... for an int8, uint8 or int16 tensor without quantization)."""
        return kernel_key(next(t for t in self.ins if t is not None))


@dataclass
class Param:
    """One C parameter: its name in the C text and the IR tensor or constant it receives."""

    c_name: str
    source: str


@dataclass
class Built:
    """The TE side of a kernel: tensors in C parameter order and the schedule to apply."""

    tensors: list  # tvm.te.Tensor, inputs then outputs, one per Param
    schedule: Callable  # (tvm.s_tir.Schedule) -> None


@dataclass
class KernelPlan:
    """A rule's answer: parameters, derived constants, and how to build the C on a cache miss.

    ``key`` lists everything besides shapes, dtypes and attributes that shapes the C text
    (e.g. a choice of accumulator type); ``c_template`` is set instead of ``build`` by rules
    whose C is rendered from Python (their docstring says why TE cannot express them): it
    renders the function's body, and ``signature`` declares its C parameters (types,
    constness, ``restrict``) as data. ``helpers`` names the shared helper blocks the body
    calls (``edgec.lower.templates.HELPERS``). ``in_place`` names the input parameters that
    may share the output's bytes (see ``same_layout_inputs``); they and the output parameters
    are printed without ``restrict`` (a ``signature`` must declare them that way itself).
    ``access`` is ``Kernel.access``: a promise about the C's loop order, not part of its text.
    """

    params: list[Param]
    constants: dict[str, np.ndarray] = field(default_factory=dict)
    build: Callable[[], Built] | None = None
    c_template: Callable[[], str] | None = None
    signature: list[CParam] | None = None
    helpers: tuple[str, ...] = ()
    key: tuple = ()
    scratch_bytes: int = 0  # > 0: the C function takes one more pointer, arena scratch
    in_place: tuple[str, ...] = ()
    access: str = ""  # Kernel.access: "raster" when the C keeps edgec.plan.overlap's order
    math: tuple[str, ...] = ()  # <math.h> functions a ``c_template`` body calls
    states: tuple[str, ...] = ()  # C parameters holding state kept between calls (SVDF)
    form: str = ""  # Kernel.form: which kernel this is, for the per-kernel cost model

    def unrestricted(self, node: Node) -> frozenset[str]:
        """The C parameters printed without ``restrict``: the ``in_place`` inputs and, when
        there are any, the outputs of ``node`` they may share bytes with."""
        if not self.in_place:
            return frozenset()
        outputs = {p.c_name for p in self.params if p.source in node.outputs}
        return frozenset(self.in_place) | outputs

    def in_place_tensors(self) -> list[str]:
        """The tensors fed to the ``in_place`` parameters, except one fed to two parameters:
        the other one is ``restrict`` or reads at other indices, so sharing it is unsafe."""
        sources = [p.source for p in self.params]
        return [p.source for p in self.params
                if p.c_name in self.in_place and sources.count(p.source) == 1]


def same_layout_inputs(ctx: LoweringContext, params: dict[str, int]) -> tuple[str, ...]:
    """Of ``params`` (C parameter name -> node input index), the ones fed by an activation
    of the output's shape and byte size, in order. For a kernel whose output element ``i``
    depends on input element ``i`` alone (elementwise, no broadcasting on that input), these
    are the inputs it may compute in place over: each element is read before the same
    element of the output is written and never after."""
    out = ctx.outs[0]
    return tuple(name for name, index in params.items()
                 if ctx.ins[index] is not None and ctx.ins[index].shape == out.shape
                 and ctx.ins[index].nbytes == out.nbytes)


Rule = Callable[[LoweringContext], KernelPlan]
Variant = Callable[[LoweringContext], "KernelPlan | None"]
_RULES: dict[tuple[str, str], Rule] = {}
_VARIANTS: dict[tuple[str, str, str], Variant] = {}


def lowering_rule(op: str, *dtypes: str):
    """Decorator registering ``fn(ctx) -> KernelPlan`` as the lowering of ``op`` for ``dtypes``."""

    def register(fn: Rule) -> Rule:
        check_op_names([op], f"lowering rule {fn.__name__}")
        for dtype in dtypes:
            if (op, dtype) in _RULES:
                raise ValueError(f"lowering rule for {op}/{dtype} defined twice")
            _RULES[(op, dtype)] = fn
        return fn

    return register


def lowering_variant(op: str, feature: str, *dtypes: str):
    """Decorator registering ``fn(ctx) -> KernelPlan | None`` as the lowering of ``op`` for
    ``dtypes`` on targets with CPU ``feature``; ``None`` declines the node (portable rule)."""

    def register(fn: Variant) -> Variant:
        check_op_names([op], f"lowering variant {fn.__name__}")
        for dtype in dtypes:
            if (op, dtype, feature) in _VARIANTS:
                raise ValueError(f"lowering variant for {op}/{dtype}/{feature} defined twice")
            _VARIANTS[(op, dtype, feature)] = fn
        return fn

    return register


def make_context(graph: Graph, node: Node, func_name: str,
                 optimize: str = "speed") -> LoweringContext:
    """The context of ``node`` in ``graph``, attributes completed with their defaults."""
    attrs = get_op(node.op).full_attrs(node)
    return LoweringContext(node, attrs, graph.input_tensors(node), graph.output_tensors(node),
                           func_name, optimize)


def registered_rule(op: str, dtype: str) -> Rule | None:
    """The portable rule registered for ``op`` with ``dtype`` inputs, if any."""
    return _RULES.get((op, dtype))


def registered_variant(op: str, dtype: str, feature: str) -> Variant | None:
    """The variant registered for ``op``/``dtype`` on targets with CPU ``feature``, if any."""
    return _VARIANTS.get((op, dtype, feature))


def registered_keys() -> list[tuple[str, str]]:
    """``(op, dtype)`` of every registered portable rule."""
    return list(_RULES)
