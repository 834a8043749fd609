"""Lowered TIR -> one plain C99 function (no TVM runtime, no allocation, no stdio).

The printer is two tables from TIR node type to a small function, in the shape of tinygrad's
``renderer/cstyle.py``: ``_STMT`` for statements, ``_EXPR`` for expressions. A node type not in
a table, an intrinsic not listed, or a local array larger than ``MAX_LOCAL_BYTES`` raises
``CPrintError`` naming it: the printer never guesses. Every subexpression is parenthesised,
integer immediates carry their width, and names are made unique in traversal order, so the same
TIR always prints to the same bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from edgec.cdefs import (C_KEYWORDS, C_TYPES, MATH_FUNCTIONS, MAX_LINE, TIR_MATH, TIR_MATH_DOUBLE,
                         CParam)
from edgec.ir.floats import MINIFLOATS

MAX_LOCAL_BYTES = 256  # local arrays beyond this mean a stage was not placed by the schedule

_BINARY = {
    "Add": "+", "Sub": "-", "Mul": "*", "Mod": "%", "BitwiseAnd": "&", "BitwiseOr": "|",
    "BitwiseXor": "^", "RShift": ">>", "EQ": "==", "NE": "!=", "LT": "<", "LE": "<=",
    "GT": ">", "GE": ">=", "And": "&&", "Or": "||",
}
_EXTERN_OK = MATH_FUNCTIONS  # float32's and double's
# Extern calls of the helpers in templates/kernels/requant.h.j2, ipow.h.j2, div_int8.h.j2 and
# minifloat.h.j2, by helper name (edgec.lower.templates.HELPERS).
_HELPER_CALLS = {"edgec_mbqm": "mbqm", "edgec_mbqm_left": "mbqm_left",
                 "edgec_ipow_int32": "ipow_int32", "edgec_ipow_int64": "ipow_int64",
                 "edgec_div_int8": "div_int8",
                 "edgec_mf_decode": "minifloat", "edgec_mf_encode": "minifloat",
                 "edgec_e8m0_encode": "minifloat"}


@dataclass
class Printed:
    """A printed kernel: its parameters as data, its body (``{ ... }``, not naming the
    function) and the <math.h> functions the body calls."""

    params: list[CParam]
    body: str
    math: tuple[str, ...]
    helpers: tuple[str, ...] = ()


class CPrintError(Exception):
    """The TIR holds something this printer cannot express faithfully in C99."""


def print_kernel(func, unrestricted: frozenset[str] = frozenset()) -> Printed:
    """A lowered PrimFunc as a C99 ``void`` function: parameters and body (the emitter names
    it and adds storage class). Parameters never stored to are ``const``; all are
    ``restrict`` when the function carries ``tirx.noalias``, except those named in
    ``unrestricted`` (an input and the output that may share bytes: ``restrict`` on either
    would make that sharing undefined behaviour)."""
    return _Printer(func).function(unrestricted)


def _dtype(node) -> str:
    return str(node.ty.dtype)


def ctype(dtype: str) -> str:
    """The C type of a TIR dtype; one C cannot hold raises ``CPrintError``."""
    if dtype not in C_TYPES or dtype in MINIFLOATS:  # minifloats are uint bits in TIR
        raise CPrintError(f"unsupported TIR dtype {dtype}")
    return C_TYPES[dtype]


def _key(obj) -> int:
    return obj.__chandle__()


class _Printer:
    def __init__(self, func):
        self.func = func
        self.names: dict[int, str] = {}  # Var handle -> C identifier
        self.buffers: dict[int, str] = {}  # buffer Var handle -> C array name
        self.used: set[str] = set()
        self.lines: list[str] = []
        self.depth = 1
        self.math: set[str] = set()
        self.helpers: set[str] = set()  # min/max helpers called, e.g. "min_int32_t"
        self.scalars: set[str] = set()  # one-element local arrays, printed as scalars

    # -- naming ------------------------------------------------------------------------------
    def fresh(self, hint: str) -> str:
        base = re.sub(r"\W", "_", hint) or "v"
        if base[0].isdigit() or base in C_KEYWORDS or base in C_TYPES.values():
            base = "v_" + base
        name, i = base, 1
        while name in self.used:
            name, i = f"{base}_{i}", i + 1
        self.used.add(name)
        return name

    def buffer(self, var) -> str:
        if _key(var) not in self.buffers:
            raise CPrintError(f"buffer '{var.name}' is used but never declared")
        return self.buffers[_key(var)]

    # -- function ----------------------------------------------------------------------------
    def function(self, unrestricted: frozenset[str]) -> Printed:
        stored = _stored_buffers(self.func.body)
        noalias = bool(self.func.attrs.get("tirx.noalias", False))
        params = []
        for p in self.func.params:
            c_name = self.fresh(p.name)
            self.buffers[_key(p)] = c_name
            params.append(CParam(c_name, ctype(str(p.ty.dtype)), const=_key(p) not in stored,
                                 restrict=noalias and str(p.name) not in unrestricted))
        self.stmt(self.func.body)
        body = "\n".join(self.lines)
        return Printed(params, f"{{\n{body}\n}}\n", tuple(sorted(self.math)),
                       tuple(sorted(self.helpers)))

    def emit(self, line: str) -> None:
        """One statement at the current depth, broken at spaces into lines of at most
        ``MAX_LINE`` columns (the printed C has no string literals, so any space may break)."""
        indent = "    " * self.depth
        text = indent + line
        while len(text) > MAX_LINE:
            cut = text.rfind(" ", len(indent) + 8, MAX_LINE + 1)
            if cut < 0:
                break
            self.lines.append(text[:cut])
            text = indent + "        " + text[cut + 1:]
        self.lines.append(text)

    # -- statements --------------------------------------------------------------------------
    def stmt(self, s) -> None:
        handler = _STMT.get(type(s).__name__)
        if handler is None:
            raise CPrintError(f"unsupported TIR statement {type(s).__name__}")
        handler(self, s)

    def block(self, s) -> None:
        self.depth += 1
        self.stmt(s)
        self.depth -= 1

    # -- expressions -------------------------------------------------------------------------
    def expr(self, e) -> str:
        handler = _EXPR.get(type(e).__name__)
        if handler is None:
            raise CPrintError(f"unsupported TIR expression {type(e).__name__}")
        return handler(self, e)


def _stored_buffers(body) -> set[int]:
    """Handles of every parameter a BufferStore writes, directly or through a DeclBuffer view."""
    views: dict[int, int] = {}
    stored: set[int] = set()

    def visit(s) -> None:
        kind = type(s).__name__
        if kind == "DeclBuffer" and _buffer_data_arg(s.data) is not None:
            views[_key(s.buffer)] = _key(_buffer_data_arg(s.data))
        elif kind == "BufferStore":
            stored.add(views.get(_key(s.buffer), _key(s.buffer)))
        for attr in ("body", "then_case", "else_case"):
            child = getattr(s, attr, None)
            if child is not None:
                visit(child)
        for child in getattr(s, "seq", ()):
            visit(child)

    visit(body)
    return stored


def _buffer_data_arg(data):
    """The buffer Var ``v`` when ``data`` is ``tirx.buffer_data(v)``, else None."""
    if type(data).__name__ == "Call" and str(data.op.name).endswith(".buffer_data"):
        return data.args[0]
    return None


# -- statement handlers ----------------------------------------------------------------------
def _seq(p: _Printer, s) -> None:
    for child in s.seq:
        p.stmt(child)


def _for(p: _Printer, s) -> None:
    if s.step is not None or int(s.kind) not in (0, 3):  # serial, unrolled
        raise CPrintError(f"unsupported loop kind {s.kind} with step {s.step}")
    var = p.fresh(s.loop_var.name)
    p.names[_key(s.loop_var)] = var
    c_type = ctype(_dtype(s.loop_var))
    lo, extent = p.expr(s.min), p.expr(s.extent)
    end = extent if lo == "0" else f"({lo} + {extent})"
    p.emit(f"for ({c_type} {var} = {lo}; {var} < {end}; ++{var}) {{")
    p.block(s.body)
    p.emit("}")


def _bind(p: _Printer, s) -> None:
    value = p.expr(s.value)
    var = p.fresh(s.var.name)
    p.names[_key(s.var)] = var
    p.emit(f"const {ctype(_dtype(s.var))} {var} = {value};")


def _store(p: _Printer, s) -> None:
    if len(s.indices) != 1:
        raise CPrintError(f"store to '{s.buffer.name}' has {len(s.indices)} indices, expected "
                          "a flattened buffer")
    name = p.buffer(s.buffer)
    target = name if name in p.scalars else f"{name}[{p.expr(s.indices[0])}]"
    p.emit(f"{target} = {p.expr(s.value)};")


def _alloc(p: _Printer, s) -> None:
    buf = s.buffer
    count = 1
    for d in buf.shape:
        if type(d).__name__ != "IntImm":
            raise CPrintError(f"local array '{buf.name}' has a symbolic size")
        count *= int(d.value)
    dtype = str(buf.ty.dtype)
    nbytes = count * max(1, int(re.sub(r"\D", "", dtype) or 8) // 8)
    if nbytes > MAX_LOCAL_BYTES:
        raise CPrintError(f"local array '{buf.name}' needs {nbytes} bytes (more than "
                          f"{MAX_LOCAL_BYTES}): a stage was not placed by the schedule")
    name = p.fresh(buf.name)
    p.buffers[_key(buf)] = name
    if count == 1:  # its only element is index 0: a scalar reads better
        p.scalars.add(name)
        p.emit(f"{ctype(dtype)} {name};")
    else:
        p.emit(f"{ctype(dtype)} {name}[{count}];")


def _decl(p: _Printer, s) -> None:
    target = _buffer_data_arg(s.data)
    if target is None:
        raise CPrintError(f"buffer view '{s.buffer.name}' over unsupported data {s.data}")
    if str(target.ty.dtype) != str(s.buffer.ty.dtype):
        raise CPrintError(f"buffer view '{s.buffer.name}' reinterprets {target.ty.dtype} as "
                          f"{s.buffer.ty.dtype}")
    p.buffers[_key(s.buffer)] = p.buffer(target)


def _outer_parens_dropped(text: str) -> str:
    """``text`` without one pair of parentheses around all of it: ``if ((a == 0))`` is
    clang's -Wparentheses-equality error under -Werror."""
    if not (text.startswith("(") and text.endswith(")")):
        return text
    depth = 0
    for k, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0 and k < len(text) - 1:
            return text  # "(a) && (b)": the first parenthesis closes early
    return text[1:-1]


def _if(p: _Printer, s) -> None:
    p.emit(f"if ({_outer_parens_dropped(p.expr(s.condition))}) {{")
    p.block(s.then_case)
    if s.else_case is not None:
        p.emit("} else {")
        p.block(s.else_case)
    p.emit("}")


def _evaluate(p: _Printer, s) -> None:
    if type(s.value).__name__ != "IntImm":
        raise CPrintError(f"unsupported Evaluate of {type(s.value).__name__}")


_STMT = {"SeqStmt": _seq, "For": _for, "Bind": _bind, "BufferStore": _store,
         "AllocBuffer": _alloc, "DeclBuffer": _decl, "IfThenElse": _if, "Evaluate": _evaluate}


# -- expression handlers ---------------------------------------------------------------------
def _int_imm(p: _Printer, e) -> str:
    dtype, v = _dtype(e), int(e.value)
    if dtype == "bool":
        return str(v)
    bits = int(re.sub(r"\D", "", dtype))
    if dtype.startswith("int") and v == -(1 << (bits - 1)):
        body = f"(-{-(v + 1)} - 1)" if bits <= 32 else f"(-INT64_C({-(v + 1)}) - 1)"
    elif bits == 64:
        body = f"INT64_C({v})" if dtype == "int64" else f"UINT64_C({v})"
    else:
        body = f"{v}" + ("u" if dtype.startswith("uint") else "")
    if bits in (32, 64):
        return body if v >= 0 else f"({body})"
    return f"(({ctype(dtype)}){body})"


def _float_imm(p: _Printer, e) -> str:
    if _dtype(e) == "float64" and float(e.value) == float(e.value) \
            and abs(float(e.value)) != float("inf"):
        v = float(e.value)
        return f"({v.hex()})" if v < 0 else v.hex()
    if _dtype(e) != "float32":
        raise CPrintError(f"unsupported float immediate of type {_dtype(e)}")
    v = float(e.value)
    if v != v:
        raise CPrintError("NaN immediate")
    if v in (float("inf"), float("-inf")):
        p.math.add("INFINITY")  # a <math.h> macro: the emitter includes the header
        return "INFINITY" if v > 0 else "(-INFINITY)"
    # Hex floats are exact: the float32 value round-trips byte for byte.
    return f"({v.hex()}f)" if v < 0 else f"{v.hex()}f"


def _var(p: _Printer, e) -> str:
    if _key(e) not in p.names:
        raise CPrintError(f"variable '{e.name}' is used but never bound")
    return p.names[_key(e)]


def _binary(p: _Printer, e) -> str:
    return f"({p.expr(e.a)} {_BINARY[type(e).__name__]} {p.expr(e.b)})"


def _div(p: _Printer, e) -> str:
    # TIR's Div on integers truncates toward zero, exactly as C99's "/".
    return f"({p.expr(e.a)} / {p.expr(e.b)})"


def _floor_div(p: _Printer, e) -> str:
    if _dtype(e).startswith("float"):
        p.math.add("floorf")
        return f"floorf({p.expr(e.a)} / {p.expr(e.b)})"
    a, b = p.expr(e.a), p.expr(e.b)
    # Truncated quotient, minus one when the remainder is non-zero and the signs differ.
    return f"(({a} / {b}) - ((({a} % {b}) != 0) && ((({a} % {b}) < 0) != ({b} < 0))))"


def _floor_mod(p: _Printer, e) -> str:
    if _dtype(e).startswith("float"):
        raise CPrintError("unsupported float FloorMod")
    a, b = p.expr(e.a), p.expr(e.b)
    return f"((({a} % {b}) + {b}) % {b})"


def _lshift(p: _Printer, e) -> str:
    # A left shift of a negative value is undefined in C99: only shift literal non-negatives.
    if type(e.a).__name__ != "IntImm" or int(e.a.value) < 0:
        raise CPrintError("left shift of a value not known to be non-negative")
    return _binary_op(p, e, "<<")


def _binary_op(p: _Printer, e, op: str) -> str:
    return f"({p.expr(e.a)} {op} {p.expr(e.b)})"


_SIMPLE = re.compile(r"\(?-?[\w.+]+\)?|[A-Za-z_]\w*\[[\w +*-]*\]")


def _min_max(p: _Printer, e, which: str, op: str) -> str:
    """``min``/``max`` with each operand evaluated once: inline when both are a name, a
    literal or a plain load, else a call of a ``static inline`` helper
    (``templates/kernels/minmax.h.j2``)."""
    a, b = p.expr(e.a), p.expr(e.b)
    if _SIMPLE.fullmatch(a) and _SIMPLE.fullmatch(b):
        return f"(({_pick(a, op, b)}) ? {a} : {b})" if _dtype(e).startswith("float") \
            else f"(({a} {op} {b}) ? {a} : {b})"
    c_type = ctype(_dtype(e))
    p.helpers.add(f"{which}_{c_type}")
    return f"edgec_{which}_{c_type.removesuffix('_t')}({a}, {b})"


def _pick(a: str, op: str, b: str) -> str:
    """The float condition choosing ``a``: a NaN in either operand propagates, as in the
    reference (``a`` when it is NaN; ``b`` when it is NaN, since every comparison fails)."""
    return f"({a} {op} {b}) || ({a} != {a})"


def _min(p: _Printer, e) -> str:
    return _min_max(p, e, "min", "<")


def _max(p: _Printer, e) -> str:
    return _min_max(p, e, "max", ">")


def _not(p: _Printer, e) -> str:
    return f"(!{p.expr(e.a)})"


def _bit_not(p: _Printer, e) -> str:
    return f"(~{p.expr(e.a)})"


def _select(p: _Printer, e) -> str:
    return f"({p.expr(e.condition)} ? {p.expr(e.true_value)} : {p.expr(e.false_value)})"


def _cast(p: _Printer, e) -> str:
    if _dtype(e) == "bool":  # C's conversion to bool: zero or not (a cast could truncate)
        return f"({p.expr(e.value)} != 0)"
    return f"(({ctype(_dtype(e))}){p.expr(e.value)})"


def _load(p: _Printer, e) -> str:
    if len(e.indices) != 1:
        raise CPrintError(f"load from '{e.source.name}' has {len(e.indices)} indices")
    name = p.buffer(e.source)
    return name if name in p.scalars else f"{name}[{p.expr(e.indices[0])}]"


def _call(p: _Printer, e) -> str:
    # Intrinsics are named "prim.<name>" or "tirx.<name>" depending on where they come from.
    op = str(e.op.name).split(".", 1)[-1]
    if op == "call_pure_extern" and str(e.args[0].value) in _HELPER_CALLS:
        p.helpers.add(_HELPER_CALLS[str(e.args[0].value)])
        return f"{e.args[0].value}({', '.join(p.expr(a) for a in e.args[1:])})"
    if op == "call_pure_extern" and str(e.args[0].value) in _EXTERN_OK:
        p.math.add(str(e.args[0].value))
        return f"{e.args[0].value}({', '.join(p.expr(a) for a in e.args[1:])})"
    args = [p.expr(a) for a in e.args]
    if op == "if_then_else":
        return f"({args[0]} ? {args[1]} : {args[2]})"
    if op == "likely":
        return args[0]
    if op in TIR_MATH and all(_dtype(a) == "float32" for a in e.args):
        p.math.add(TIR_MATH[op])
        return f"{TIR_MATH[op]}({', '.join(args)})"
    if op in TIR_MATH_DOUBLE and all(_dtype(a) == "float64" for a in e.args):
        p.math.add(TIR_MATH_DOUBLE[op])
        return f"{TIR_MATH_DOUBLE[op]}({', '.join(args)})"
    raise CPrintError(f"unsupported TIR call {op}")


def _string(p: _Printer, e) -> str:
    raise CPrintError(f"unsupported string immediate {e.value!r}")


_EXPR = {name: _binary for name in _BINARY}
_EXPR.update({
    "IntImm": _int_imm, "FloatImm": _float_imm, "Var": _var, "Div": _div,
    "FloorDiv": _floor_div, "FloorMod": _floor_mod, "LShift": _lshift, "Min": _min,
    "Max": _max, "Not": _not, "BitwiseNot": _bit_not, "Select": _select, "Cast": _cast,
    "TensorLoad": _load, "Call": _call, "StringImm": _string,
})
