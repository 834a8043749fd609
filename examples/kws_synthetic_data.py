"""Synthetic labelled data for sweeping the MLPerf Tiny keyword-spotting model (DS-CNN) when
the Speech Commands features are not at hand: random feature maps (smooth 2-D patterns plus
noise, offsets and scales spread over the int8 model's input range) labelled by the FLOAT
model's own top-1 class, kept class-balanced where the random draws reach a class.

So "accuracy" here is agreement with the float model on synthetic inputs (the float model
scores 1.0 by construction), a stand-in for real accuracy that still ranks how much each
compression setting changes the network's decisions. Say so wherever the numbers are shown.

Writes ``kws_test.npz`` (``input_1``, ``labels``) and ``kws_cal.npz`` (``input_1``) in
OUT_DIR. Run: ``python examples/kws_synthetic_data.py MODEL.onnx OUT_DIR [--per-class N]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

SEED = 0


def candidates(shape: tuple[int, ...], count: int, rng) -> np.ndarray:
    """Random feature maps: a few 2-D cosines (time x coefficient) plus noise, shifted and
    scaled across roughly the int8 model's input range (about -120 to 25)."""
    _, frames, coeffs, _ = shape
    t = np.arange(frames)[:, None] / frames
    c = np.arange(coeffs)[None, :] / coeffs
    out = np.empty((count, *shape[1:]), np.float32)
    for k in range(count):
        pattern = sum(rng.normal() * np.cos(2 * np.pi * (rng.uniform(0, 3) * t
                      + rng.uniform(0, 3) * c + rng.uniform())) for _ in range(4))
        pattern = pattern + rng.normal(size=(frames, coeffs)) * rng.uniform(0.1, 1.0)
        out[k, ..., 0] = rng.uniform(-60, 0) + rng.uniform(2, 30) * pattern
    return out


def write(model: str, out_dir: Path, per_class: int = 20, draws: int = 3000,
          calibration: int = 100) -> tuple[Path, Path, np.ndarray]:
    """The test and calibration files; returns their paths and the per-class counts."""
    from edgec.frontends import load_model
    from edgec.ir import interpret

    graph = load_model(model)
    name, output = graph.inputs[0], graph.outputs[0]
    rng = np.random.default_rng(SEED)
    pool = candidates(graph.tensors[name].shape, draws, rng)
    labels = np.array([int(np.argmax(interpret(graph, {name: x[None]})[output]))
                       for x in pool])
    chosen = np.concatenate([np.flatnonzero(labels == c)[:per_class]
                             for c in range(int(labels.max()) + 1)])
    rest = np.setdiff1d(np.arange(draws), chosen)[:calibration]
    out_dir.mkdir(parents=True, exist_ok=True)
    test, cal = out_dir / "kws_test.npz", out_dir / "kws_cal.npz"
    np.savez_compressed(test, **{name: pool[chosen], "labels": labels[chosen]})
    np.savez_compressed(cal, **{name: pool[rest]})
    return test, cal, np.bincount(labels[chosen])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="the float KWS model (kws_dscnn_float32.onnx)")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--per-class", type=int, default=20)
    args = parser.parse_args()
    test, cal, counts = write(args.model, args.out_dir, args.per_class)
    print(f"wrote {test} ({counts.sum()} samples, per class {counts.tolist()}) and {cal}")
