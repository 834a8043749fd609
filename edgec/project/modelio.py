"""What an application needs to know about its model: the prefix, the single input and
output tensor (shape, type, quantization) and the report's totals.

``from_build`` takes them from a fresh ``edgec build``; ``from_dir`` reads them back from the
folder such a build wrote (``<name>.h`` and ``report.json``), which is how ``zephyr_app/``
built by hand finds out about a model compiled earlier with ``--target host``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgec.cdefs import C_TYPES
from edgec.errors import EdgecError
from edgec.ir.graph import QuantParams, Tensor

# The header's C element types back to IR dtypes ("uint8_t" is uint8, never bool here).
_DTYPES = {ctype: dtype for dtype, ctype in reversed(list(C_TYPES.items()))}


@dataclass
class ModelIO:
    """A compiled model as the application sees it."""

    name: str
    inputs: list[Tensor]
    outputs: list[Tensor]
    totals: dict  # report.json's totals: weight_bytes, code_bytes, arena_bytes, ...

    @classmethod
    def from_build(cls, result) -> "ModelIO":
        """From an ``edgec.build.BuildResult``."""
        graph = result.graph
        return cls(result.name, [graph.tensors[n] for n in graph.inputs],
                   [graph.tensors[n] for n in graph.outputs], result.report["totals"])

    @classmethod
    def from_dir(cls, model_dir: str | Path) -> "ModelIO":
        """From the folder ``edgec build`` wrote: ``report.json`` names the model, and
        ``<name>.h`` declares its inputs and outputs (shape comments, scale and zero-point
        macros)."""
        folder = Path(model_dir)
        try:
            report = json.loads((folder / "report.json").read_text())
            header = (folder / f"{report['name']}.h").read_text()
        except (OSError, ValueError, KeyError) as exc:
            raise EdgecError(f"'{folder}' does not hold a model built by edgec ({exc})",
                             "run `edgec build MODEL --target host -o DIR` and pass that DIR")
        name = report["name"]
        return cls(name, _tensors(header, name, "input"), _tensors(header, name, "output"),
                   report["totals"])


def _tensors(header: str, name: str, kind: str) -> list[Tensor]:
    """Every ``kind`` tensor the header declares, in index order."""
    tensors = []
    pattern = rf"/\* {kind} (\d+): (.*), (\w+)\[([\d, ]*)\] \*/"
    for index, tensor_name, ctype, dims in re.findall(pattern, header):
        if ctype not in _DTYPES:
            raise EdgecError(f"{name}.h: unknown element type {ctype} of {kind} {index}")
        prefix = f"#define {name.upper()}_{kind.upper()}{index}_"
        scale = re.search(re.escape(prefix) + r"SCALE (\S+)f\n", header)
        zero = re.search(re.escape(prefix) + r"ZERO_POINT \((-?\d+)\)\n", header)
        quant = None if scale is None else QuantParams(np.float32(scale.group(1)),
                                                       int(zero.group(1)))
        shape = tuple(int(d) for d in dims.split(",") if d.strip())
        tensors.append(Tensor(tensor_name, shape, _DTYPES[ctype], quant=quant))
    if not tensors:
        raise EdgecError(f"{name}.h declares no {kind}s", "rebuild the model with edgec build")
    return tensors
