"""C kernel templates: ``templates/kernels/*.c.j2``, rendered with ``edgec.templating``.

Rules whose C cannot come from TE (their docstrings say why) render it here, so no C text
lives in Python strings. The templates sit outside ``edgec/lower``, whose Python source the
kernel cache hashes; a rule therefore puts ``digest(name)`` into its ``KernelPlan.key`` so
that editing a template invalidates the cached kernels rendered from it.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from edgec.cdefs import C_TYPES, function_header
from edgec.ir.ops.lstm import SIGMOID_TABLE
from edgec.lower.c_printer import print_kernel
from edgec.templating import environment

KERNEL_DIR = "kernels"
# Shared helper blocks kernels declare (``Kernel.helpers``), in the order they build on each
# other; the emitter writes each one once per generated file, before the kernels.
HELPERS = {"dsp": ("dsp/_intrinsics.h.j2", {}), "dsp_compact": ("dsp/_compact.h.j2", {}),
           "dsp_int16": ("dsp/_int16.h.j2", {}),
           "dsp_int4": ("dsp/_int4.h.j2", {}), "dsp_rows": ("dsp/_rows.h.j2", {}),
           "dsp_rows_out": ("dsp/_rows_out.h.j2", {}),
           "dsp_split": ("dsp/_split.h.j2", {}),
           "dsp_plane": ("dsp/_depthwise_plane.h.j2", {}),
           "mbqm": ("requant.h.j2", {"left": False}), "mbqm_left": ("requant.h.j2", {"left": True}),
           "lstm_int16": ("lstm_int16.h.j2", {"table": [int(v) for v in SIGMOID_TABLE]}),
           "dsp_lstm": ("dsp/_lstm.h.j2", {}), "div_int8": ("div_int8.h.j2", {}),
           "minifloat": ("minifloat.h.j2", {}),
           "ipow_int32": ("ipow.h.j2", {"ctype": "int32_t", "utype": "uint32_t", "short": "int32"}),
           "ipow_int64": ("ipow.h.j2", {"ctype": "int64_t", "utype": "uint64_t", "short": "int64"})}


def render(name: str, **context) -> str:
    """``templates/kernels/<name>`` rendered with ``context`` (an undefined name raises)."""
    return environment().get_template(f"{KERNEL_DIR}/{name}").render(**context)


@lru_cache(maxsize=None)
def digest(name: str) -> str:
    """The SHA-256 of the template's source, for cache keys."""
    env = environment()
    source, _, _ = env.loader.get_source(env, f"{KERNEL_DIR}/{name}")
    return hashlib.sha256(source.encode()).hexdigest()


def helper_source(names) -> str:
    """The C text of the helper blocks ``names``, each once: keys of ``HELPERS`` in its
    order, then the TIR printer's ``min``/``max`` helpers (``min_int32_t``, ...)."""
    names = set(names)
    blocks = [render(path, **context) for name, (path, context) in HELPERS.items()
              if name in names]
    for name in sorted(names - set(HELPERS)):  # the printer's: min_int32_t, max_float, ...
        which, _, ctype = name.partition("_")
        if which not in ("min", "max") or ctype not in C_TYPES.values():
            raise ValueError(f"unknown kernel helper {name}; valid: {', '.join(HELPERS)}, "
                             "min_<C type>, max_<C type>")
        blocks.append(render("minmax.h.j2", which=which, ctype=ctype,
                             short=ctype.removesuffix("_t")))
    return "\n".join(blocks)


def print_function(func, name: str, unrestricted: frozenset[str] = frozenset()) -> str:
    """``print_kernel`` as one C99 definition ``void name(...)`` (not ``static``), after the
    definitions of the helpers it calls: C text that compiles on its own."""
    printed = print_kernel(func, unrestricted)
    header = function_header(name, printed.params)
    return f"{helper_source(printed.helpers)}{header}\n{printed.body}"
