"""What an application needs to know about its model: the prefix, the input and output
tensors (shape, type, quantization) and the report's totals.

``from_build`` takes them from a fresh ``edgec build``; ``from_dir`` reads them back from the
``report.json`` such a build wrote (its ``io`` entry, ``edgec.emit.report.io_entries``), which
is how ``zephyr_app/`` built by hand finds out about a model compiled earlier with
``--target host``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from edgec.errors import EdgecError
from edgec.ir.graph import DTYPES, QuantParams, Tensor


@dataclass
class ModelIO:
    """A compiled model as the application sees it."""

    name: str
    inputs: list[Tensor]
    outputs: list[Tensor]
    totals: dict  # report.json's totals: weight_bytes, code_bytes, arena_bytes, ...
    image_bytes: int = 0  # --model-partition: bytes of the model image NAME.bin, else 0

    @classmethod
    def from_build(cls, result) -> "ModelIO":
        """From an ``edgec.build.BuildResult``."""
        graph = result.graph
        image = result.out_dir / f"{result.name}.bin"
        partition = result.report.get("constants") == "partition"
        return cls(result.name, [graph.tensors[n] for n in graph.inputs],
                   [graph.tensors[n] for n in graph.outputs], result.report["totals"],
                   image.stat().st_size if partition else 0)

    @classmethod
    def from_dir(cls, model_dir: str | Path) -> "ModelIO":
        """From the ``report.json`` in the folder ``edgec build`` wrote."""
        folder = Path(model_dir)
        hint = "run `edgec build MODEL --target host -o DIR` and pass that DIR"
        try:
            report = json.loads((folder / "report.json").read_text())
            name, io, totals = report["name"], report["io"], report["totals"]
            inputs = [_tensor(e) for e in io["inputs"]]
            outputs = [_tensor(e) for e in io["outputs"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise EdgecError(f"'{folder}' does not hold a model built by edgec "
                             f"({type(exc).__name__}: {exc})", hint) from exc
        if not inputs or not outputs:
            raise EdgecError(f"'{folder}/report.json' lists no model inputs or outputs", hint)
        image = folder / f"{name}.bin"
        if report.get("constants") == "partition" and not image.is_file():
            raise EdgecError(f"'{folder}' holds a --model-partition build without {image.name}",
                             hint)
        size = image.stat().st_size if report.get("constants") == "partition" else 0
        return cls(name, inputs, outputs, totals, size)


def _tensor(entry: dict) -> Tensor:
    """One ``io`` entry of ``report.json`` as a tensor."""
    if entry["dtype"] not in DTYPES:
        raise ValueError(f"unknown dtype {entry['dtype']!r} of tensor {entry['name']!r}")
    q = entry["quant"]
    quant = None if q is None else QuantParams(q["scale"], q["zero_point"], q["axis"])
    return Tensor(entry["name"], tuple(entry["shape"]), entry["dtype"], quant=quant)
