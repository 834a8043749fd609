"""The sweep's grid: which settings, which boards, which emulated core measures each board,
and the key that names a finished point in the output folder's cache."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from edgec import __version__
from edgec.errors import EdgecError
from edgec.options import OPTIMIZE_MODES
from edgec.quantize import WEIGHT_DTYPES

# The emulated core that measures each board's CPU class (instructions, stack, flash of the
# linked model). The M3 machine also stands in for the M0+ (an estimate: Thumb-2 code).
CLASS_MACHINES = {
    "cortex-m4": "mps2_an386",
    "cortex-m7": "mps2_an386",
    "cortex-m33": "mps2_an386",
    "cortex-m3": "qemu_cortex_m3",
    "cortex-m0plus": "qemu_cortex_m3",
    "cortex-m0": "qemu_cortex_m3",
    "rv32imc": "qemu_riscv32",
    "rv32imac": "qemu_riscv32",
}
DEFAULT_PRUNE = (0.0, 0.25, 0.5)
DEFAULT_WEIGHTS = ("int8", "int4", "ternary")
DEFAULT_OPTIMIZE = ("speed", "size")


@dataclass(frozen=True)
class Inputs:
    """The files every point of one sweep reads, and their content hashes."""

    model: str
    data: str
    calibrate: str
    labels: str = "labels"
    finetune: str | None = None  # a .py defining ``finetune(model, data)``
    train: str | None = None  # the data the fine-tuning function gets (default: calibrate)
    timing_samples: int = 3  # inferences timed on the emulated core (the first is a warm-up)

    def digest(self) -> str:
        """One hash over the contents of every file and the options that change results."""
        h = hashlib.sha256()
        for path in (self.model, self.data, self.calibrate, self.finetune, self.train):
            h.update(file_hash(path).encode() if path else b"-")
        h.update(f"{self.labels}|{self.timing_samples}".encode())
        return h.hexdigest()


@dataclass(frozen=True)
class Point:
    """One combination measured by one task: prune ratio, weight type, optimize mode and the
    emulated core (``machine``, a target name) that stands for a class of boards."""

    prune: float
    weights: str
    optimize: str
    machine: str

    @property
    def label(self) -> str:
        return f"prune {self.prune:g} {self.weights} {self.optimize}"

    def key(self, inputs_digest: str) -> str:
        """The cache key: the inputs' hash, these settings and the edgec version."""
        text = json.dumps([inputs_digest, asdict(self), __version__], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:20]


def file_hash(path: str | Path) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as exc:
        raise EdgecError(f"cannot read '{path}': {exc.strerror or exc}",
                         "check the path") from exc


def parse_list(text: str, what: str, valid: tuple[str, ...] | None = None) -> list[str]:
    """A comma-separated option value; each item checked against ``valid`` when given."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise EdgecError(f"--{what} is empty", f"give a comma-separated list, e.g. --{what} "
                         f"{','.join(valid or ('a', 'b'))}")
    for item in items:
        if valid is not None and item not in valid:
            raise EdgecError(f"unknown --{what} value '{item}'", f"valid: {', '.join(valid)}")
    return list(dict.fromkeys(items))


def parse_ratios(text: str) -> list[float]:
    ratios = []
    for item in parse_list(text, "prune"):
        try:
            ratio = float(item)
        except ValueError:
            raise EdgecError(f"pruning ratio '{item}' is not a number",
                             "give fractions of filters to remove, e.g. --prune 0,0.25,0.5") from None
        if not 0.0 <= ratio < 1.0:
            raise EdgecError(f"pruning ratio {ratio:g} is outside [0, 1)",
                             "0 keeps every filter; 0.25 removes a quarter")
        ratios.append(ratio)
    return list(dict.fromkeys(ratios))


def weight_types() -> tuple[str, ...]:
    return tuple(WEIGHT_DTYPES)


def optimize_modes() -> tuple[str, ...]:
    """Every ``Optimize`` mode the build knows (read at run time, so a new one is swept too)."""
    return tuple(OPTIMIZE_MODES)


def board_targets() -> list[str]:
    """Every target that is a board with a CPU class the sweep can measure."""
    from edgec.targets import load_target, target_names

    return [n for n in target_names() if load_target(n).get("cpu") in CLASS_MACHINES]


def class_machine(board: str) -> tuple[dict, str]:
    """The board's target description and the emulated target that measures it."""
    from edgec.targets import load_target

    info = load_target(board)
    machine = CLASS_MACHINES.get(info.get("cpu"))
    if machine is None or not info.get("flash_bytes"):
        raise EdgecError(f"target '{info['name']}' is not a board the sweep can measure",
                         f"boards: {', '.join(board_targets())}")
    return info, machine


def expand(prune: list[float], weights: list[str], optimize: list[str],
           machines: list[str]) -> list[Point]:
    """Every combination, in the order the tasks start: the points of one pruned model and
    weight type (which share its fine-tuning and its accuracy, computed once into the output
    folder) are spread apart, so that workers starting together do not compute them twice."""
    return [Point(p, w, o, m) for o in optimize for m in machines for p in prune
            for w in weights]
