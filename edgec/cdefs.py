"""What edgec knows about C99 itself: element types, keywords, <math.h> functions, and how
a function header is laid out. Lowering (the TIR printer, the kernel templates) and emitting
(constant arrays, call sites) both use it, so the two can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

# The C99 type of one element of each dtype. ``bool`` is one byte in numpy arrays and in the
# arena, so its elements are ``uint8_t`` wherever they are stored (a cast *to* bool is
# printed as a comparison with zero, never as a cast to this type).
C_TYPES = {
    "float32": "float", "int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t",
    "uint16": "uint16_t", "int32": "int32_t", "uint32": "uint32_t", "int64": "int64_t",
    "uint64": "uint64_t", "bool": "uint8_t",
    # Other floats (edgec.ir.floats): float64 a double, a minifloat its bit pattern.
    "float64": "double", "float16": "uint16_t", "bfloat16": "uint16_t",
    "float8_e4m3fn": "uint8_t", "float8_e4m3fnuz": "uint8_t", "float8_e5m2": "uint8_t",
    "float8_e5m2fnuz": "uint8_t", "float4_e2m1fn": "uint8_t", "float8_e8m0fnu": "uint8_t",
    "int4": "int8_t",  # plain int4/uint4/int2/uint2: one value per byte (edgec.ir.graph)
    "uint4": "uint8_t",
    "int2": "int8_t",
    "uint2": "uint8_t",
}

C_KEYWORDS = frozenset("""
auto break case char const continue default do double else enum extern float for goto if
inline int long register restrict return short signed sizeof static struct switch typedef
union unsigned void volatile while _Bool _Complex _Imaginary
_Alignas _Alignof _Atomic _Generic _Noreturn _Static_assert _Thread_local
""".split())

# TIR float intrinsics (after LowerIntrin) and the <math.h> function each is printed as;
# a kernel declares which of these it calls, so the emitter knows to include <math.h>.
TIR_MATH = {"exp": "expf", "tanh": "tanhf", "sqrt": "sqrtf", "log": "logf", "erf": "erff",
            "fabs": "fabsf", "floor": "floorf", "isnan": "isnan", "pow": "powf", "fmod": "fmodf"}
# The same intrinsics on float64 (C doubles): the <math.h> functions without the f suffix.
TIR_MATH_DOUBLE = {op: fn.removesuffix("f") if op != "isnan" else fn
                   for op, fn in TIR_MATH.items()}
MATH_FUNCTIONS = frozenset({*TIR_MATH.values(), *TIR_MATH_DOUBLE.values()})

MAX_LINE = 120  # columns: no generated line is longer


@dataclass(frozen=True)
class CParam:
    """One pointer parameter of a kernel: ``const T *restrict name``."""

    name: str
    ctype: str
    const: bool = False
    restrict: bool = True

    def declaration(self) -> str:
        const = "const " if self.const else ""
        restrict = "restrict " if self.restrict else ""
        return f"{const}{self.ctype} *{restrict}{self.name}"

    def to_json(self) -> list:
        return [self.name, self.ctype, self.const, self.restrict]

    @classmethod
    def from_json(cls, item: list) -> "CParam":
        name, ctype, const, restrict = item
        return cls(name, ctype, bool(const), bool(restrict))


def function_header(name: str, params, prefix: str = "void ") -> str:
    """``prefix name(params)`` on one line, or, when that would be wider than ``MAX_LINE``,
    the parameters on the following lines (indented by four, as many as fit on each)."""
    decls = [p.declaration() for p in params] or ["void"]
    line = f"{prefix}{name}({', '.join(decls)})"
    if len(line) <= MAX_LINE:
        return line
    return f"{prefix}{name}(\n" + "\n".join(wrap_list(decls, ")", "    "))


def wrap_list(items: list[str], end: str, indent: str, width: int = MAX_LINE) -> list[str]:
    """``items`` separated by commas and followed by ``end``, as lines of at most ``width``
    columns starting with ``indent``."""
    lines, line = [], ""
    for i, item in enumerate(items):
        piece = item + (end if i == len(items) - 1 else ",")
        if line and len(indent) + len(line) + 1 + len(piece) > width:
            lines.append(indent + line)
            line = piece
        else:
            line = f"{line} {piece}" if line else piece
    return lines + [indent + line]
