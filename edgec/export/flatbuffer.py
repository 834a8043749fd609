"""Serialising a TFLite model with the ``tflite`` package's generated builder functions:
subgraph 0, and further subgraphs an operator runs (``add_subgraph``: the CALL_ONCE that
initialises resource variables).

``ModelWriter`` collects tensors and operators in TFLite's terms (builtin names, options as
snake_case fields, tensor types by schema name) and ``build`` writes the ``.tflite`` bytes. It
knows nothing about edgec's IR: ``edgec.export.ops`` translates IR nodes into these calls.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

import flatbuffers
import numpy as np
import tflite

from edgec.tflite_schema_names import enum_value

# Builtin codes above this live only in OperatorCode.builtin_code; the deprecated byte field
# holds this placeholder instead.
_PLACEHOLDER_FOR_GREATER_OP_CODES = 127
# Constant data starts at this alignment, so runtimes may read weights in place.
_BUFFER_ALIGNMENT = 16


@dataclass
class TfliteTensor:
    """One tensor as the file stores it: ``data`` is the raw little-endian buffer bytes."""

    name: str
    shape: tuple[int, ...]
    type_name: str  # a TensorType member name, e.g. "INT8"
    data: bytes | None = None
    scale: np.ndarray | None = None
    zero_point: np.ndarray | None = None
    quantized_dimension: int = 0
    shape_signature: tuple[int, ...] | None = None
    is_variable: bool = False  # state a stateful operator keeps (LSTM, SVDF): no buffer


@dataclass
class TfliteOp:
    """One operator: builtin name, tensor indices (-1 = absent input), options table and
    the version its operator code asks for (the highest of the operators sharing it)."""

    builtin: str
    inputs: list[int]
    outputs: list[int]
    options_table: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    version: int = 1


class ModelWriter:
    """Builds subgraph 0 of a TFLite model tensor by tensor and operator by operator (and
    whole further subgraphs, ``add_subgraph``)."""

    def __init__(self, description: str = "edgec"):
        self.tensors: list[TfliteTensor] = []
        self.ops: list[TfliteOp] = []
        self.description = description
        # subgraphs 1, 2, ...: (name, tensors, operators, inputs, outputs)
        self.subgraphs: list[tuple[str, list[TfliteTensor], list[TfliteOp], list[int],
                                   list[int]]] = []

    def add_subgraph(self, name: str, tensors: list[TfliteTensor], ops: list[TfliteOp],
                     inputs: list[int] = (), outputs: list[int] = ()) -> int:
        """Append a whole subgraph (indices local to it); return its subgraph index."""
        for op in ops:
            if not hasattr(tflite.BuiltinOperator, op.builtin):
                raise ValueError(f"unknown TFLite builtin operator {op.builtin}")
        # kept by reference: the caller may append to ``tensors`` and ``ops`` until ``build``
        self.subgraphs.append((name, tensors, ops, list(inputs), list(outputs)))
        return len(self.subgraphs)

    def add_tensor(self, tensor: TfliteTensor) -> int:
        """Append ``tensor``; return its index."""
        self.tensors.append(tensor)
        return len(self.tensors) - 1

    def add_op(self, op: TfliteOp) -> None:
        if not hasattr(tflite.BuiltinOperator, op.builtin):
            raise ValueError(f"unknown TFLite builtin operator {op.builtin}")
        self.ops.append(op)

    def build(self, inputs: list[int], outputs: list[int]) -> bytes:
        """The model's flatbuffer bytes with the given subgraph inputs and outputs."""
        fb = flatbuffers.Builder(1024)
        graphs = [("main", self.tensors, self.ops, inputs, outputs), *self.subgraphs]
        builtins = list(dict.fromkeys(op.builtin for g in graphs for op in g[2]))
        every_tensor = [t for g in graphs for t in g[1]]
        buffers, buffer_of = _write_buffers(fb, every_tensor)
        subgraphs, first = [], 0
        for name, graph_tensors, ops, ins, outs in graphs:
            tensors = [_write_tensor(fb, t, buffer_of.get(first + i, 0))
                       for i, t in enumerate(graph_tensors)]
            operators = [_write_op(fb, op, builtins.index(op.builtin)) for op in ops]
            subgraphs.append(_write_subgraph(fb, tensors, operators, ins, outs, name))
            first += len(graph_tensors)
        codes = [_write_opcode(fb, name, self._version(name))
                 for name in builtins]
        description = fb.CreateString(self.description)
        model = _module("Model")
        vectors = [_offsets(fb, model.StartOperatorCodesVector, codes),
                   _offsets(fb, model.StartSubgraphsVector, subgraphs),
                   _offsets(fb, model.StartBuffersVector, buffers)]
        model.Start(fb)
        model.AddVersion(fb, 3)
        model.AddOperatorCodes(fb, vectors[0])
        model.AddSubgraphs(fb, vectors[1])
        model.AddDescription(fb, description)
        model.AddBuffers(fb, vectors[2])
        fb.Finish(model.End(fb), file_identifier=b"TFL3")
        return bytes(fb.Output())

    def _version(self, builtin: str) -> int:
        ops = self.ops + [op for g in self.subgraphs for op in g[2]]
        return max(op.version for op in ops if op.builtin == builtin)


def _module(table: str):
    # ``tflite.<Table>`` is the class; the builder functions live in the module of that name.
    return importlib.import_module(f"tflite.{table}")


def _camel(snake: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in snake.split("_"))


def _write_buffers(fb, tensors: list[TfliteTensor]):
    """Buffer 0 is the schema's empty sentinel; every constant gets a buffer of its own."""
    mod = _module("Buffer")
    offsets, buffer_of = [], {}
    mod.Start(fb)
    offsets.append(mod.End(fb))
    for i, t in enumerate(tensors):
        if t.data is None:
            continue
        data = _aligned_bytes(fb, t.data)
        mod.Start(fb)
        mod.AddData(fb, data)
        offsets.append(mod.End(fb))
        buffer_of[i] = len(offsets) - 1
    return offsets, buffer_of


def _write_tensor(fb, t: TfliteTensor, buffer: int) -> int:
    mod = _module("Tensor")
    name = fb.CreateString(t.name)
    shape = fb.CreateNumpyVector(np.asarray(t.shape, np.int32))
    signature = None if t.shape_signature is None else \
        fb.CreateNumpyVector(np.asarray(t.shape_signature, np.int32))
    quant = _write_quant(fb, t) if t.scale is not None else None
    mod.Start(fb)
    mod.AddShape(fb, shape)
    mod.AddType(fb, getattr(tflite.TensorType, t.type_name))
    mod.AddBuffer(fb, buffer)
    mod.AddName(fb, name)
    if quant is not None:
        mod.AddQuantization(fb, quant)
    if signature is not None:
        mod.AddShapeSignature(fb, signature)
    if t.is_variable:
        mod.AddIsVariable(fb, True)
    return mod.End(fb)


def _write_quant(fb, t: TfliteTensor) -> int:
    mod = _module("QuantizationParameters")
    scale = fb.CreateNumpyVector(np.asarray(t.scale, np.float32))
    zero_point = fb.CreateNumpyVector(np.asarray(t.zero_point, np.int64))
    mod.Start(fb)
    mod.AddScale(fb, scale)
    mod.AddZeroPoint(fb, zero_point)
    mod.AddQuantizedDimension(fb, t.quantized_dimension)
    return mod.End(fb)


def _write_op(fb, op: TfliteOp, opcode_index: int) -> int:
    mod = _module("Operator")
    inputs = fb.CreateNumpyVector(np.asarray(op.inputs, np.int32))
    outputs = fb.CreateNumpyVector(np.asarray(op.outputs, np.int32))
    options = _write_options(fb, op.options_table, op.options) if op.options_table else None
    mod.Start(fb)
    mod.AddOpcodeIndex(fb, opcode_index)
    mod.AddInputs(fb, inputs)
    mod.AddOutputs(fb, outputs)
    if options is not None:
        mod.AddBuiltinOptionsType(fb, getattr(tflite.BuiltinOptions, op.options_table))
        mod.AddBuiltinOptions(fb, options)
    return mod.End(fb)


def _write_options(fb, table: str, options: dict[str, Any]) -> int:
    """An options table: each snake_case key calls the table's ``Add<CamelCase>``; vector
    fields become int32 vectors and enum fields may take the member's name."""
    mod = _module(table)
    vectors = {key: fb.CreateNumpyVector(np.asarray(value, np.int32))
               for key, value in options.items() if hasattr(mod, f"Start{_camel(key)}Vector")}
    vectors.update({key: fb.CreateString(value) for key, value in options.items()
                    if isinstance(value, bytes)})  # string fields (VarHandleOptions)
    mod.Start(fb)
    for key, value in options.items():
        adder = getattr(mod, f"Add{_camel(key)}", None)
        if adder is None:
            fields = sorted(n[3:] for n in dir(mod) if n.startswith("Add"))
            raise ValueError(f"{table} has no field '{key}' (fields: {fields})")
        adder(fb, vectors[key] if key in vectors else enum_value(key, value))
    return mod.End(fb)


def _write_subgraph(fb, tensors, operators, inputs, outputs, label: str = "main") -> int:
    mod = _module("SubGraph")
    t_vec = _offsets(fb, mod.StartTensorsVector, tensors)
    o_vec = _offsets(fb, mod.StartOperatorsVector, operators)
    in_vec = fb.CreateNumpyVector(np.asarray(inputs, np.int32))
    out_vec = fb.CreateNumpyVector(np.asarray(outputs, np.int32))
    name = fb.CreateString(label)
    mod.Start(fb)
    mod.AddTensors(fb, t_vec)
    mod.AddInputs(fb, in_vec)
    mod.AddOutputs(fb, out_vec)
    mod.AddOperators(fb, o_vec)
    mod.AddName(fb, name)
    return mod.End(fb)


def _write_opcode(fb, builtin: str, version: int) -> int:
    mod = _module("OperatorCode")
    code = getattr(tflite.BuiltinOperator, builtin)
    mod.Start(fb)
    mod.AddDeprecatedBuiltinCode(fb, min(code, _PLACEHOLDER_FOR_GREATER_OP_CODES))
    mod.AddBuiltinCode(fb, code)
    mod.AddVersion(fb, version)
    return mod.End(fb)


def _offsets(fb, start_vector, offsets) -> int:
    """A vector of table offsets (flatbuffers are written back to front)."""
    start_vector(fb, len(offsets))
    for off in reversed(offsets):
        fb.PrependUOffsetTRelative(off)
    return fb.EndVector()


def _aligned_bytes(fb, raw: bytes) -> int:
    """A byte vector whose first byte is ``_BUFFER_ALIGNMENT``-aligned in the final file."""
    fb.StartVector(1, len(raw), _BUFFER_ALIGNMENT)
    fb.head -= len(raw)
    fb.Bytes[fb.head:fb.head + len(raw)] = raw
    return fb.EndVector()
