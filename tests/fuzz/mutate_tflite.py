"""Structure-aware TFLite mutators: edits made in place inside the flatbuffer.

Each mutator takes the file bytes and a ``random.Random`` and returns new bytes. The edits
follow the schema (a tensor's shape vector, its type byte, an operator's input list, an
options field, a quantization scale...) so that the file still parses and the importer's
checks, not the flatbuffer reader, are what is exercised.
"""

from __future__ import annotations

import struct

import tflite

# Values that have broken importers before: zero, negative, one past the end, huge.
_INTS = (0, 1, 2, 3, -1, -2, 7, 255, 256, 1000, 65535, 100_000, 2**24, 2**31 - 1, -2**31)
_FLOATS = (0.0, -0.0, 1.0, -1.0, 1e-45, 1e-30, 3.4e38, -3.4e38, float("inf"), float("-inf"),
           float("nan"), 0.5, 1e10)


def _slot(table, vt_offset: int) -> int:
    """Absolute byte position of a present scalar field (0 when absent)."""
    o = table._tab.Offset(vt_offset)
    return table._tab.Pos + o if o else 0


def _vector(table, vt_offset: int) -> tuple[int, int]:
    """(absolute start of elements, length) of a vector field; (0, 0) when absent."""
    o = table._tab.Offset(vt_offset)
    if not o:
        return 0, 0
    return table._tab.Vector(o), table._tab.VectorLen(o)


def _model(buf: bytearray):
    model = tflite.Model.GetRootAsModel(buf, 0)
    return model, model.Subgraphs(0)


def _pick_int(rng, count: int) -> int:
    if count and rng.random() < 0.5:
        return rng.choice((rng.randrange(count), count, count + 1, -1, -2))
    return rng.choice(_INTS)


def _put_i32(buf: bytearray, pos: int, value: int) -> None:
    struct.pack_into("<i", buf, pos, max(-2**31, min(2**31 - 1, value)))


def tensor_shape(buf: bytearray, rng) -> None:
    """One dimension of one tensor's shape becomes an odd value."""
    _, sg = _model(buf)
    t = sg.Tensors(rng.randrange(sg.TensorsLength()))
    start, n = _vector(t, 4)
    if n:
        _put_i32(buf, start + 4 * rng.randrange(n), _pick_int(rng, 8))


def tensor_rank(buf: bytearray, rng) -> None:
    """A tensor's shape vector loses (or claims more) dimensions."""
    _, sg = _model(buf)
    t = sg.Tensors(rng.randrange(sg.TensorsLength()))
    start, n = _vector(t, 4)
    if n:
        struct.pack_into("<I", buf, start - 4, rng.choice((0, max(n - 1, 0), n + 1, 9)))


def tensor_type(buf: bytearray, rng) -> None:
    _, sg = _model(buf)
    pos = _slot(sg.Tensors(rng.randrange(sg.TensorsLength())), 6)
    if pos:
        buf[pos] = rng.randrange(20)


def tensor_buffer(buf: bytearray, rng) -> None:
    model, sg = _model(buf)
    pos = _slot(sg.Tensors(rng.randrange(sg.TensorsLength())), 8)
    if pos:
        struct.pack_into("<I", buf, pos, _pick_int(rng, model.BuffersLength()) & 0xFFFFFFFF)


def op_io(buf: bytearray, rng) -> None:
    """An operator reads or writes another tensor: out of range, absent, or a later op's
    output (a cycle in the data flow)."""
    _, sg = _model(buf)
    op = sg.Operators(rng.randrange(sg.OperatorsLength()))
    start, n = _vector(op, rng.choice((6, 8)))
    if n:
        _put_i32(buf, start + 4 * rng.randrange(n), _pick_int(rng, sg.TensorsLength()))


def op_cycle(buf: bytearray, rng) -> None:
    """An early operator reads the output of a later one."""
    _, sg = _model(buf)
    count = sg.OperatorsLength()
    if count < 2:
        return
    i, j = sorted(rng.sample(range(count), 2))
    out_start, out_n = _vector(sg.Operators(j), 8)
    in_start, in_n = _vector(sg.Operators(i), 6)
    if out_n and in_n:
        value = struct.unpack_from("<i", buf, out_start)[0]
        _put_i32(buf, in_start + 4 * rng.randrange(in_n), value)


def op_arity(buf: bytearray, rng) -> None:
    """An operator's input or output list gets shorter (or claims to be longer)."""
    _, sg = _model(buf)
    op = sg.Operators(rng.randrange(sg.OperatorsLength()))
    start, n = _vector(op, rng.choice((6, 8)))
    if n:
        struct.pack_into("<I", buf, start - 4, rng.choice((0, n - 1, n + 1)))


def op_code(buf: bytearray, rng) -> None:
    """An operator's opcode index, or an operator code's builtin number, changes."""
    model, sg = _model(buf)
    if rng.random() < 0.5:
        pos = _slot(sg.Operators(rng.randrange(sg.OperatorsLength())), 4)
        if pos:
            struct.pack_into("<I", buf, pos, _pick_int(rng, model.OperatorCodesLength())
                             & 0xFFFFFFFF)
        return
    code = model.OperatorCodes(rng.randrange(model.OperatorCodesLength()))
    pos = _slot(code, 4)  # deprecated_builtin_code, one byte
    if pos:
        buf[pos] = rng.randrange(128)
    pos = _slot(code, 10)
    if pos:
        _put_i32(buf, pos, rng.randrange(210))


def op_options(buf: bytearray, rng) -> None:
    """One field of an operator's builtin options table gets an odd value."""
    _, sg = _model(buf)
    op = sg.Operators(rng.randrange(sg.OperatorsLength()))
    table = op.BuiltinOptions()
    if table is None:
        return
    vtable = table.Pos - struct.unpack_from("<i", buf, table.Pos)[0]
    vsize = struct.unpack_from("<H", buf, vtable)[0]
    slots = [s for s in range(4, vsize, 2) if struct.unpack_from("<H", buf, vtable + s)[0]]
    if not slots:
        return
    pos = table.Pos + struct.unpack_from("<H", buf, vtable + rng.choice(slots))[0]
    if rng.random() < 0.5 or pos + 4 > len(buf):
        buf[pos] = rng.randrange(256)
    else:
        _put_i32(buf, pos, rng.choice(_INTS))


def quant_params(buf: bytearray, rng) -> None:
    """A quantization scale, zero point or axis becomes zero, negative, NaN, inf, huge."""
    _, sg = _model(buf)
    t = sg.Tensors(rng.randrange(sg.TensorsLength()))
    q = t.Quantization()
    if q is None:
        return
    which = rng.randrange(3)
    if which == 0:
        start, n = _vector(q, 8)
        if n:
            struct.pack_into("<f", buf, start + 4 * rng.randrange(n), rng.choice(_FLOATS))
    elif which == 1:
        start, n = _vector(q, 10)
        if n:
            struct.pack_into("<q", buf, start + 8 * rng.randrange(n), rng.choice(_INTS))
    else:
        pos = _slot(q, 16)
        if pos:
            _put_i32(buf, pos, rng.choice(_INTS))


def buffer_data(buf: bytearray, rng) -> None:
    """Constant data: a run of bytes is replaced (floats become NaN/inf, ints extreme)."""
    model, _ = _model(buf)
    count = model.BuffersLength()
    if count < 2:
        return
    start, n = _vector(model.Buffers(rng.randrange(1, count)), 4)
    if n >= 4:
        at = rng.randrange(0, n - 3) & ~3
        value = rng.choice((struct.pack("<f", rng.choice(_FLOATS)),
                            struct.pack("<i", rng.choice(_INTS) & 0x7FFFFFFF), b"\x7f\x80\x00\xff"))
        buf[start + at:start + at + 4] = value


def buffer_length(buf: bytearray, rng) -> None:
    """A buffer's data vector claims a different length than its tensor needs."""
    model, _ = _model(buf)
    count = model.BuffersLength()
    if count < 2:
        return
    start, n = _vector(model.Buffers(rng.randrange(1, count)), 4)
    if n:
        struct.pack_into("<I", buf, start - 4, rng.choice((0, 1, n // 2, n - 1, n + 3)))


MUTATORS = {f.__name__: f for f in (tensor_shape, tensor_rank, tensor_type, tensor_buffer,
                                      op_io, op_cycle, op_arity, op_code, op_options,
                                      quant_params, buffer_data, buffer_length)}


def mutate(data: bytes, rng, count: int) -> tuple[bytes, list[str]]:
    """``count`` structure-aware edits; a mutator that cannot apply is skipped."""
    buf = bytearray(data)
    names = []
    for _ in range(count):
        name = rng.choice(sorted(MUTATORS))
        try:
            MUTATORS[name](buf, rng)
        except Exception:  # an earlier edit may have made this one unreadable: skip it
            continue
        names.append(name)
    return bytes(buf), names
