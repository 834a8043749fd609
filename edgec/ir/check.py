"""The graph checker: reports the first broken invariant in words."""

from __future__ import annotations

import math

import numpy as np

from edgec.errors import EdgecError
from edgec.ir.floats import is_float
from edgec.ir.graph import DTYPES, NARROW_INT_DTYPES, PLAIN_INT_KEYS, Graph, kernel_key, storage_dtype
from edgec.ir.registry import get_op
from edgec.limits import MAX_MACS, MAX_NODES, check_scales, check_shape, check_window

# Integer activation dtypes whose values mean nothing without a scale and zero point.
_QUANTIZED = ("int8", "uint8", "int16", "int4")
# Which ops mix float and integer tensors, change the dtype, requantize, need inputs or
# ranks: the op's facts (``OpDef.converts``, ``retypes``, ``requantizes``, ``min_inputs``,
# ``ranks``).
_WINDOW_ATTRS = {"filter": 1, "strides": 1, "dilations": 1, "pads": 0}


def _fail(message: str) -> None:
    raise EdgecError(f"invalid graph: {message}",
                     "this is a bug in a frontend or pass if the model file itself is valid")


def check_graph(graph: Graph) -> Graph:
    """Raise ``EdgecError`` at the first broken invariant; return the graph when it is sound.

    Checked: tensors exist and are well-formed, every node's op is registered and its
    attributes known, nodes are in topological order, each tensor has one producer, shapes
    agree with each op's shape inference, graph outputs are produced.
    """
    if len(graph.nodes) > MAX_NODES:
        _fail(f"the graph has {len(graph.nodes)} nodes, above the limit of {MAX_NODES}")
    for name, t in graph.tensors.items():
        _check_tensor(name, t)
    available = {n for n, t in graph.tensors.items() if t.is_const}
    for name in graph.inputs:
        if name not in graph.tensors:
            _fail(f"graph input '{name}' is not a tensor")
        if graph.tensors[name].size == 0:
            _fail(f"graph input '{name}' is empty (shape {list(graph.tensors[name].shape)})")
        available.add(name)
    written: set[str] = set()
    macs = 0
    for node in graph.nodes:
        op = get_op(node.op)
        full_attrs = op.full_attrs(node)
        if any(t in graph.tensors and graph.tensors[t].size == 0
               for t in (*node.inputs, *node.outputs) if t):
            _fail(f"node '{node.name}' ({node.op}) reads or writes a zero-size tensor (only an "
                  "output no node writes may be empty)")
        for i in node.inputs:
            if i and i not in graph.tensors:
                _fail(f"node '{node.name}' ({node.op}) reads unknown tensor '{i}'")
            if i and i not in available:
                _fail(f"node '{node.name}' ({node.op}) reads '{i}' before it is written")
        for o in node.outputs:
            if o not in graph.tensors:
                _fail(f"node '{node.name}' ({node.op}) writes unknown tensor '{o}'")
            if o in written or graph.tensors[o].is_const or o in graph.inputs:
                _fail(f"tensor '{o}' is written more than once")
            written.add(o)
            available.add(o)
        _check_operands(graph, node)
        _check_node_facts(graph, node, full_attrs)
        expected = op.infer_shapes(node, graph.input_tensors(node))
        actual = [graph.tensors[o].shape for o in node.outputs]
        if [tuple(s) for s in expected] != actual:
            _fail(f"node '{node.name}' ({node.op}) outputs {actual}, its inputs give {expected}")
        macs += op.macs(node, graph.input_tensors(node), graph.output_tensors(node))
    if macs > MAX_MACS:
        _fail(f"the graph needs {macs:,} multiply-accumulates per inference, above the limit "
              f"of {MAX_MACS:,}")
    for name in graph.outputs:
        if name not in available and graph.tensors.get(name, None) is not None \
                and graph.tensors[name].size == 0 and name not in graph.inputs:
            continue  # an empty output: nothing to write (docs/IR.md "Empty outputs")
        if name not in available:
            _fail(f"graph output '{name}' is never written")
    return graph


def _check_tensor(name: str, t) -> None:
    check_shape(f"tensor '{name}'", t.shape)
    if name != t.name:
        _fail(f"tensor stored under '{name}' is named '{t.name}'")
    if t.dtype not in DTYPES:
        _fail(f"tensor '{name}' has unknown dtype '{t.dtype}'")
    if any(d < 0 for d in t.shape) or (0 in t.shape and t.data is not None):
        _fail(f"tensor '{name}' has a {'negative' if min(t.shape) < 0 else 'zero'} dimension "
              f"in {t.shape}")
    if t.data is not None and (tuple(t.data.shape) != t.shape
                               or t.data.dtype.name != storage_dtype(t.dtype)):
        _fail(f"constant '{name}' holds {t.data.dtype}{list(t.data.shape)}, "
              f"declared {t.dtype}{list(t.shape)}")
    if t.quant is not None and t.quant.scale.size > 1:
        if t.quant.axis is None or not 0 <= t.quant.axis < len(t.shape) \
                or t.shape[t.quant.axis] != t.quant.scale.size:
            _fail(f"tensor '{name}' has per-axis quantization that does not fit {t.shape}")
    if t.quant is not None:
        _check_quant(name, t)


def _check_quant(name: str, t) -> None:
    q = t.quant
    if q.zero_point.shape != q.scale.shape:
        _fail(f"tensor '{name}' has {q.scale.size} scales and {q.zero_point.size} zero points")
    check_scales(f"tensor '{name}'", q.scale)
    if t.dtype in _QUANTIZED:
        info = np.iinfo("int8" if t.dtype == "int4" else t.dtype)
        if q.zero_point.min() < info.min or q.zero_point.max() > info.max:
            _fail(f"tensor '{name}' ({t.dtype}) has zero point {int(q.zero_point.max())} "
                  "outside its type's range")


def _check_node_facts(graph: Graph, node, attrs: dict) -> None:
    """What kernels and lowering assume of every node: bounded windows, quantized integer
    activations, no mix of float and integer data except in (de)quantization."""
    what = f"node '{node.name}' ({node.op})"
    for key, value in attrs.items():
        if key != "value" and isinstance(value, float) and not math.isfinite(value):
            _fail(f"{what} has attribute {key} = {value}")
    for key, low in _WINDOW_ATTRS.items():
        if attrs.get(key) is not None:
            check_window(what, key, _flat(attrs[key]), low)
    tensors = [graph.tensors[n] for n in (*node.inputs, *node.outputs) if n in graph.tensors]
    op = get_op(node.op)
    first = graph.tensors[node.inputs[0]]
    if op.casts:
        _check_cast(node, tensors, what)
        return
    if op.bool_inputs or op.bool_output:
        _check_bool(graph, node, op, what)
        return
    if kernel_key(first) in PLAIN_INT_KEYS and kernel_key(first) in op.dtypes:
        _check_plain(node, first, tensors, what)
        return
    for t in tensors if op.requantizes else ():
        if t.dtype in _QUANTIZED and t.quant is None:
            _fail(f"{what} reads or writes {t.dtype} tensor '{t.name}' without quantization "
                  "parameters")
    if op.converts:
        x, y = graph.tensors[node.inputs[0]].dtype, graph.tensors[node.outputs[0]].dtype
        # DEQUANTIZE writes float from integers; every other converting op (QUANTIZE,
        # MAX_POOL_2D_INDICES) writes integers
        if (y != "float32" or x == "float32") if node.op == "DEQUANTIZE" else y == "float32":
            _fail(f"{what} reads {x} and writes {y}")
        return
    if len({t.dtype == "float32" for t in tensors}) > 1:
        _fail(f"{what} mixes float32 and integer tensors")
    for o in node.outputs:
        if not op.retypes and graph.tensors[o].dtype != first.dtype:
            _fail(f"{what} reads {first.dtype} but writes {graph.tensors[o].dtype} '{o}'")
    _check_weights(graph, node, attrs, what)


def _check_bool(graph: Graph, node, op, what: str) -> None:
    """An op on bool tensors (comparisons, logic, selection): bool where the op declares it,
    the other tensors all of one float32, plain integer or bool type, none quantized, or all
    quantized int8 (int8 comparisons, SELECT_V2)."""
    ins = [graph.tensors[n] if n else None for n in node.inputs]
    outs = [graph.tensors[n] for n in node.outputs]
    bools = [ins[i] for i in op.bool_inputs if i < len(ins) and ins[i] is not None]
    bools += outs if op.bool_output else []
    for t in bools:
        if t.dtype != "bool":
            _fail(f"{what} takes bool '{t.name}' but it is {t.dtype}")
    rest = [t for t in (*ins, *outs) if t is not None and all(t is not b for b in bools)]
    # int8 comparisons and SELECT_V2 read quantized int8 (all of them); the rest plain values.
    quantized = bool(rest) and rest[0].dtype == "int8" and rest[0].quant is not None
    for t in rest:
        if (t.quant is not None) != quantized or t.dtype != rest[0].dtype:
            kind = "quantized " if t.quant is not None else ""
            _fail(f"{what} mixes {rest[0].dtype} '{rest[0].name}' with {kind}{t.dtype} "
                  f"'{t.name}'")


def _check_plain(node, first, tensors, what: str) -> None:
    """A node on plain integers (docs/IR.md "Plain integers") reads and writes only plain
    integers of one dtype: no quantized tensor, no other type, meets them."""
    for t in tensors:
        if t.dtype != first.dtype or t.quant is not None:
            kind = "quantized " if t.quant is not None else ""
            _fail(f"{what} reads plain {first.dtype} '{first.name}' and {kind}{t.dtype} "
                  f"'{t.name}'")


def _check_cast(node, tensors, what: str) -> None:
    """A cast reads and writes floats or plain integers (quantized codes are not values)."""
    for t in tensors:
        plain = kernel_key(t) in PLAIN_INT_KEYS or t.dtype in NARROW_INT_DTYPES
        if t.quant is not None or (not is_float(t.dtype) and t.dtype != "bool" and not plain):
            kind = "quantized " if t.quant is not None else ""
            _fail(f"{what} casts {kind}{t.dtype} '{t.name}'; it casts floats, plain "
                  "integers and bool")


def _check_weights(graph: Graph, node, attrs: dict, what: str) -> None:
    """Weights and bias of a convolution agree with its input channels and output depth."""
    if get_op(node.op).weight_axis is None \
            or len(node.inputs) < 2 or node.inputs[1] not in graph.tensors:
        return
    x, w = graph.tensors[node.inputs[0]].shape, graph.tensors[node.inputs[1]].shape
    if node.op == "FULLY_CONNECTED":
        _check_bias(graph, node, what, w[0] if w else 0)
        return
    if len(x) != 4 or len(w) != 4:
        _fail(f"{what} needs rank-4 input and weights, has {list(x)} and {list(w)}")
    if node.op == "CONV_2D":  # OHWI weights; I < C: grouped, C / I groups
        ok, out = w[3] > 0 and x[3] % w[3] == 0 and w[0] % (x[3] // w[3]) == 0, w[0]
    elif node.op == "TRANSPOSE_CONV":
        ok, out = w[3] == x[3], w[0]
    else:
        ok, out = w[0] == 1 and w[3] == x[3] * attrs["depth_multiplier"], w[3]
    if not ok:
        _fail(f"{what}: weights {list(w)} do not fit input {list(x)}")
    _check_bias(graph, node, what, out)


def _check_bias(graph: Graph, node, what: str, out: int) -> None:
    if len(node.inputs) > 2 and node.inputs[2] in graph.tensors:
        bias = graph.tensors[node.inputs[2]].shape
        if math.prod(bias) != out:
            _fail(f"{what}: bias {list(bias)} does not hold one value per output channel ({out})")


def _flat(value) -> list[int]:
    if isinstance(value, (list, tuple)):
        return [v for item in value for v in _flat(item)]
    return [int(value)]


def _check_operands(graph: Graph, node) -> None:
    """The inputs shape inference and the kernel index exist and have the ranks they need."""
    present = [i for i in node.inputs if i]
    op = get_op(node.op)
    need = op.min_inputs
    if len(node.inputs) < need or not all(node.inputs[:need]) or not node.outputs:
        _fail(f"node '{node.name}' ({node.op}) has {len(present)} inputs and "
              f"{len(node.outputs)} outputs, it needs {need} inputs and an output")
    for name, rank in zip(node.inputs, op.ranks):
        if rank is not None and len(graph.tensors[name].shape) != rank:
            _fail(f"node '{node.name}' ({node.op}) needs a rank-{rank} '{name}', it has shape "
                  f"{list(graph.tensors[name].shape)}")
