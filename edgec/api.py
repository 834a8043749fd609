"""The Python API, for notebooks and scripts::

    import edgec
    m = edgec.load("model.tflite")
    print(m.inspect())                       # op table, MACs, memory
    r = m.build("out", target="nrf52840")    # an edgec.build.BuildResult
    r.report["totals"]                       # what report.json holds
    edgec.verify("model.tflite", target="mps2_an386").message

Errors a user can fix raise ``edgec.EdgecError`` (the CLI prints them as one line).
"""

from __future__ import annotations

import os

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Model:
    """A model file loaded into edgec's IR (``graph``)."""

    path: Path
    graph: Any = field(repr=False)

    def inspect(self) -> str:
        """The ``edgec inspect`` table as text."""
        from edgec.analysis import analyze, format_report

        return format_report(analyze(self.graph))

    def unsupported(self) -> list[str]:
        """The nodes no lowering rule handles (empty when the model builds)."""
        from edgec.lower.select import unlowerable
        from edgec.passes import run_passes

        return unlowerable(run_passes(self.graph))

    def run(self, inputs: dict) -> dict:
        """The reference interpreter's outputs for ``inputs`` (arrays by input name)."""
        from edgec.ir import interpret

        return interpret(self.graph, inputs)

    def build(self, out_dir: str | os.PathLike, *, target: str = "host", force: bool = False,
              **options):
        """Compile to C in ``out_dir``; ``options`` are ``edgec.options.BuildOptions`` fields
        (name, optimize, kernels, arena, ram_limit, cache_dir, quantization)."""
        from edgec.build import build
        from edgec.options import BuildOptions

        return build(self.path, out_dir, BuildOptions(target=target, **options), force=force)

    def verify(self, **options):
        """Compile, run and compare with the reference (``edgec.verify.verify``)."""
        return verify(self.path, **options)


def load(path: str | os.PathLike) -> Model:
    """Import a ``.tflite`` or ``.onnx`` file."""
    from edgec.frontends import load_model

    return Model(Path(path), load_model(path))


def verify(model: str | os.PathLike, *, count: int = 10, seed: int = 0, extra_inputs=(),
           layers: bool = False, per_layer: bool = False, **options):
    """``edgec verify`` as a function: a ``VerifyResult`` (``ok``, ``message``, and with
    ``layers`` the first differing node in ``.layers``, with ``per_layer`` the instructions
    per kernel in ``.per_layer``); ``options`` are ``edgec.options.BuildOptions`` fields
    (target, quantization...)."""
    from edgec.options import BuildOptions
    from edgec.verify.check import verify as run_verify

    return run_verify(model, BuildOptions(**options), count=count, seed=seed,
                      extra_inputs=extra_inputs, layers=layers, per_layer=per_layer)


def evaluate(model: str | os.PathLike, data: str, **options):
    """``edgec evaluate`` as a function: one ``Variant`` (name, metrics) per build."""
    from edgec.evaluate import evaluate as run_evaluate

    return run_evaluate(model, data, **options)
