"""Structure-aware ONNX mutators: edits of the parsed ``ModelProto``, serialised again.

Each mutator edits a model in place with a ``random.Random``: initializer dims, dtypes and
data; node types, inputs (cycles) and attributes; quantization scales; graph input shapes;
external-data locations.
"""

from __future__ import annotations

import struct

import onnx

_INTS = (0, 1, 2, 3, -1, -2, 7, 255, 1000, 100_000, 2**24, 2**31, 2**31 - 1, -2**31, 2**40)
_FLOATS = (0.0, -0.0, 1.0, -1.0, 1e-45, 3.4e38, -3.4e38, float("inf"), float("-inf"),
           float("nan"))
_OP_TYPES = ("Conv", "Relu", "Add", "MatMul", "Gemm", "Reshape", "QuantizeLinear",
             "DequantizeLinear", "AveragePool", "MaxPool", "Softmax", "Transpose", "Pad",
             "Concat", "Flatten", "Unknown", "conv", "\x1b[2JEvil", "Loop", "")


def _pick(rng, seq):
    return seq[rng.randrange(len(seq))] if len(seq) else None


def init_dims(model: onnx.ModelProto, rng) -> None:
    """An initializer's dims change without its data: sizes disagree."""
    init = _pick(rng, model.graph.initializer)
    if init is None:
        return
    if init.dims and rng.random() < 0.7:
        init.dims[rng.randrange(len(init.dims))] = rng.choice(_INTS)
    elif rng.random() < 0.5:
        init.dims.append(rng.choice((1, 2, 3)))
    elif init.dims:
        del init.dims[-1]


def init_dtype(model: onnx.ModelProto, rng) -> None:
    init = _pick(rng, model.graph.initializer)
    if init is not None:
        init.data_type = rng.choice((0, 1, 2, 3, 5, 6, 7, 9, 10, 11, 16, 17, 21, 22, 40, 99))


def init_data(model: onnx.ModelProto, rng) -> None:
    """An initializer's data is cut, extended, moved to a typed field, or made extreme."""
    init = _pick(rng, model.graph.initializer)
    if init is None:
        return
    choice = rng.randrange(4)
    raw = init.raw_data
    if choice == 0 and raw:
        init.raw_data = raw[:rng.randrange(len(raw))]
    elif choice == 1:
        init.raw_data = raw + bytes(rng.randrange(1, 9))
    elif choice == 2 and raw and len(raw) >= 4:
        at = rng.randrange(len(raw) - 3)
        init.raw_data = raw[:at] + struct.pack("<f", rng.choice(_FLOATS)) + raw[at + 4:]
    else:
        init.ClearField("raw_data")
        init.float_data.extend(rng.choice(_FLOATS) for _ in range(rng.randrange(4)))
        init.int64_data.extend(rng.choice(_INTS) % 2**63 for _ in range(rng.randrange(3)))


def quant_scale(model: onnx.ModelProto, rng) -> None:
    """The scale (or zero point) read by a Q/DQ node becomes 0, negative, NaN or inf."""
    qdq = [n for n in model.graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")]
    node = _pick(rng, qdq)
    inits = {i.name: i for i in model.graph.initializer}
    if node is None or len(node.input) < 2 or node.input[1] not in inits:
        return
    init = inits[node.input[1]]
    values = [rng.choice(_FLOATS)]
    init.ClearField("raw_data")
    del init.float_data[:]
    init.data_type = onnx.TensorProto.FLOAT
    if rng.random() < 0.3:
        values = values * rng.choice((2, 3))
    init.float_data.extend(values)
    del init.dims[:]
    if len(values) > 1:
        init.dims.append(len(values))


def node_type(model: onnx.ModelProto, rng) -> None:
    node = _pick(rng, model.graph.node)
    if node is not None:
        node.op_type = rng.choice(_OP_TYPES)


def node_cycle(model: onnx.ModelProto, rng) -> None:
    """A node reads the output of itself or of a later node."""
    nodes = model.graph.node
    if not nodes:
        return
    i = rng.randrange(len(nodes))
    j = rng.randrange(i, len(nodes))
    if nodes[i].input and nodes[j].output:
        nodes[i].input[rng.randrange(len(nodes[i].input))] = nodes[j].output[0]


def node_io(model: onnx.ModelProto, rng) -> None:
    """A node input is dropped, renamed to nothing, or an extra input appears."""
    node = _pick(rng, model.graph.node)
    if node is None:
        return
    choice = rng.randrange(3)
    if choice == 0 and node.input:
        del node.input[rng.randrange(len(node.input))]
    elif choice == 1 and node.input:
        node.input[rng.randrange(len(node.input))] = rng.choice(("", "missing", "\x07bell"))
    else:
        node.input.append(_pick(rng, [i.name for i in model.graph.initializer]) or "x")


def node_order(model: onnx.ModelProto, rng) -> None:
    nodes = model.graph.node
    if len(nodes) >= 2:
        i, j = rng.sample(range(len(nodes)), 2)
        a, b = onnx.NodeProto(), onnx.NodeProto()
        a.CopyFrom(nodes[i])
        b.CopyFrom(nodes[j])
        nodes[i].CopyFrom(b)
        nodes[j].CopyFrom(a)


def node_attr(model: onnx.ModelProto, rng) -> None:
    """An attribute value (pads, strides, kernel_shape, axis, perm...) becomes odd."""
    nodes = [n for n in model.graph.node if n.attribute]
    node = _pick(rng, nodes)
    if node is None:
        return
    attr = _pick(rng, node.attribute)
    if attr.ints:
        attr.ints[rng.randrange(len(attr.ints))] = rng.choice(_INTS) % 2**63 - (
            2**63 if rng.random() < 0.1 else 0)
        if rng.random() < 0.2:
            del attr.ints[-1]
    elif attr.type == onnx.AttributeProto.INT:
        attr.i = rng.choice(_INTS) % 2**62
    elif attr.type == onnx.AttributeProto.FLOAT:
        attr.f = rng.choice(_FLOATS)
    elif attr.type == onnx.AttributeProto.STRING:
        attr.s = rng.choice((b"", b"SAME_UPPER", b"VALID", b"\xff\xfe", b"NOTSET", b"\x1b[31m"))
    else:
        attr.type = rng.randrange(16)


def input_shape(model: onnx.ModelProto, rng) -> None:
    inp = _pick(rng, model.graph.input)
    if inp is None:
        return
    dims = inp.type.tensor_type.shape.dim
    if dims:
        dims[rng.randrange(len(dims))].dim_value = rng.choice(_INTS) % 2**62
    if rng.random() < 0.2:
        inp.type.tensor_type.elem_type = rng.randrange(17)


def external_data(model: onnx.ModelProto, rng) -> None:
    """An initializer claims its data lives in another file."""
    init = _pick(rng, model.graph.initializer)
    if init is None:
        return
    init.ClearField("raw_data")
    init.data_location = onnx.TensorProto.EXTERNAL
    del init.external_data[:]
    location = rng.choice(("weights.bin", "../weights.bin", "/etc/passwd", "sub/../../x",
                           "", "\x00", "model.onnx", "."))
    entry = init.external_data.add()
    entry.key, entry.value = "location", location
    if rng.random() < 0.5:
        entry = init.external_data.add()
        entry.key, entry.value = rng.choice(("offset", "length")), str(rng.choice(_INTS))


MUTATORS = {f.__name__: f for f in (init_dims, init_dtype, init_data, quant_scale, node_type,
                                      node_cycle, node_io, node_order, node_attr, input_shape,
                                      external_data)}


def mutate(data: bytes, rng, count: int) -> tuple[bytes, list[str]]:
    model = onnx.ModelProto()
    model.ParseFromString(data)
    names = []
    for _ in range(count):
        name = rng.choice(sorted(MUTATORS))
        MUTATORS[name](model, rng)
        names.append(name)
    return model.SerializeToString(), names
