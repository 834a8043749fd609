"""Reading a ``.tflite`` flatbuffer into plain Python data with the ``tflite`` schema package.

Everything the importer needs is copied out of the flatbuffer here, in one place, so that a
truncated or corrupt file fails while reading (reported as such) and the converters work on
ordinary dataclasses, numpy arrays and dicts.
"""

from __future__ import annotations

import importlib
import re
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import tflite

from edgec.errors import EdgecError
from edgec.ir.int4 import unpack_int4
from edgec.limits import check_shape
from edgec.tflite_schema_names import DTYPES, ENUM_FIELDS, enum_names

FILE_IDENTIFIER = b"TFL3"

# Getter names of generated tables that are not schema fields.
_NOT_FIELDS = re.compile(r"^(Init|GetRootAs.*|.*BufferHasIdentifier|.*AsNumpy|.*Length|.*IsNone)$")

BUILTIN_NAMES = enum_names(tflite.BuiltinOperator)
TENSOR_TYPE_NAMES = enum_names(tflite.TensorType)
_OPTIONS_NAMES = enum_names(tflite.BuiltinOptions)
# Enum-valued options fields are read as the member's name.
_ENUM_NAMES = {key: enum_names(cls) for key, cls in ENUM_FIELDS.items()}


@dataclass
class TfTensor:
    """One tensor of a subgraph, as stored in the file."""

    index: int
    name: str
    shape: tuple[int, ...]
    signature: tuple[int, ...] | None
    type_name: str  # the schema's TensorType name, e.g. "INT8"
    data: np.ndarray | None
    scale: np.ndarray | None
    zero_point: np.ndarray | None
    quantized_dimension: int

    @property
    def dtype(self) -> str | None:
        """The numpy dtype name, or None for a type edgec does not handle."""
        return DTYPES.get(self.type_name)


@dataclass
class TfOp:
    """One operator: builtin name, tensor indices (-1 = absent), options. ``index`` is its
    position in subgraph 0, or (an operator of a loop body inlined at import) a dotted path
    such as ``"1.3.5"``: operator 5 of the body, step 3 of the WHILE at operator 1."""

    index: int | str
    builtin: str
    inputs: list[int]
    outputs: list[int]
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class TfSubgraph:
    """A subgraph other than 0 (a WHILE loop's condition or body), indices local to it."""

    name: str
    tensors: list[TfTensor]
    ops: list[TfOp]
    inputs: list[int]
    outputs: list[int]


@dataclass
class TfModel:
    """Subgraph 0 of a model; ``subgraphs`` holds every subgraph (0 first, as read)."""

    tensors: list[TfTensor]
    ops: list[TfOp]
    inputs: list[int]
    outputs: list[int]
    subgraph_count: int
    description: str
    subgraphs: list[TfSubgraph] = field(default_factory=list)


def read_model(data: bytes, name: str = "model") -> TfModel:
    """Parse TFLite flatbuffer bytes; a truncated or corrupt file raises ``EdgecError``."""
    if len(data) < 8 or data[4:8] != FILE_IDENTIFIER:
        raise EdgecError(f"{name}: not a TFLite flatbuffer (no 'TFL3' identifier)",
                         "pass a .tflite file written by the TensorFlow Lite converter")
    try:
        return _read(bytes(data))
    except (IndexError, struct.error, ValueError, TypeError, UnicodeDecodeError,
            OverflowError, AttributeError) as exc:
        raise EdgecError(f"{name}: the TFLite file is truncated or corrupt ({type(exc).__name__}: "
                         f"{exc})", "re-export the model; check the file was copied whole") from exc


def _read(data: bytes) -> TfModel:
    (root,) = struct.unpack_from("<I", data, 0)
    if root + 4 > len(data):
        raise IndexError(f"root table offset {root} is past the end of the {len(data)} bytes")
    model = tflite.Model.GetRootAsModel(data, 0)
    if model.SubgraphsLength() < 1:
        raise ValueError("the model has no subgraph")
    codes = [_builtin_name(model.OperatorCodes(i)) for i in range(model.OperatorCodesLength())]
    subgraphs = [_read_subgraph(model, data, model.Subgraphs(k), codes)
                 for k in range(model.SubgraphsLength())]
    main = subgraphs[0]
    description = model.Description()
    return TfModel(main.tensors, main.ops, main.inputs, main.outputs, len(subgraphs),
                   description.decode() if description else "", subgraphs)


def _read_subgraph(model, data: bytes, sg, codes: list[str]) -> TfSubgraph:
    tensors = [_read_tensor(model, data, sg.Tensors(i), i) for i in range(sg.TensorsLength())]
    ops = [_read_op(sg.Operators(i), i, codes) for i in range(sg.OperatorsLength())]
    _check_indices(len(tensors), ops, sg)
    name = sg.Name()
    return TfSubgraph(name.decode() if name else "", tensors, ops,
                      _ints(sg.InputsAsNumpy()), _ints(sg.OutputsAsNumpy()))


def _check_indices(count: int, ops: list[TfOp], sg) -> None:
    """Every tensor index in range (-1 marks an absent optional operator input)."""
    for op in ops:
        for i in op.inputs + op.outputs:
            if not -1 <= i < count or (i == -1 and i in op.outputs):
                raise IndexError(f"operator {op.index} refers to tensor {i} of {count}")
    for i in _ints(sg.InputsAsNumpy()) + _ints(sg.OutputsAsNumpy()):
        if not 0 <= i < count:
            raise IndexError(f"subgraph input/output {i} is not one of {count} tensors")


def _ints(vector) -> list[int]:
    # The generated *AsNumpy getters return the integer 0 for an absent vector.
    return [] if isinstance(vector, int) else [int(v) for v in vector]


def _builtin_name(code) -> str:
    # Old files only set the deprecated byte field; new codes (> 127) only the int32 field.
    number = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    if number == tflite.BuiltinOperator.CUSTOM:
        custom = code.CustomCode()
        return f"CUSTOM({custom.decode() if custom else '?'})"
    return BUILTIN_NAMES.get(number, f"BUILTIN_{number}")


def _read_tensor(model, data: bytes, t, index: int) -> TfTensor:
    shape = tuple(_ints(t.ShapeAsNumpy()))
    signature = tuple(_ints(t.ShapeSignatureAsNumpy())) if t.ShapeSignatureLength() else None
    type_name = TENSOR_TYPE_NAMES.get(t.Type(), f"TYPE_{t.Type()}")
    name = t.Name().decode() if t.Name() else f"tensor_{index}"
    check_shape(f"tensor '{name}'", shape)
    raw = _buffer_bytes(model, data, t.Buffer())
    array = None
    if raw is not None and type_name in DTYPES:
        _check_buffer_size(name, shape, type_name, len(raw))
    if raw is not None and type_name == "INT4":  # packed two per byte, low nibble first
        array = unpack_int4(raw, int(np.prod(shape, dtype=np.int64))).reshape(shape)
    elif raw is not None and type_name in DTYPES:
        array = np.frombuffer(raw, dtype=DTYPES[type_name]).reshape(shape).copy()
    scale = zero_point = None
    q = t.Quantization()
    if q is not None and q.ScaleLength() > 0:
        scale = np.asarray(q.ScaleAsNumpy(), np.float32).copy()
        zero_point = np.zeros(scale.shape, np.int64)
        if q.ZeroPointLength() > 0:
            zero_point = np.asarray(q.ZeroPointAsNumpy(), np.int64).copy()
    return TfTensor(index, name, shape, signature, type_name, array, scale, zero_point,
                    q.QuantizedDimension() if q is not None else 0)


def _check_buffer_size(name: str, shape, type_name: str, size: int) -> None:
    """A constant's buffer holds exactly the bytes its shape and type need."""
    if any(d < 0 for d in shape):
        raise EdgecError(f"constant tensor '{name}' has an unknown dimension in {list(shape)}",
                         "check the model file is not corrupt")
    count = int(np.prod(shape, dtype=np.int64))
    need = (count + 1) // 2 if type_name == "INT4" else count * np.dtype(DTYPES[type_name]).itemsize
    if size != need:
        raise EdgecError(f"constant tensor '{name}' ({type_name}{list(shape)}) needs {need} bytes, "
                         f"its buffer holds {size}", "check the model file is not corrupt")


def _buffer_bytes(model, data: bytes, index: int) -> bytes | None:
    """The bytes of buffer ``index``: inline data, or (files over 2 GB) an offset/size pair."""
    if index == 0 or index >= model.BuffersLength():
        return None
    buffer = model.Buffers(index)
    if buffer.Offset() > 1:
        end = buffer.Offset() + buffer.Size()
        if end > len(data):
            raise IndexError(f"buffer {index} ends at byte {end}, past the end of the file")
        return data[buffer.Offset():end]
    if buffer.DataLength() == 0:
        return None
    return buffer.DataAsNumpy().tobytes()


def _read_op(op, index: int, codes: list[str]) -> TfOp:
    opcode = op.OpcodeIndex()
    if opcode >= len(codes):
        raise IndexError(f"operator {index} uses opcode {opcode} of {len(codes)}")
    return TfOp(index, codes[opcode], _ints(op.InputsAsNumpy()), _ints(op.OutputsAsNumpy()),
                _read_options(op))


def _read_options(op) -> dict[str, Any]:
    """The operator's builtin options table as ``{snake_case_field: value}``."""
    table_name = _OPTIONS_NAMES.get(op.BuiltinOptionsType(), "NONE")
    table = op.BuiltinOptions()
    if table_name == "NONE" or table is None:
        return {}
    cls = getattr(importlib.import_module(f"tflite.{table_name}"), table_name)
    options = cls()
    options.Init(table.Bytes, table.Pos)
    result = {}
    for getter in dir(cls):
        if getter.startswith("_") or not getter[0].isupper() or _NOT_FIELDS.match(getter):
            continue
        key = re.sub(r"(?<!^)(?=[A-Z])", "_", getter).lower()
        if hasattr(cls, f"{getter}AsNumpy"):
            result[key] = _ints(getattr(options, f"{getter}AsNumpy")())
            continue
        value = getattr(options, getter)()
        result[key] = _ENUM_NAMES[key].get(value, value) if key in _ENUM_NAMES else value
    return result
