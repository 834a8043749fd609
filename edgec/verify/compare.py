"""Comparing outputs with the reference: int8 (any integer) outputs must be equal bit for
bit; float outputs pass when the largest absolute difference is at most ``FLOAT_RTOL`` times
the output's scale: the largest magnitude of that output or of the float inputs of the node
that computes it, whichever is larger. The second term is the absolute floor: an output near
zero that sums terms of magnitude 2.4 carries rounding error of that magnitude, not its own."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgec.ir import Graph
from edgec.ir.floats import MINIFLOATS

FLOAT_RTOL = 1e-5


@dataclass
class VerifyResult:
    """The outcome: ``ok`` and a one-line ``message`` saying why."""

    ok: bool
    samples: int
    message: str
    max_error: float | None = None  # float outputs: the worst relative error
    device: object | None = None  # edgec.verify.cortexm.DeviceStats on an emulated target
    # verify --calibrate: the C against the float model (edgec.verify.float_ref)
    float_comparison: object | None = None
    # verify --layers: the first intermediate tensor that differs (edgec.verify.layers)
    layers: object | None = None
    # verify --per-layer: rows of edgec.verify.outcome.per_layer_rows
    per_layer: list[dict] | None = None


def _differ(expected: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """Where two arrays differ, a NaN matching a NaN (NaN propagates, in C as in the
    reference)."""
    e, a = expected.reshape(-1), actual.reshape(-1)
    same = e == a
    if e.dtype.kind == "f":
        same |= np.isnan(e) & np.isnan(a)
    return ~same


def _first_difference(k: int, name: str, expected: np.ndarray, actual: np.ndarray) -> str:
    flat = int(np.flatnonzero(_differ(expected, actual))[0])
    index = tuple(int(i) for i in np.unravel_index(flat, expected.shape))
    return (f"output '{name}' differs on input {k} at index {index}: expected "
            f"{expected.reshape(-1)[flat]}, got {actual.reshape(-1)[flat]}")


def first_bad_element(expected: np.ndarray, actual: np.ndarray,
                      floor: float = 0.0) -> tuple[int, str] | None:
    """The flat index of the first element of ``actual`` that fails ``compare``'s criteria
    against ``expected`` (``floor``: the float scale's lower bound, see the module
    docstring), and a note on why; None when all pass."""
    differ = _differ(expected, actual)
    if expected.dtype.kind != "f" or not differ.any():
        return (int(np.flatnonzero(differ)[0]), "") if differ.any() else None
    e = expected.reshape(-1).astype(np.float64)
    a = actual.reshape(-1).astype(np.float64)
    special = ~np.isfinite(e) | ~np.isfinite(a)
    if (differ & special).any():
        return int(np.flatnonzero(differ & special)[0]), " (NaN or infinity where the " \
            "other has none)"
    finite = e[~special]
    scale = max(float(np.max(np.abs(finite), initial=0.0)), floor, np.finfo(np.float32).tiny)
    with np.errstate(invalid="ignore", over="ignore"):
        error = np.where(special, 0.0, np.abs(e - a)) / scale
    if float(error.max()) <= FLOAT_RTOL:
        return None
    flat = int(np.flatnonzero(error > FLOAT_RTOL)[0])
    return flat, f" (relative error {float(error[flat]):.3g} > {FLOAT_RTOL:g})"


def term_scales(graph: Graph, values: dict[str, np.ndarray]) -> list[float]:
    """Per graph output, the largest magnitude among the float inputs of the node that
    computes it (``values``: every tensor of one reference run, ``interpret(keep=True)``)."""
    producer = {out: node for node in graph.nodes for out in node.outputs}
    scales = []
    for name in graph.outputs:
        node = producer.get(name)
        ins = [values[i] for i in (node.inputs if node else []) if i and i in values]
        scales.append(max((float(np.max(np.abs(v), initial=0.0)) for v in ins
                           if v.dtype.kind == "f"), default=0.0))
    return scales


def compare(graph: Graph, expected: list[list[np.ndarray]],
            actual: list[list[np.ndarray]],
            floors: list[list[float]] | None = None) -> VerifyResult:
    """Compare outputs sample by sample (see the module docstring for the criteria);
    ``floors`` holds ``term_scales`` per sample."""
    worst = None
    for k, (exp_sample, act_sample) in enumerate(zip(expected, actual)):
        floor = floors[k] if floors else [0.0] * len(exp_sample)
        for name, e, a, f in zip(graph.outputs, exp_sample, act_sample, floor):
            if e.dtype.name in MINIFLOATS:  # bfloat16, float8, ...: numpy kind "V"
                e, a = e.astype(np.float64), np.asarray(a).astype(np.float64)
            if e.dtype.kind != "f":
                if not np.array_equal(e, a):
                    return VerifyResult(False, len(expected), _first_difference(k, name, e, a))
                continue
            # NaN and +-inf must appear at the same places; finite values within tolerance.
            special = ~np.isfinite(e) | ~np.isfinite(a)
            if _differ(e[special], a[special]).any():
                return VerifyResult(False, len(expected), _first_difference(k, name, e, a)
                                    + " (NaN or infinity where the other has none)")
            fe, fa = e[~special], a[~special]
            f = f if np.isfinite(f) else 0.0  # NaN or inf inputs give no usable floor
            scale = max(float(np.max(np.abs(fe), initial=0.0)), f, np.finfo(np.float32).tiny)
            error = float(np.max(np.abs(fe.astype(np.float64) - fa), initial=0.0)) / scale
            if not np.isfinite(error) or error > FLOAT_RTOL:
                return VerifyResult(False, len(expected), _first_difference(k, name, e, a)
                                    + f" (relative error {error:.3g} > {FLOAT_RTOL:g})", error)
            worst = max(worst or 0.0, error)
    inputs = f"{len(expected)} input{'' if len(expected) == 1 else 's'}"
    if worst is None:
        return VerifyResult(True, len(expected), f"bit-exact on {inputs}")
    return VerifyResult(True, len(expected), f"max relative error {worst:.3g} on {inputs} "
                        f"(within {FLOAT_RTOL:g})", worst)
