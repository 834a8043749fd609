"""``BuildOptions``: every choice a build takes, in one object that ``edgec build``,
``edgec verify``, lowering and the Cortex-M harness all read.

The CLI makes one from its arguments (``edgec.cli.build``); library callers make one directly
(``BuildOptions(target="mps2_an386", optimize="size")``; strings are turned into the enums and
an unknown one lists the valid values).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum, StrEnum
from pathlib import Path

from edgec.errors import EdgecError


class Optimize(StrEnum):
    """``speed``: the fastest kernels; ``size``: variants trade speed for flash and arena;
    ``ram``: the smallest arena, instructions (and MACs, where a mode recomputes) allowed:
    the size mode's kernels, and every memory variant that lowers the arena (``edgec.ram``).
    Every mode overlaps dying inputs and takes the memory variants the arena needs; those
    cost no MAC."""

    SPEED = "speed"
    SIZE = "size"
    RAM = "ram"


class KernelChoice(StrEnum):
    """``auto``: the target's CPU features pick optimized variants (DSP); ``portable``: plain
    C99 kernels only, whatever the core has (the baseline the variants are measured against)."""

    AUTO = "auto"
    PORTABLE = "portable"


class Arena(StrEnum):
    """``static``: the model owns its arena; ``extern``: the caller defines ``NAME_arena``."""

    STATIC = "static"
    EXTERN = "extern"


class Constants(StrEnum):
    """``inline``: weights and constants are ``static const`` arrays in ``NAME.c``;
    ``partition``: they go to a separate model image (``NAME.bin``, ``edgec.image``) that the
    application hands to ``NAME_load_constants`` (a flash partition, replaceable over the
    air), and ``NAME.c`` holds only code and offsets."""

    INLINE = "inline"
    PARTITION = "partition"


class RecurrentState(StrEnum):
    """``reset``: recurrent layers (LSTM, GRU) start every call from their initial state;
    ``carry``: they keep their final state for the next call, as TFLite Micro keeps an LSTM's
    variable tensors, until ``NAME_reset()`` (``edgec.passes.recurrent_state``). Fused ops
    only: a model's resource variables (Keras ``stateful=True``) always carry."""

    RESET = "reset"
    CARRY = "carry"


PATCH_MODES = ("auto", "off")  # or a band count


def check_patch(value) -> str | int | tuple[int, int]:
    """``--patch``: ``auto`` (row bands in ``--optimize ram``, and in the default build when
    the arena exceeds the target's RAM), ``off``, a band count (always, that many), or
    ``CUT:N`` (N bands of nodes 0 to CUT, no search)."""
    if isinstance(value, str) and value in PATCH_MODES:
        return value
    if isinstance(value, tuple) or (isinstance(value, str) and ":" in value):
        parts = value if isinstance(value, tuple) else value.split(":")
        try:
            cut, bands = (int(str(p).strip()) for p in parts)
        except ValueError:
            cut, bands = -1, 0
        if len(parts) != 2 or cut < 0 or bands < 2:
            raise EdgecError(f"patch CUT:N needs a node index and a band count of at least 2, "
                             f"not {value!r}", "e.g. --patch 5:12")
        return cut, bands
    try:
        bands = int(value)
    except (TypeError, ValueError):
        bands = 0
    if isinstance(value, bool) or bands < 2 or str(value).strip() != str(bands):
        raise EdgecError(f"patch must be auto, off or a band count of at least 2, not {value!r}",
                         "e.g. --patch auto, --patch off or --patch 8")
    return bands


OPTIMIZE_MODES = tuple(m.value for m in Optimize)
KERNEL_CHOICES = tuple(k.value for k in KernelChoice)
ARENA_MODES = tuple(a.value for a in Arena)
RECURRENT_STATES = tuple(r.value for r in RecurrentState)


@dataclass(frozen=True)
class Quantization:
    """Post-training quantization before lowering: ``edgec.quantize.quantize_graph``'s options
    and the calibration ``.npz`` (one float array per model input, samples on axis 0)."""

    calibration: str
    observer: str = "minmax"
    percentile: float = 99.99
    weights: str = "int8"  # or "int4": W4A8
    io: str = "float"  # or "int8": the compiled model takes and returns int8
    activations: str = "int8"  # or "int16": TFLite's 16x8 mode


def _enum(kind: type[Enum], value, field_name: str):
    if isinstance(value, kind):
        return value
    try:
        return kind(value)
    except ValueError:
        valid = ", ".join(m.value for m in kind)
        raise EdgecError(f"{field_name} must be one of {valid}, not {value!r}") from None


@dataclass(frozen=True)
class BuildOptions:
    """How to build: ``target`` (a ``targets/*.yaml`` name or alias); ``name``, the C symbol
    prefix (default: the model file's stem); ``optimize`` (None: ``edgec.build``'s default
    rule picks); ``kernels``; ``arena``; ``ram_limit``, the most arena bytes allowed;
    ``cache_dir`` of lowered kernels; ``quantization``, PTQ of a float model first;
    ``constants``, where weights and constants live (``Constants``); ``patch``, whether the
    first layers run in row bands (``check_patch``, ``edgec.passes.patch``) and
    ``patch_budget``, the most MACs that may cost, as a multiple of the model's;
    ``recurrent_state``, whether recurrent layers carry their state between calls."""

    target: str = "host"
    name: str | None = None
    optimize: Optimize | None = None
    kernels: KernelChoice = KernelChoice.AUTO
    arena: Arena = Arena.STATIC
    ram_limit: int | None = None
    cache_dir: str | os.PathLike | None = None
    quantization: Quantization | None = None
    constants: Constants = Constants.INLINE
    patch: str | int | tuple[int, int] = "auto"
    patch_budget: float = 1.3
    recurrent_state: RecurrentState = RecurrentState.RESET

    def __post_init__(self):
        object.__setattr__(self, "patch", check_patch(self.patch))
        if not isinstance(self.patch_budget, (int, float)) or not self.patch_budget >= 1:
            raise EdgecError(f"patch budget must be a number >= 1, not {self.patch_budget!r}",
                             "it bounds the MACs of a row-band rewrite as a multiple of the "
                             "model's, e.g. --patch-budget 1.3")
        if self.optimize is not None:
            object.__setattr__(self, "optimize", _enum(Optimize, self.optimize, "optimize"))
        object.__setattr__(self, "kernels", _enum(KernelChoice, self.kernels, "kernels"))
        object.__setattr__(self, "arena", _enum(Arena, self.arena, "arena"))
        object.__setattr__(self, "constants", _enum(Constants, self.constants, "constants"))
        object.__setattr__(self, "recurrent_state",
                           _enum(RecurrentState, self.recurrent_state, "recurrent state"))
        if self.cache_dir is not None:
            object.__setattr__(self, "cache_dir", Path(self.cache_dir))

    @property
    def static_arena(self) -> bool:
        return self.arena is Arena.STATIC
