"""TFLite resource variables -> IR variables (``edgec/ir/ops/variable.py``).

The TensorFlow converter writes a Keras layer with ``stateful=True`` with resource
variables: subgraph 0 starts with ``CALL_ONCE`` of an initialisation subgraph (``VAR_HANDLE``
and ``ASSIGN_VARIABLE`` of a constant, once per variable), then ``VAR_HANDLE`` names each
variable (by ``shared_name``), ``READ_VARIABLE`` reads its current value and
``ASSIGN_VARIABLE`` writes the value the next inference starts from. (A full-integer int8
model keeps its variables float: QUANTIZE after the read, DEQUANTIZE before the assignment.)

Imported as: one IR variable per ``shared_name``, a constant holding the initial value (the
initialisation subgraph's), read by one ``READ_VARIABLE`` node where the model first reads
it; a read after an assignment in the same inference reads the assigned tensor itself (as
TFLite's kernels see it); every ``ASSIGN_VARIABLE`` becomes a node. A variable with no
initial value, an initialisation that computes anything, or a handle that is not a
``VAR_HANDLE`` is refused.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from edgec.errors import EdgecError
from edgec.frontends.tflite_ops import converter
from edgec.frontends.tflite_schema import TfOp
from edgec.ir.graph import Node, QuantParams, Tensor, storage_dtype

OPS = ("CALL_ONCE", "VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE")
_HINT = ("edgec imports resource variables as the TensorFlow converter writes them for a Keras "
         "layer with stateful=True (CALL_ONCE assigning constants, VAR_HANDLE, READ_VARIABLE, "
         "ASSIGN_VARIABLE); or convert the layer with stateful=False")


class Variables:
    """The variables of one import: initial values, handles and what each holds now."""

    def __init__(self):
        self.initial: dict[str, tuple] = {}  # shared_name -> (array, TfTensor of the value)
        self.handles: dict[int, str] = {}  # subgraph-0 tensor index -> shared_name
        self.state: dict[str, str] = {}  # shared_name -> IR tensor (the variable)
        self.read: dict[str, int] = {}  # shared_name -> the tensor its first read wrote
        self.assigned: dict[str, int] = {}  # shared_name -> the tensor last assigned


def _variables(ctx) -> Variables:
    return ctx.variables


def _shared_name(ctx, op: TfOp) -> str:
    name = op.options.get("shared_name", b"")
    name = name.decode() if isinstance(name, bytes) else str(name)
    container = op.options.get("container", b"")
    container = container.decode() if isinstance(container, bytes) else str(container)
    if not name:
        raise EdgecError(f"{ctx.where(op)} has no shared_name", _HINT)
    return f"{container}/{name}" if container else name


def _handle(ctx, op: TfOp) -> str:
    """The variable ``op``'s input 0 names."""
    index = op.inputs[0] if op.inputs else -1
    variables = _variables(ctx)
    if index not in variables.handles:
        raise EdgecError(f"{ctx.where(op)} reads a resource that no VAR_HANDLE made", _HINT)
    return variables.handles[index]


def import_variable_op(ctx, op: TfOp) -> bool:
    """Import ``op`` when it is one of the resource-variable operators; whether it was."""
    if op.builtin not in OPS:
        return False
    if op.builtin == "CALL_ONCE":
        _call_once(ctx, op)
    elif op.builtin == "VAR_HANDLE":
        if len(op.outputs) != 1:
            raise EdgecError(f"{ctx.where(op)} has outputs {op.outputs}", _HINT)
        _variables(ctx).handles[op.outputs[0]] = _shared_name(ctx, op)
    else:
        ctx.graph.nodes.extend(_READ_ASSIGN[op.builtin](op, ctx))
    return True


def _call_once(ctx, op: TfOp) -> None:
    """The initial values: the initialisation subgraph assigns a constant to each variable."""
    index = op.options.get("init_subgraph_index", -1)
    if not 0 < index < len(ctx.model.subgraphs):
        raise EdgecError(f"{ctx.where(op)} runs subgraph {index}, which the model lacks",
                         "check the model file is not corrupt")
    sub = ctx.model.subgraphs[index]
    handles: dict[int, str] = {}
    variables = _variables(ctx)
    for init in sub.ops:
        where = f"operator {init.index} ({init.builtin}) of the initialisation subgraph {index}"
        if init.builtin == "VAR_HANDLE" and len(init.outputs) == 1:
            handles[init.outputs[0]] = _shared_name(ctx, init)
        elif init.builtin == "ASSIGN_VARIABLE" and len(init.inputs) == 2 \
                and init.inputs[0] in handles and init.inputs[1] >= 0 \
                and sub.tensors[init.inputs[1]].data is not None:
            value = sub.tensors[init.inputs[1]]
            variables.initial[handles[init.inputs[0]]] = (value.data, value)
        else:
            raise EdgecError(f"{where} computes an initial value: edgec takes initialisations "
                             "that assign constants to variables", _HINT)


def _variable_tensor(ctx, op: TfOp, name: str, like: int) -> str:
    """The IR variable ``name`` (made on first use), shaped and typed as tensor ``like``."""
    variables = _variables(ctx)
    if name in variables.state:
        return variables.state[name]
    if name not in variables.initial:
        raise EdgecError(f"{ctx.where(op)} uses variable '{name}', which the model never "
                         "initialises (no CALL_ONCE assigns it)", _HINT)
    data, init = variables.initial[name]
    t = ctx.tensor(like)
    if t.dtype is None or init.dtype != t.dtype or tuple(init.shape) != tuple(t.shape):
        raise EdgecError(f"{ctx.where(op)}: variable '{name}' is initialised with "
                         f"{init.type_name}{list(init.shape)} but used as "
                         f"{t.type_name}{list(t.shape)}", _HINT)
    quant = QuantParams(t.scale, t.zero_point) if t.scale is not None else None
    shape = tuple(int(d) for d in t.shape)
    array = np.asarray(data, dtype=storage_dtype(t.dtype)).reshape(shape)
    ir_name = ctx.graph.unique_name(name.replace("/", "_"))
    ctx.graph.add_tensor(Tensor(ir_name, shape, t.dtype, array.copy(), quant))
    variables.state[name] = ir_name
    return ir_name


@converter("READ_VARIABLE")
def _read(op: TfOp, ctx) -> list:
    name = _handle(ctx, op)
    variables = _variables(ctx)
    if len(op.outputs) != 1:
        raise EdgecError(f"{ctx.where(op)} has outputs {op.outputs}", _HINT)
    earlier = variables.assigned.get(name, variables.read.get(name))
    if earlier is not None:  # the value read before, or assigned, in this inference
        ctx.aliases[op.outputs[0]] = earlier
        return []
    state = _variable_tensor(ctx, op, name, op.outputs[0])
    variables.read[name] = op.outputs[0]
    return [Node("READ_VARIABLE", [state], [ctx.name(op.outputs[0])], {},
                 f"read_variable_{op.index}")]


@converter("ASSIGN_VARIABLE")
def _assign(op: TfOp, ctx) -> list:
    name = _handle(ctx, op)
    if len(op.inputs) != 2 or op.inputs[1] < 0:
        raise EdgecError(f"{ctx.where(op)} has inputs {op.inputs}", _HINT)
    value = op.inputs[1]
    state = _variable_tensor(ctx, op, name, value)
    _variables(ctx).assigned[name] = value
    # The node's output (what a later read sees): a tensor like the value, of its own.
    out = ctx.add_tensor(replace(ctx.tensor(value), name=f"{state}_assigned", data=None))
    return [Node("ASSIGN_VARIABLE", [state, ctx.name(value)], [ctx.name(out)], {},
                 f"assign_variable_{op.index}")]


_READ_ASSIGN = {"READ_VARIABLE": _read, "ASSIGN_VARIABLE": _assign}
