"""The op registry: one ``OpDef`` per op, holding its attributes, shape inference, MAC count,
reference kernels (one per input dtype) and the facts other stages ask about it (memory
planning, channel tracing, post-training quantization).

An op lives in one file under ``edgec/ir/ops/``: it calls ``define_op`` once and decorates
its kernels with ``@kernel(OP, dtype)``. Nothing else in the code base lists ops: a stage that
needs to know something about an op asks its ``OpDef`` (see docs/IR.md "Op facts").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from edgec.errors import EdgecError
if TYPE_CHECKING:  # the graph module asks the registry to complete a node's attributes
    from edgec.ir.graph import Node, Tensor

REQUIRED = object()  # marks an attribute without a default

# The dtypes an op declares by default: its reference kernels and lowering rules cover these.
NUMERIC_DTYPES = ("float32", "int8")
# Ops that only move bytes declare these: float32, quantized int8/uint8/int16, plain integers.
MOVE_DTYPES = ("float32", "int8", "uint8", "int16", "plain_int8", "plain_uint8", "plain_int16",
               "uint16", "int32", "uint32", "int64", "uint64")


class Ptq(str, Enum):
    """How post-training quantization chooses an op's int8 output quantization."""

    CALIBRATE = "calibrate"  # from the calibrated range of the output
    SAME_AS_INPUT = "same_as_input"  # input 0's: the op moves or selects values, never rescales
    SHARED_INPUTS = "shared_inputs"  # inputs and output share one (the union of their ranges)
    FIXED = "fixed"  # TFLite fixes it: ``OpDef.fixed_quant``
    NOT_IN_FLOAT = "not_in_float"  # the op cannot appear in a float graph (QUANTIZE, ...)
    RECURRENT = "recurrent"  # a rule of ``edgec.quantize.recurrent`` quantizes the op from its
    # calibrated internal states (the LSTM: TFLM's integer LSTM)
    DECOMPOSE = "decompose"  # ``edgec.quantize.recurrent`` first rewrites the op into float
    # primitive ops, which PTQ then quantizes one by one (the GRU)
    FLOAT_STATE = "float_state"  # the op reads or writes a variable, which stays float:
    # QUANTIZE after the read, DEQUANTIZE before the assignment (as the TFLite converter
    # writes an int8 Keras stateful=True layer; READ_VARIABLE, ASSIGN_VARIABLE)
    FLOAT = "float"  # TFLite Micro has no integer kernel: the op stays float32 between a
    # DEQUANTIZE of each quantized input and a QUANTIZE of each float output (EXP, LOG, SQRT,
    # CAST, ...; as the converter leaves CAST); consecutive float ops share float tensors
    UNSUPPORTED = "unsupported"  # edgec's PTQ refuses the op


class Channels(str, Enum):
    """How an op's last-axis channels flow, for dead-channel removal and pruning
    (``edgec.passes.channel_trace``)."""

    OPAQUE = "opaque"  # output channels mix input channels: a trace stops here (default)
    SAME = "same"  # output channel c from input 0's channel c alone (see ``keeps_channels``)
    CONST_OPERAND = "const_operand"  # like SAME when the other operand is constant per channel
    DEPTHWISE = "depthwise"  # input channel c feeds outputs c*M .. c*M+M-1
    CONCAT = "concat"  # on the last axis, input channels land at the input's offset
    LAYER = "layer"  # weights reduce over input channels: all-zero filters start a trace, a
    # traced input channel ends at the layer (folded into its bias)


@dataclass
class KernelCall:
    """What a reference kernel sees: the node, its input arrays and the tensor metadata."""

    node: Node
    inputs: list[np.ndarray | None]
    in_tensors: list[Tensor | None]
    out_tensors: list[Tensor]

    @property
    def attrs(self) -> dict[str, Any]:
        return self.node.attrs

    def in_q(self, i: int):
        return self.in_tensors[i].quant

    def out_q(self, i: int = 0):
        return self.out_tensors[i].quant


ShapeFn = Callable[["Node", "list[Tensor | None]"], "list[tuple[int, ...]]"]
MacsFn = Callable[["Node", "list[Tensor | None]", "list[Tensor]"], int]
KernelFn = Callable[[KernelCall], list[np.ndarray]]


@dataclass
class OpDef:
    """Everything edgec knows about one op, in one place (fields: docs/IR.md "Op facts")."""

    name: str
    attrs: dict[str, Any]
    infer_shapes: ShapeFn
    macs: MacsFn
    doc: str = ""
    kernels: dict[str, KernelFn] = field(default_factory=dict)
    dtypes: tuple[str, ...] = NUMERIC_DTYPES  # input dtypes with a kernel and a lowering rule
    min_inputs: int = 1  # inputs that must be present (the rest are optional)
    ranks: tuple[int | None, ...] = ()  # rank each leading input must have (None: any)
    requantizes: bool = False  # the integer kernel computes with scales and zero points
    retypes: bool = False  # the output dtype may differ from input 0's (int8 -> int16 ...)
    converts: bool = False  # mixes float and integer tensors (QUANTIZE, DEQUANTIZE)
    casts: bool = False  # the output is input 0's values in another type, float32 or plain
    # integers, none quantized (CAST)
    # bool tensors (docs/IR.md "bool tensors"): the inputs (by index) that are bool, and
    # whether the output is; the other inputs and outputs share one float32 or plain type.
    bool_inputs: tuple[int, ...] = ()
    bool_output: bool = False
    elementwise: bool = False  # output element i from input element i only: in-place safe
    alias: bool = False  # the output is a byte copy of input 0 (shares its buffer)
    # (node, ins, outs) -> byte offset at which the output is a contiguous range of input 0's
    # bytes (a slice along the outermost non-unit axis), or None for this node (``view``);
    # (node, ins, outs) -> byte offset of each input inside the output (a join along the
    # outermost non-unit axis), or None (``gathers``). The planner may alias them: no copy.
    view: Callable[[Node, list, list], int | None] | None = None
    gathers: Callable[[Node, list, list], list[int] | None] | None = None
    channels: Channels = Channels.OPAQUE
    keeps_channels: Callable[[Node, int], bool] | None = None  # (node, rank) for SAME
    ptq: Ptq = Ptq.CALIBRATE
    fixed_quant: tuple[float, int] | None = None  # (scale, zero point) for Ptq.FIXED
    fixed_quant_int16: tuple[float, int] | None = None  # the same for int16 activations
    # (node, quantization of each input, None for bool / plain ones) -> whether the integer
    # kernel takes them (TFLM's Prepare would); PTQ keeps a node it refuses float (Ptq.FLOAT)
    ptq_accepts: Callable[[Node, list], bool] | None = None
    weight_axis: int | None = None  # input 1 holds weights, per-channel on this axis
    int4_weights: bool = False  # TFLite Micro takes int4 weights for this op
    identity_when: Callable[[Node, int], bool] | None = None  # (node, input rank): the output
    # repeats input 0 when their shape, dtype and quantization agree (``passes.identity``)
    ternary_weights: bool = False  # edgec's packed kernels take ternary weights (docs/IR.md)
    exempt: dict[str, str] = field(default_factory=dict)  # completeness check -> reason
    # The dispatch keys (``graph.kernel_key``) the TFLite builtin computes as edgec does, when
    # not all of ``dtypes`` (TFLite's ADD takes no plain uint16): export refuses the others.
    tflite_dtypes: tuple[str, ...] | None = None
    # A stateful op (SVDF): (call) -> {input index: its value for the next inference}; the
    # input holds the initial state (docs/IR.md "Recurrent state").
    updates_state: Callable[[KernelCall], dict[int, np.ndarray]] | None = None
    # A recurrent op whose state is per sequence unless asked to carry it (``--recurrent-state
    # carry``, ``edgec.passes.recurrent_state``): the inputs holding its initial states; the
    # op then takes the attribute ``carry_state`` and its ``updates_state`` returns them.
    carries_state: tuple[int, ...] = ()

    def stateful(self, node: Node) -> bool:
        """``node`` reads or writes persistent state (``updates_state``; a recurrent op only
        with ``carry_state``): it runs every inference, so passes neither fold it (a state
        input is a constant only in the IR, where it holds the initial value) nor drop it
        when nothing reads its outputs."""
        return self.updates_state is not None and (
            not self.carries_state or bool(node.attrs.get("carry_state")))

    def kernel_for(self, dtype: str) -> KernelFn:
        if dtype not in self.kernels:
            raise EdgecError(
                f"op {self.name} has no reference kernel for {dtype} inputs",
                f"supported input dtypes: {', '.join(sorted(self.kernels)) or 'none'}",
            )
        return self.kernels[dtype]

    def full_attrs(self, node: Node) -> dict[str, Any]:
        """The node's attributes with defaults filled in; unknown or missing ones raise."""
        unknown = set(node.attrs) - set(self.attrs)
        if unknown:
            raise EdgecError(
                f"node '{node.name}' ({self.name}) has unknown attribute(s) {sorted(unknown)}",
                f"{self.name} takes: {', '.join(sorted(self.attrs)) or 'no attributes'}",
            )
        result = {}
        for key, default in self.attrs.items():
            if key in node.attrs:
                result[key] = node.attrs[key]
            elif default is REQUIRED:
                raise EdgecError(f"node '{node.name}' ({self.name}) lacks attribute '{key}'")
            else:
                result[key] = default
        return result


_OPS: dict[str, OpDef] = {}


def _no_macs(node, ins, outs) -> int:
    return 0


def define_op(name: str, *, attrs: dict[str, Any] | None = None, infer_shapes: ShapeFn,
              macs: MacsFn | None = None, doc: str = "", **facts: Any) -> OpDef:
    """Register an op. Called once per op, at import of its module in ``edgec.ir.ops``;
    ``facts`` are the other ``OpDef`` fields (docs/IR.md "Op facts")."""
    if name in _OPS:
        raise ValueError(f"op {name} defined twice")
    op = OpDef(name, dict(attrs or {}), infer_shapes, macs or _no_macs, doc, **facts)
    if (op.ptq is Ptq.FIXED) != (op.fixed_quant is not None):
        raise ValueError(f"op {name}: fixed_quant goes with ptq=Ptq.FIXED and only with it")
    _OPS[name] = op
    return op


def kernel(op_name: str, *dtypes: str):
    """Decorator registering a reference kernel of ``op_name`` for the given input dtypes."""

    def register(fn: KernelFn) -> KernelFn:
        if op_name not in _OPS:
            raise ValueError(f"reference kernel {fn.__name__} is for op {op_name}, which is not "
                             "defined (define_op must come first in the op's module)")
        op = _OPS[op_name]
        for dtype in dtypes:
            op.kernels[dtype] = fn
        return fn

    return register


def get_op(name: str) -> OpDef:
    """The definition of ``name``; an unknown name raises listing the registered ops."""
    if name not in _OPS:
        raise EdgecError(f"unknown op '{name}'", f"registered ops: {', '.join(registered_ops())}")
    return _OPS[name]


def check_op_names(names, where: str) -> None:
    """Raise at registration time when ``where`` (a rule, converter, emitter ...) names an op
    the registry does not define, listing the defined ones."""
    unknown = sorted(set(names) - set(_OPS))
    if unknown:
        raise ValueError(f"{where} names unknown op(s) {', '.join(unknown)}; "
                         f"defined ops: {', '.join(sorted(_OPS))}")


def plain_ops() -> list[str]:
    """Ops without attributes: each imports from and exports to the TFLite builtin of the
    same name with nothing to translate (e.g. TANH, HARD_SWISH). An op exempt from export
    (no TFLite builtin, e.g. ERF) is not one."""
    return [name for name in registered_ops()
            if not _OPS[name].attrs and "export" not in _OPS[name].exempt]


def registered_ops() -> list[str]:
    return sorted(_OPS)
