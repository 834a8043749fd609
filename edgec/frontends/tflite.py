"""The TFLite frontend: ``.tflite`` bytes -> IR ``Graph`` (subgraph 0).

Reading the flatbuffer is ``tflite_schema``; constant shape computations are evaluated by
``tflite_fold``; WHILE loops with a static number of steps are unrolled by ``tflite_loop``;
resource variables (CALL_ONCE, VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE) are
``tflite_variables``'; every other operator goes through its converter in ``tflite_ops.CONVERTERS``.
The frontend only imports: the graph is the model as written, operator by operator. Rewrites
(dilated convolutions written as SPACE_TO_BATCH_ND -> conv -> BATCH_TO_SPACE_ND become one
convolution, among others) are ``edgec.passes.PIPELINE``'s, run once by ``edgec build``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from edgec.errors import EdgecError
from edgec.frontends.tflite_fold import FOLDERS, can_fold
from edgec.frontends.tflite_loop import LOOP_HINT, unroll_while
from edgec.frontends.tflite_ops import CONVERTERS, RANKS, REQUIRED_INPUTS
from edgec.frontends.tflite_schema import TfModel, TfOp, TfTensor, read_model
from edgec.frontends.tflite_variables import Variables, import_variable_op
from edgec.ir import Graph, Node, QuantParams, Tensor, check_graph
from edgec.ir.graph import storage_dtype

# Operators that run other subgraphs; edgec unrolls WHILE loops (tflite_loop) only (and
# takes CALL_ONCE initialising resource variables, tflite_variables).
_CONTROL_FLOW = {"WHILE", "IF", "CALL"}


def load_tflite(data: bytes, name: str = "model") -> Graph:
    """The checked graph of a TFLite model exactly as written, operator by operator."""
    model = read_model(data, name)
    ctx = ImportContext(model, name)
    for op in model.ops:
        ctx.import_op(op)
    return check_graph(ctx.finish())


class ImportContext:
    """The state of one import: the graph being built and the constants known so far."""

    def __init__(self, model: TfModel, name: str):
        self.model = model
        self.graph = Graph(name=name)
        # Subgraph 0's tensors, then the copies made for inlined loop bodies (tflite_loop).
        self.tensors: list[TfTensor] = list(model.tensors)
        self._names: dict[int, str] = {}  # TFLite tensor index -> IR tensor name
        self._folded: dict[int, np.ndarray] = {}  # tensors computed at import
        self.aliases: dict[int, int] = {}  # a WHILE output -> the tensor its last step wrote
        self.empty: set[int] = set()  # tensors with no elements (slices of length 0)
        self.subgraph_constants: dict[int, dict[int, int]] = {}  # loop weights, per subgraph
        self.open_subgraphs: set[int] = set()  # those of the loops being unrolled
        self.unrolled_ops = 0  # operators imported from loop subgraphs so far
        self.variables = Variables()  # resource variables (tflite_variables)

    # -- used by converters --------------------------------------------------------------

    def tensor(self, index: int) -> TfTensor:
        """The file's tensor ``index`` (shape, type, data, quantization)."""
        return self.tensors[index]

    def where(self, op: TfOp) -> str:
        """How error messages name an operator: its index and first output tensor."""
        out = self.tensor(op.outputs[0]).name if op.outputs else "?"
        return f"{_label(op)} ({op.builtin}, output '{out}')"

    def add_tensor(self, t: TfTensor) -> int:
        """Append a tensor (a loop body's, copied for one step) and return its new index."""
        self.tensors.append(replace(t, index=len(self.tensors)))
        return len(self.tensors) - 1

    def const(self, op: TfOp, position: int) -> np.ndarray:
        """The value of ``op``'s input ``position``, which must be constant."""
        index = op.inputs[position] if position < len(op.inputs) else -1
        value = self._value(index)
        if value is None:
            raise EdgecError(f"{self.where(op)}: input {position} must be constant, "
                             "it is computed at run time",
                             "edgec needs static shapes and parameters; re-export the model "
                             "with fixed input shapes")
        return value

    def node(self, op: TfOp, ir_op: str, inputs: list[int], attrs: dict) -> Node:
        """An IR node reading ``inputs`` (TFLite indices, -1 absent) and writing op's outputs."""
        return Node(ir_op, [self.name(i) for i in inputs], [self.name(o) for o in op.outputs],
                    attrs, f"{op.builtin.lower()}_{op.index}")

    def name(self, index: int) -> str:
        """The IR name of TFLite tensor ``index``, adding the tensor to the graph on first use."""
        if index < 0:
            return ""
        if index not in self._names:
            t = self.tensor(index)
            ir_name = self.graph.unique_name(t.name)
            self.graph.add_tensor(self._ir_tensor(t, ir_name))
            self._names[index] = ir_name
        return self._names[index]

    # -- the import itself ---------------------------------------------------------------

    def import_op(self, op: TfOp) -> None:
        """Fold ``op`` into constants when possible, otherwise convert it to IR nodes; a
        WHILE loop with a trip count known at import is unrolled (``tflite_loop``)."""
        op = self._resolved(op)
        if import_variable_op(self, op):
            return
        if op.builtin == "WHILE" and len(self.model.subgraphs) > 1:
            unroll_while(self, op)
            return
        if self.fold(op):
            return
        convert = CONVERTERS.get(op.builtin)
        if convert is None:
            raise self._unsupported(op)
        self._check_operands(op)
        self._refuse_hybrid(op)
        self.graph.nodes.extend(convert(op, self))

    def _check_operands(self, op: TfOp) -> None:
        """What the converter will read exists: required inputs, static shapes, ranks."""
        required = REQUIRED_INPUTS.get(op.builtin, 1)
        if len(op.inputs) < required or any(i < 0 for i in op.inputs[:required]) \
                or not op.outputs:
            raise EdgecError(f"{self.where(op)} has inputs {op.inputs} and outputs "
                             f"{op.outputs}; it needs {required} input(s) and an output",
                             "check the model file is not corrupt")
        for i in (*op.inputs, *op.outputs):
            if i >= 0:
                self._static_shape(self.tensor(i))
        for position, rank in RANKS.get(op.builtin, {}).items():
            shape = self.tensor(op.inputs[position]).shape
            if len(shape) != rank:
                raise EdgecError(f"{self.where(op)}: input {position} has shape {list(shape)}, "
                                 f"{op.builtin} needs rank {rank}",
                                 "check the model file is not corrupt")

    def _refuse_hybrid(self, op: TfOp) -> None:
        """A "hybrid" (dynamic-range) op: float activations, int8 constant weights. LiteRT
        quantizes the activations at run time there; edgec does not, so it refuses."""
        ins = [self.tensor(i) if i >= 0 else None for i in op.inputs]
        if not ins or ins[0] is None or ins[0].type_name != "FLOAT32" or any(
                self.tensor(o).type_name != "FLOAT32" for o in op.outputs):
            return
        if any(t is not None and t.type_name == "INT8" and self._value(t.index) is not None
               for t in ins[1:]):
            raise EdgecError(
                f"{op.builtin} ({_label(op)}) takes float "
                "activations with int8 weights: a dynamic-range (hybrid) model, which edgec "
                "does not compile",
                "convert for full-integer int8 (converter.optimizations = [tf.lite.Optimize."
                "DEFAULT] plus converter.representative_dataset), or as float without "
                "optimizations")

    def finish(self) -> Graph:
        """Set graph inputs and outputs and drop tensors nothing uses."""
        self.graph.inputs = [self.name(i) for i in self.model.inputs
                             if self.tensor(i).data is None]
        self.graph.outputs = [self.name(self.aliases.get(i, i)) for i in self.model.outputs]
        self.graph.remove_unused_tensors()
        return self.graph

    def _resolved(self, op: TfOp) -> TfOp:
        """``op`` reading, for each WHILE output, the tensor the loop's last step wrote; a
        CONCATENATION skips inputs without elements (a loop's first and last slices)."""
        inputs = [self.aliases.get(i, i) for i in op.inputs]
        if op.builtin == "CONCATENATION":
            inputs = [i for i in inputs if i not in self.empty]
        empty = [i for i in inputs if i in self.empty]
        if empty:
            raise EdgecError(f"{self.where(op)} reads '{self.tensor(empty[0]).name}', which "
                             "has no elements", "edgec needs non-empty static tensors")
        return op if inputs == op.inputs else replace(op, inputs=inputs)

    def value(self, index: int) -> np.ndarray | None:
        """The value of tensor ``index`` when known at import (a constant or folded)."""
        return self._value(index)

    def _value(self, index: int) -> np.ndarray | None:
        if index < 0:
            return None
        if index in self._folded:
            return self._folded[index]
        return self.tensor(index).data

    def fold(self, op: TfOp) -> bool:
        """Evaluate ``op`` at import when ``tflite_fold`` can; whether it did."""
        ins = [self.tensor(i) if i >= 0 else None for i in op.inputs]
        present = [t for t in ins if t is not None]
        if len(op.outputs) != 1 or not present:
            return False
        out = self.tensor(op.outputs[0])
        same_quant = all(_same_quant(t, out) for t in present)
        const = [self._value(t.index) is not None for t in present]
        if not can_fold(op, const, [t.type_name for t in present], out.type_name, same_quant):
            return False
        if out.dtype is None:
            return False
        values = [None if t is None else self._value(t.index) for t in ins]
        try:
            result = FOLDERS[op.builtin](op, values, ins)
            self._folded[op.outputs[0]] = np.asarray(result).astype(out.dtype).reshape(out.shape)
        except (ValueError, IndexError, TypeError, AttributeError, OverflowError) as exc:
            # Constant data and shapes come from the file: a mismatch is a broken model.
            raise EdgecError(f"cannot evaluate the constant {self.where(op)}: "
                             f"{type(exc).__name__}: {exc}",
                             "check the model file is not corrupt") from exc
        return True

    def _ir_tensor(self, t: TfTensor, ir_name: str) -> Tensor:
        if t.dtype is None:
            raise EdgecError(f"tensor '{t.name}' has type {t.type_name}, which edgec does not "
                             "support", "supported tensor types: float32, int8, uint8, int16, "
                             "int32, int64, bool")
        shape = self._static_shape(t)
        data = self._value(t.index)
        if data is not None:
            data = np.asarray(data, dtype=storage_dtype(t.dtype)).reshape(shape)
        quant = None
        if t.scale is not None:
            axis = _quant_axis(t, shape) if t.scale.size > 1 else None
            quant = QuantParams(t.scale, t.zero_point, axis)
        return Tensor(ir_name, shape, t.dtype, data, quant)

    @staticmethod
    def _static_shape(t: TfTensor) -> tuple[int, ...]:
        if any(d <= 0 for d in t.shape):
            raise EdgecError(f"tensor '{t.name}' has an unknown dimension in shape "
                             f"{list(t.shape)}", "edgec needs static shapes; re-export the "
                             "model with a fixed input shape (batch 1)")
        # A shape_signature of -1 (dynamic batch) with a stored size is fine: the stored
        # shape is the one the model was prepared with.
        return tuple(int(d) for d in t.shape)

    def _unsupported(self, op: TfOp) -> EdgecError:
        if op.builtin in _CONTROL_FLOW and self.model.subgraph_count > 1:
            return EdgecError(f"{self.where(op)} runs another subgraph; edgec unrolls WHILE "
                              "loops whose number of steps is known at import and supports no "
                              "other control flow", LOOP_HINT)
        if isinstance(op.index, str):
            return EdgecError(f"unsupported TFLite operator {op.builtin} at {self.where(op)}",
                              LOOP_HINT)
        return EdgecError(f"unsupported TFLite operator {op.builtin} at {self.where(op)}",
                          f"supported operators: {', '.join(sorted(CONVERTERS))}")


def _label(op: TfOp) -> str:
    """How messages name an operator: its index, or where in which loop it came from."""
    if not isinstance(op.index, str):
        return f"operator {op.index}"
    *loop, step, index = op.index.split(".")
    return f"operator {index} of the loop body at step {step} of WHILE operator " \
        f"{'.'.join(loop)}"


def _same_quant(a: TfTensor, b: TfTensor) -> bool:
    """Whether values of ``a`` mean the same in ``b`` (integer shape data always does)."""
    if a.type_name in ("INT32", "INT64") and b.type_name in ("INT32", "INT64"):
        return True
    if a.scale is None or b.scale is None:
        return a.scale is None and b.scale is None
    return np.array_equal(a.scale, b.scale) and np.array_equal(a.zero_point, b.zero_point)


def _quant_axis(t: TfTensor, shape: tuple[int, ...]) -> int:
    """The axis of ``t``'s per-channel scales. Some converters write the weights'
    quantized_dimension (3) on 1-D bias tensors too (TFLM's person_detect.tflite); TFLM reads
    a 1-D tensor's scales along its only axis, and so does edgec."""
    axis = t.quantized_dimension
    if len(shape) == 1 and shape[0] == t.scale.size:
        return 0
    if not 0 <= axis < len(shape) or shape[axis] != t.scale.size:
        raise EdgecError(f"tensor '{t.name}' has {t.scale.size} quantization scales along axis "
                         f"{axis}, which does not fit its shape {list(shape)}",
                         "re-convert the model; per-channel scales must match one axis")
    return axis
