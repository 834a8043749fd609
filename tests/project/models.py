"""Models the project tests build once per session: the committed digits CNN and a small
fully connected "motion" model whose 48-value input suits 3- and 6-axis sensors."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgec.build import build
from edgec.options import BuildOptions
from tests.tflite_builder import TFLiteBuilder

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DIGITS = EXAMPLES / "digits_int8.tflite"


def motion_model(path: Path, inputs: int = 48, classes: int = 4) -> Path:
    """An int8 FULLY_CONNECTED model [1, inputs] -> [1, classes] with seeded weights."""
    rng = np.random.default_rng(3)
    b = TFLiteBuilder()
    x = b.tensor("x", (1, inputs), "int8", scale=0.05, zero_point=0)
    w = b.tensor("w", (classes, inputs), "int8",
                 data=rng.integers(-60, 60, (classes, inputs)).astype(np.int8),
                 scale=0.02, zero_point=0)
    y = b.tensor("y", (1, classes), "int8", scale=0.5, zero_point=-10)
    b.op("FULLY_CONNECTED", [x, w, None], [y])
    path.write_bytes(b.build(inputs=[x], outputs=[y]))
    return path


def build_model(model: Path, out: Path):
    """The model's C for the host in ``out`` (what a board build puts in model/)."""
    return build(model, out, BuildOptions(target="host"))
