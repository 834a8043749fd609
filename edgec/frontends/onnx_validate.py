"""Checks of an ONNX model at the boundary, before any of it is used.

Initializer data must match its dims and element type before ``onnx.numpy_helper`` sees it;
external data must live beside the model (a relative location inside the model's folder);
sizes stay within ``edgec.limits``.
"""

from __future__ import annotations

import math
from pathlib import Path, PurePosixPath

import numpy as np
import onnx
from onnx import numpy_helper

from edgec.errors import EdgecError
from edgec.limits import MAX_NODES, check_shape

_T = onnx.TensorProto
# Element type -> (the typed field holding it when there is no raw_data, bytes per element).
_READABLE = {_T.FLOAT: ("float_data", 4), _T.DOUBLE: ("double_data", 8),
             _T.INT8: ("int32_data", 1), _T.UINT8: ("int32_data", 1),
             _T.INT16: ("int32_data", 2), _T.UINT16: ("int32_data", 2),
             _T.INT32: ("int32_data", 4), _T.BOOL: ("int32_data", 1),
             _T.FLOAT16: ("int32_data", 2), _T.INT64: ("int64_data", 8),
             _T.UINT32: ("uint64_data", 4), _T.UINT64: ("uint64_data", 8),
             _T.BFLOAT16: ("int32_data", 2), _T.FLOAT8E4M3FN: ("int32_data", 1),
             _T.FLOAT8E4M3FNUZ: ("int32_data", 1), _T.FLOAT8E5M2: ("int32_data", 1),
             _T.FLOAT8E5M2FNUZ: ("int32_data", 1), _T.FLOAT8E8M0: ("int32_data", 1),
             _T.FLOAT4E2M1: ("int32_data", 1),
             _T.INT4: ("int32_data", 1),
             _T.UINT4: ("int32_data", 1),
             _T.INT2: ("int32_data", 1),
             _T.UINT2: ("int32_data", 1),
             }
# Sub-byte types are stored packed, several values per byte (and per int32_data entry).
_PER_BYTE = {_T.INT4: 2, _T.UINT4: 2, _T.INT2: 4, _T.UINT2: 4, _T.FLOAT4E2M1: 2}
_CORRUPT = "check that the file is a complete, unmodified .onnx file"


def check_model(model: onnx.ModelProto, base_dir: Path | None) -> dict[str, np.ndarray]:
    """Validate the graph's size and every initializer; return the initializers as arrays
    (external data read from ``base_dir``, the model's folder)."""
    if len(model.graph.node) > MAX_NODES:
        raise EdgecError(f"the ONNX model has {len(model.graph.node)} nodes, above the limit "
                         f"of {MAX_NODES}", "edgec's limits are listed in docs/LIMITS.md")
    for value in [*model.graph.input, *model.graph.output]:
        kind = value.type.WhichOneof("value")
        if kind not in (None, "tensor_type"):
            what = "input" if value in model.graph.input else "output"
            raise EdgecError(f"model {what} '{value.name}' is a{'n' if kind[0] == 'o' else ''} "
                             f"{kind.removesuffix('_type')}, not a tensor",
                             "edgec compiles models whose inputs and outputs are tensors")
    return {init.name: tensor_array(init, base_dir) for init in model.graph.initializer}


def _type_name(data_type: int) -> str:
    try:
        return _T.DataType.Name(data_type)
    except ValueError:
        return f"type {data_type}"


def tensor_array(t: onnx.TensorProto, base_dir: Path | None, what: str = "") -> np.ndarray:
    """The value of a TensorProto, after checking that its data matches its dims and type
    (``what`` it is, for messages: an initializer by default)."""
    what = what or f"initializer '{t.name}'"
    if t.data_type not in _READABLE:
        raise EdgecError(f"{what} has element type {_type_name(t.data_type)}, which edgec does "
                         "not read", "use float32, integer (2 to 64 bits) or bool constants")
    if any(d < 0 for d in t.dims):
        raise EdgecError(f"{what} has a negative dimension in {list(t.dims)}", _CORRUPT)
    check_shape(what, t.dims)
    if t.HasField("segment"):
        raise EdgecError(f"{what} is stored in segments", "save the model without segments")
    if t.data_location == _T.EXTERNAL:
        _inline_external(t, base_dir)
    field, size = _READABLE[t.data_type]
    count = -(-math.prod(t.dims) // _PER_BYTE.get(t.data_type, 1))  # stored elements
    if t.raw_data:
        if len(t.raw_data) != count * size:
            raise EdgecError(f"{what} ({_type_name(t.data_type)}{list(t.dims)}) needs "
                             f"{count * size} bytes of data, it holds {len(t.raw_data)}", _CORRUPT)
    elif len(getattr(t, field)) != count:
        raise EdgecError(f"{what} ({_type_name(t.data_type)}{list(t.dims)}) needs {count} "
                         f"values, it holds {len(getattr(t, field))}", _CORRUPT)
    try:
        return numpy_helper.to_array(t)
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise EdgecError(f"cannot read {what}: {type(exc).__name__}: {exc}", _CORRUPT) from exc


def _inline_external(t: onnx.TensorProto, base_dir: Path | None) -> None:
    """Read external data into ``raw_data``: only from a file inside the model's folder."""
    what = f"initializer '{t.name}'"
    info = {e.key: e.value for e in t.external_data}
    location = info.get("location", "")
    if base_dir is None:
        raise EdgecError(f"{what} keeps its data in an external file, and the model was not "
                         "read from a folder", "load the model from its file")
    parts = PurePosixPath(location.replace("\\", "/")).parts
    if not location or "\x00" in location or location.startswith(("/", "\\")) \
            or PurePosixPath(location).is_absolute() or ".." in parts or ":" in location:
        raise EdgecError(f"{what} keeps its data in '{location}'; external data must be a "
                         "relative path inside the model's folder",
                         "keep the data file beside the model (onnx.save with "
                         "location='name.bin')")
    path = Path(base_dir) / location
    try:
        offset = int(info.get("offset", 0))
        length = int(info["length"]) if "length" in info else None
    except ValueError:
        raise EdgecError(f"{what} has a non-numeric external data offset or length",
                         _CORRUPT) from None
    if not path.is_file():
        raise EdgecError(f"{what} keeps its data in '{location}', which is not a file beside "
                         "the model", "copy the data file next to the .onnx file")
    size = path.stat().st_size
    end = size if length is None else offset + length
    if offset < 0 or (length is not None and length < 0) or end > size or end < offset:
        raise EdgecError(f"{what} reads bytes {offset}..{end} of '{location}', which has {size}",
                         _CORRUPT)
    with open(path, "rb") as f:
        f.seek(offset)
        t.raw_data = f.read(end - offset)
    t.data_location = _T.DEFAULT
    del t.external_data[:]


# Ranks the converters assume of some inputs (position -> rank), beyond the ONNX schema.
_RANKS = {"Conv": {0: (3, 4), 1: (3, 4)}, "MaxPool": {0: (3, 4, 5)},
          "AveragePool": {0: (3, 4, 5)},
          "GlobalAveragePool": {0: (4,)}, "GlobalMaxPool": {0: (4,)}, "Gemm": {0: (2,), 1: (2,)},
          "BatchNormalization": {1: (1,), 2: (1,), 3: (1,), 4: (1,)}}
_WINDOW_HINT = ("edgec converts 1-D (N, C, W) and 2-D (N, C, H, W) windows (pools also "
                "3-D (N, C, D, H, W))")


def check_order(model: onnx.ModelProto) -> None:
    """Every node reads only graph inputs, initializers and outputs of earlier nodes: the
    graph is acyclic and listed in execution order."""
    known = {i.name for i in model.graph.input} | {i.name for i in model.graph.initializer}
    for index, node in enumerate(model.graph.node):
        for name in node.input:
            if name and name not in known:
                raise EdgecError(f"node {index} '{node.name}' ({node.op_type}) reads '{name}', "
                                 "which no earlier node produces (a cycle, an unsorted graph or "
                                 "a missing tensor)", "the ONNX graph must be topologically "
                                 "sorted; check it with onnx.checker.check_model")
        known.update(o for o in node.output if o)


def _optional_first_output(schema) -> bool:
    """Whether output 0 may be left out (LSTM's and GRU's Y when only Y_h is read)."""
    return bool(schema.outputs) and schema.outputs[0].option == \
        onnx.defs.OpSchema.FormalParameterOption.Optional


def check_node(node: onnx.NodeProto, opset: int, shape) -> None:
    """``node`` has the inputs, outputs and attribute types its ONNX schema (at the model's
    opset) requires, and the ranks edgec's converter assumes. ``shape(name)`` gives a static
    shape or raises."""
    what = f"node '{node.name}' ({node.op_type})"
    try:
        schema = onnx.defs.get_schema(node.op_type, opset, "")
    except Exception:  # noqa: BLE001 - onnx raises SchemaError; unknown ops are the registry's
        return
    present = [i for i in node.input]
    if not schema.min_input <= len(present) <= schema.max_input \
            or any(not i for i in present[:schema.min_input]) \
            or not schema.min_output <= len(node.output) <= schema.max_output \
            or not node.output or not (node.output[0] or _optional_first_output(schema)):
        raise EdgecError(f"{what} has {len(present)} inputs and {len(node.output)} outputs; "
                         f"its schema takes {schema.min_input}..{schema.max_input} inputs, "
                         f"{schema.min_output}..{schema.max_output} outputs", _CORRUPT)
    for attr in node.attribute:
        expected = schema.attributes.get(attr.name)
        if expected is not None and attr.type != expected.type:
            raise EdgecError(f"{what} has attribute '{attr.name}' of the wrong type", _CORRUPT)
    for position, ranks in _RANKS.get(node.op_type, {}).items():
        if position < len(node.input) and node.input[position]:
            actual = shape(node.input[position])
            if len(actual) not in ranks:
                raise EdgecError(f"{what}: input {position} has shape {list(actual)}, edgec "
                                 f"needs rank {' or '.join(map(str, ranks))}",
                                 _WINDOW_HINT if len(ranks) > 1 else _CORRUPT)
