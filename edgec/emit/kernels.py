"""Turning a lowered ``Kernel``'s C text into a private function of the generated file."""

from __future__ import annotations

import re
from dataclasses import dataclass

from edgec.lower.kernel import Kernel

# <math.h> functions a kernel may call (the lowering's printer lists the same set).
MATH_FUNCTIONS = ("expf", "tanhf", "sqrtf", "logf", "fabsf", "floorf", "roundf", "isnan")
_MATH_CALL = re.compile(r"\b(" + "|".join(MATH_FUNCTIONS) + r")\s*\(")


@dataclass
class CFunction:
    """A kernel ready to paste: its C name, its ``static`` source, and how to call it."""

    c_name: str
    source: str
    const_params: list[bool]  # per parameter: is the pointee const-qualified
    returns_status: bool  # non-void: a non-zero return is a failure
    uses_math: bool


def _signature(source: str, name: str) -> re.Match:
    match = re.search(rf"^([^\n;{{}}]*?)\b{re.escape(name)}\s*\(([^)]*)\)\s*\{{", source,
                      re.MULTILINE)
    if match is None:
        raise ValueError(f"no definition of '{name}' in the kernel's C source")
    return match


def prepare_kernel(kernel: Kernel, c_name: str, specifiers: str = "") -> CFunction:
    """Rename the kernel's function to ``c_name``, make it ``static`` and begin its
    definition with ``specifiers`` (the generated file's ``NAME_KERNEL`` macro).

    The lowering names each function uniquely; renaming gives every generated symbol the
    model's prefix, so two models link into one firmware. The parameter count must match the
    kernel's arguments (plus one scratch pointer).
    """
    source = re.sub(rf"\b{re.escape(kernel.func_name)}\b", c_name, kernel.c_source.strip())
    match = _signature(source, c_name)
    storage = match.group(1)
    prefix = "" if re.search(r"\bstatic\b", storage) else "static "
    if specifiers:
        prefix = f"{specifiers} {prefix}"
    source = source[:match.start(1)] + prefix + source[match.start(1):]
    params = [p.strip() for p in match.group(2).split(",") if p.strip() not in ("", "void")]
    expected = len(kernel.args) + (1 if kernel.scratch_bytes > 0 else 0)
    if len(params) != expected:
        raise ValueError(f"kernel {kernel.func_name} takes {len(params)} parameters, its "
                         f"arguments need {expected}")
    return CFunction(
        c_name=c_name,
        source=source + "\n",
        const_params=["const" in p.split("*")[0].split() for p in params],
        returns_status=re.search(r"\bvoid\s*$", storage) is None,
        uses_math=_MATH_CALL.search(source) is not None,
    )
