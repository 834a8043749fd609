"""The export of one IR graph: tensor bookkeeping around ``edgec.export.ops``' emitters."""

from __future__ import annotations

import numpy as np

from edgec.errors import EdgecError
from edgec.export.flatbuffer import ModelWriter, TfliteOp, TfliteTensor
from edgec.export.ops import EMITTERS
from edgec.ir.int4 import pack_int4
from edgec.ir.graph import PLAIN_INT_KEYS, Graph, QuantParams, Tensor, kernel_key
from edgec.ir.registry import get_op
from edgec.tflite_schema_names import OPTIONS_TABLES, TENSOR_TYPES



class ExportContext:
    """Maps IR tensor names to file tensor indices and appends operators to the writer."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.writer = ModelWriter(f"edgec export of {graph.name}")
        self._indices: dict[str, int] = {}
        self._names: set[str] = set(graph.tensors)
        self._handles: dict[str, int] = {}  # IR variable -> its VAR_HANDLE's tensor
        self._init: tuple[list[TfliteTensor], list[TfliteOp]] | None = None

    def index(self, name: str) -> int:
        """The file index of IR tensor ``name`` (-1 for an absent input), added on first use."""
        if not name:
            return -1
        if name not in self._indices:
            self._indices[name] = self.writer.add_tensor(file_tensor(self.graph.tensors[name]))
        return self._indices[name]

    def variable_handle(self, name: str) -> int:
        """The resource tensor naming IR variable ``name`` in subgraph 0. On first use the
        variable's initialisation (subgraph 1, run by the CALL_ONCE that starts subgraph 0,
        as the TensorFlow converter writes a Keras stateful=True layer) assigns its initial
        value, and a VAR_HANDLE in subgraph 0 names it by the same shared_name."""
        if name in self._handles:
            return self._handles[name]
        if self._init is None:
            self._init = ([], [])
            index = self.writer.add_subgraph("variables_init", *self._init)
            self.writer.ops.insert(0, TfliteOp("CALL_ONCE", [], [], "CallOnceOptions",
                                               {"init_subgraph_index": index}))
        tensors, ops = self._init
        shared = {"container": b"", "shared_name": name.encode()}
        tensors += [file_tensor(self.graph.tensors[name]),
                    TfliteTensor(f"{name}_handle", (), "RESOURCE")]
        value, resource = len(tensors) - 2, len(tensors) - 1
        ops += [TfliteOp("VAR_HANDLE", [], [resource], "VarHandleOptions", shared),
                TfliteOp("ASSIGN_VARIABLE", [resource, value], [])]
        handle = self.writer.add_tensor(
            TfliteTensor(self.unique(f"{name}_handle"), (), "RESOURCE"))
        self.op("VAR_HANDLE", [], [handle], shared)
        self._handles[name] = handle
        return handle

    def alias(self, name: str, source: str) -> None:
        """Let IR tensor ``name`` be the file tensor of ``source`` (an IR output the file's
        operator does not write, e.g. ASSIGN_VARIABLE's)."""
        self._indices[name] = self.index(source)

    def unique(self, base: str) -> str:
        """A file tensor name not used yet, derived from ``base``."""
        name = self._unique(base)
        self._names.add(name)
        return name

    def params(self, base: str, values) -> int:
        """A new int32 constant holding an op parameter (shape, pads, axes, ...)."""
        return self.constant(base, np.asarray(values, np.int32), None)

    def constant(self, base: str, data: np.ndarray, quant: QuantParams | None) -> int:
        """A new constant tensor that exists only in the file."""
        return self._new(Tensor(self._unique(base), data.shape, data.dtype.name, data, quant))

    def activation(self, base: str, shape, like: Tensor) -> int:
        """A new intermediate tensor of ``like``'s dtype and quantization."""
        return self._new(Tensor(self._unique(base), shape, like.dtype, None, like.quant))

    def variable(self, base: str, like: Tensor) -> int:
        """A new variable tensor (state a stateful operator keeps) shaped like ``like``."""
        tensor = file_tensor(Tensor(self._unique(base), like.shape, like.dtype, None, like.quant))
        tensor.is_variable = True
        self._names.add(tensor.name)
        return self.writer.add_tensor(tensor)

    def op(self, builtin: str, inputs, outputs, options: dict | None = None) -> None:
        """Append an operator; inputs and outputs are IR names or file indices. Its options
        table (``OPTIONS_TABLES``) is written only when ``options`` are given."""
        resolve = (lambda x: x if isinstance(x, int) else self.index(x))
        table = OPTIONS_TABLES[builtin] if options else None
        self.writer.add_op(TfliteOp(builtin, [resolve(i) for i in inputs],
                                    [resolve(o) for o in outputs], table, options or {}))

    def _new(self, tensor: Tensor) -> int:
        self._names.add(tensor.name)
        return self.writer.add_tensor(file_tensor(tensor))

    def _unique(self, base: str) -> str:
        name, i = base, 1
        while name in self._names:
            name, i = f"{base}_{i}", i + 1
        return name


def file_tensor(t: Tensor) -> TfliteTensor:
    """An IR tensor as the file stores it; int4 constants packed two per byte. TFLite has no
    ternary type: ternary constants are stored as INT8 (the same values, so the same results;
    reading the file back gives int8 weights)."""
    dtype = "int8" if t.dtype == "ternary" else t.dtype
    if dtype not in TENSOR_TYPES:  # float8 / float4 (edgec.ir.floats)
        raise EdgecError(f"tensor '{t.name}' is {dtype}, which TFLite has no type for",
                         f"TFLite's types: {', '.join(sorted(TENSOR_TYPES))}")
    data = None
    if t.data is not None:
        data = pack_int4(t.data) if dtype == "int4" else \
            np.ascontiguousarray(t.data, dtype=dtype).tobytes()
    if dtype not in TENSOR_TYPES:
        raise EdgecError(f"tensor '{t.name}' is {dtype}, which TFLite has no type for",
                         f"TFLite's types: {', '.join(TENSOR_TYPES)}")
    result = TfliteTensor(t.name, t.shape, TENSOR_TYPES[dtype], data)
    if t.quant is not None:
        result.scale, result.zero_point = t.quant.scale, t.quant.zero_point
        result.quantized_dimension = t.quant.axis or 0
    return result


def export_graph(graph: Graph) -> bytes:
    """Serialise ``graph`` as a TFLite flatbuffer (one subgraph, builtin operators only)."""
    ctx = ExportContext(graph)
    inputs = [ctx.index(name) for name in graph.inputs]
    for node in graph.nodes:
        _check_tflite_dtype(graph, node)
        emit = EMITTERS.get(node.op)
        if emit is None:
            raise EdgecError(f"node '{node.name}': op {node.op} has no TFLite export",
                             f"exportable ops: {', '.join(sorted(EMITTERS))}")
        emit(node, ctx)
    outputs = [ctx.index(name) for name in graph.outputs]
    return ctx.writer.build(inputs, outputs)


def _check_tflite_dtype(graph: Graph, node) -> None:
    """Refuse a node whose input type TFLite's builtin does not compute as edgec does
    (``OpDef.tflite_dtypes``), e.g. an ADD of plain uint16 integers."""
    allowed = get_op(node.op).tflite_dtypes
    first = graph.tensors[node.inputs[0]]
    if allowed is not None and kernel_key(first) not in allowed:
        what = f"plain {first.dtype} integers" if kernel_key(first) in PLAIN_INT_KEYS \
            else f"{first.dtype} tensors"
        raise EdgecError(f"node '{node.name}' ({node.op}) computes on {what}, which TFLite's "
                         f"{node.op} does not take",
                         f"TFLite's {node.op} takes {', '.join(allowed)}; build the C instead")
