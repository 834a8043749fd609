"""Calibration: checking the user's sample arrays and recording every float tensor's range.

Calibration data is one array per model input, keyed by input name, whose first axis counts
samples: ``(N, *input_shape)``, or ``(N, *input_shape[1:])`` when the input's batch is 1.
Each sample runs through the float graph in the reference interpreter; every non-constant
float tensor's values go to its own observer.
"""

from __future__ import annotations

import zipfile
from typing import Callable

import numpy as np

from edgec.errors import EdgecError
from edgec.ir.graph import Graph
from edgec.ir.interpret import interpret
from edgec.ir.registry import Ptq, get_op
from edgec.quantize.recurrent import internal_key, recurrent_rule

_HINT = "write one float array per model input, keyed by input name, samples on axis 0"


def check_calibration(graph: Graph, data: dict[str, np.ndarray]) -> list[dict[str, np.ndarray]]:
    """The calibration samples as interpreter inputs, one dict per sample; any mismatch
    with the model's inputs raises ``EdgecError`` naming what was expected and what came."""
    names = list(graph.inputs)
    missing = [n for n in names if n not in data]
    if missing:
        raise EdgecError(f"calibration data lacks input(s) {missing}: expected arrays "
                         f"{names}, got {sorted(data)}", _HINT)
    if len(data) != len(names):
        raise EdgecError(f"calibration data holds {len(data)} arrays {sorted(data)}, the model "
                         f"has {len(names)} input(s) {names}", _HINT)
    arrays = {name: _sample_array(graph, name, np.asarray(data[name])) for name in names}
    counts = {name: a.shape[0] for name, a in arrays.items()}
    if len(set(counts.values())) != 1 or 0 in counts.values():
        raise EdgecError(f"calibration sample counts differ or are zero: {counts}",
                         "give every input the same number (at least 1) of samples")
    count = next(iter(counts.values()))
    return [{name: arrays[name][i] for name in names} for i in range(count)]


def _sample_array(graph: Graph, name: str, array: np.ndarray) -> np.ndarray:
    """``array`` as ``(N, *input_shape)`` float32, or an error naming the expected layout."""
    t = graph.tensors[name]
    if array.dtype.kind != "f":
        raise EdgecError(f"calibration array '{name}' has dtype {array.dtype}, expected "
                         f"float32 (the float model's input dtype {t.dtype})",
                         "calibrate with real (unquantized) input values")
    shape = tuple(array.shape)
    if shape[1:] == t.shape:
        return array.astype(np.float32)
    if t.shape[0] == 1 and shape[1:] == t.shape[1:]:
        return array.astype(np.float32).reshape((shape[0],) + t.shape)
    expected = f"(N, {', '.join(map(str, t.shape))})"
    if t.shape[0] == 1:
        expected += f" or (N, {', '.join(map(str, t.shape[1:]))})"
    raise EdgecError(f"calibration array '{name}' has shape {shape}, expected {expected} "
                     f"for input shape {t.shape}", _HINT)


def collect_ranges(graph: Graph, samples: list[dict[str, np.ndarray]],
                   make_observer: Callable) -> dict:
    """The observed ``(lo, hi)`` of every non-constant float32 tensor of ``graph``, and of
    the internal states of its ``Ptq.RECURRENT`` ops (keyed ``recurrent.internal_key``).
    Those ops' states carry from one sample to the next, as in the TFLite converter's
    calibration (``edgec.quantize.recurrent``), and so do variables (the samples are one
    stream, as the generated C runs them)."""
    watched = [n for n, t in graph.tensors.items() if t.dtype == "float32" and not t.is_const]
    observers = {name: make_observer() for name in watched}
    recurrent = [n for n in graph.nodes if get_op(n.op).ptq is Ptq.RECURRENT]
    carried: dict[str, np.ndarray] = {}  # recurrent states: one sample's final, next's initial
    for sample in samples:
        state = dict(carried)
        values = interpret(graph, sample, keep=True, state=state)
        carried.update(state)  # variables (ASSIGN_VARIABLE) carry as in the generated C
        for name in watched:
            observers[name].observe(values[name])
        for node in recurrent:
            arrays = [values[i] if i else None for i in node.inputs]
            seen, final = recurrent_rule(node).internals(node, arrays)
            for what, array in seen.items():
                observers.setdefault(internal_key(node, what), make_observer()).observe(array)
            # a constant initial state carries; a run-time one is the next sample's input
            carried.update({node.inputs[i]: state for i, state in final.items()
                            if graph.tensors[node.inputs[i]].is_const})
    return {name: observer.range() for name, observer in observers.items()}


def load_calibration(path: str) -> dict[str, np.ndarray]:
    """The arrays of a calibration ``.npz`` by key."""
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            raise EdgecError(f"calibration file '{path}' holds a single array (.npy)",
                             "write a .npz with numpy.savez(path, **{input_name: array})")
        with loaded:
            return {key: loaded[key] for key in loaded.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise EdgecError(f"cannot read calibration file '{path}': {exc}",
                         "write it with numpy.savez (.npz), one array per input name") from exc
