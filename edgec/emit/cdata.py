"""Rendering data as C: element types, lossless float literals, constant arrays."""

from __future__ import annotations

import math

import numpy as np

from edgec.cdefs import C_TYPES, MAX_LINE
from edgec.errors import EdgecError
from edgec.ir.floats import MINIFLOATS, bits_of

_INDENT = "    "


def c_type(dtype) -> str:
    """The C99 type of one element of numpy ``dtype`` (or of an IR dtype name)."""
    name = dtype if isinstance(dtype, str) and dtype in C_TYPES else np.dtype(dtype).name
    if name not in C_TYPES:
        raise EdgecError(f"cannot emit {name} data as C", f"supported: {', '.join(C_TYPES)}")
    return C_TYPES[name]


def c_float(value: float) -> str:
    """A float32 literal that reads back as exactly ``value`` (9 significant digits)."""
    value = float(np.float32(value))
    if math.isnan(value):
        return "NAN"
    if math.isinf(value):
        return "INFINITY" if value > 0 else "(-INFINITY)"
    text = f"{value:.9g}"
    if "." not in text and "e" not in text:
        text += ".0"
    return f"{text}f"


def c_double(value: float) -> str:
    """A double literal that reads back as exactly ``value`` (17 significant digits)."""
    value = float(value)
    if math.isnan(value):
        return "((double)NAN)"
    if math.isinf(value):
        return "((double)INFINITY)" if value > 0 else "(-(double)INFINITY)"
    text = f"{value:.17g}"
    return text if "." in text or "e" in text else text + ".0"


def c_int(value: int, ctype: str) -> str:
    """An integer literal; the most negative 32/64-bit value is spelled so C accepts it."""
    value = int(value)
    if ctype == "int32_t" and value == -(2 ** 31):
        return "(-2147483647 - 1)"
    if ctype == "int64_t" and value == -(2 ** 63):
        return "(-9223372036854775807LL - 1)"
    if ctype in ("int64_t", "uint64_t") and abs(value) > 2 ** 31 - 1:
        return f"{value}{'LL' if ctype == 'int64_t' else 'ULL'}"
    if ctype == "uint32_t" and value > 2 ** 31 - 1:
        return f"{value}u"
    return str(value)


def c_values(array: np.ndarray) -> list[str]:
    """Every element of ``array`` (C order) as a C literal."""
    ctype = c_type(array.dtype)
    flat = np.ascontiguousarray(array).reshape(-1)
    if ctype == "float":
        return [c_float(v) for v in flat.tolist()]
    if ctype == "double":
        return [c_double(v) for v in flat.tolist()]
    if array.dtype.name in MINIFLOATS:  # bit patterns (edgec.ir.floats)
        flat = bits_of(flat)
    return [c_int(v, ctype) for v in flat.astype(np.int64 if ctype != "uint64_t"
                                                  else np.uint64).tolist()]


def content_key(array) -> tuple:
    """What makes two constant arrays the same C definition: element type and bytes."""
    a = np.ascontiguousarray(array)
    return (a.dtype.str, a.tobytes())


def array_definition(symbol: str, array: np.ndarray, qualifiers: str = "static const",
                     attribute: str = "") -> str:
    """``static const int8_t symbol[n] ATTR = {...};`` for ``array`` (at least 1 element)."""
    ctype = c_type(array.dtype)
    values = c_values(array) or ["0"]  # C forbids empty arrays; a 0-size tensor gets 1 element
    lines, line = [], ""
    for value in values:  # as many values per line as fit MAX_LINE columns
        if line and len(_INDENT) + len(line) + len(value) + 1 > MAX_LINE:
            lines.append(line.rstrip())
            line = ""
        line += f"{value}, "
    lines.append(line[:-2])
    body = f"\n{_INDENT}".join(lines)
    attr = f" {attribute}" if attribute else ""
    head = f"{qualifiers} {ctype} {symbol}[{len(values)}]{attr} = {{"
    if len(lines) == 1 and len(head) + len(body) + 3 <= MAX_LINE:
        return f"{head}{body}}};"
    return f"{head}\n    {body}\n}};"


def uses_math_macros(arrays) -> bool:
    """True when some float array needs ``NAN``/``INFINITY`` (from <math.h>)."""
    return any(a.dtype.kind == "f" and not np.all(np.isfinite(a)) for a in arrays)


def c_string(text: str) -> str:
    """``text`` as a C string literal: quotes, backslashes and every byte outside printable
    ASCII escaped (octal, so a following digit cannot extend the escape)."""
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif 32 <= byte < 127 and char != "?":  # '?' escaped: no trigraphs
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'
