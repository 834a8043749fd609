"""``edgec evaluate``: how good the model is on the user's own data, as float and as edgec
compiles it (int8, int4 weights): top-1 accuracy when labels are class indices, MSE and max
error when they are target values (regressors, autoencoders), and how often / how closely the
quantized C agrees with the float model. The quantized variants run as generated C on the host,
so the numbers are the firmware's."""

from __future__ import annotations

import os
import tempfile

from dataclasses import dataclass, field

import numpy as np

from edgec.build import Quantization, build, load_graph
from edgec.options import BuildOptions
from edgec.errors import EdgecError
from edgec.ir import interpret
from edgec.verify.host import compile_host, model_image, run_harness


@dataclass
class Variant:
    name: str  # float, int8, int4
    outputs: np.ndarray = field(repr=False)  # first output, [samples, values...] as real numbers
    metrics: dict = field(default_factory=dict)


def load_data(path: str, inputs: list[str], labels: str | None) -> tuple[list, np.ndarray | None]:
    """Samples (one list of arrays per sample, axis 0 split) and the labels array, if any."""
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise EdgecError(f"cannot read data file '{path}': {exc}", "give an .npz file") from exc
    keys = list(getattr(data, "files", []))
    missing = [n for n in inputs if n not in keys]
    if not keys or (missing and not (len(inputs) == 1 and len(keys) - bool(labels) == 1)):
        raise EdgecError(f"data file '{path}' lacks input(s) {missing}",
                         f"it holds: {', '.join(keys) or 'no arrays'}; one array per input")
    arrays = [data[n] if n in keys else data[next(k for k in keys if k != labels)]
              for n in inputs]
    count = len(arrays[0])
    if labels is not None and labels not in keys:
        raise EdgecError(f"data file '{path}' has no array '{labels}'", f"it holds: {', '.join(keys)}")
    target = data[labels] if labels is not None else None
    if any(len(a) != count for a in arrays) or (target is not None and len(target) != count):
        raise EdgecError(f"data file '{path}': arrays have different sample counts on axis 0")
    return [[a[i] for a in arrays] for i in range(count)], target


def _real(graph, name: str, value: np.ndarray) -> np.ndarray:
    quant = graph.tensors[name].quant
    if value.dtype.kind == "f" or quant is None:
        return value.astype(np.float64)
    return (value.astype(np.float64) - float(quant.zero_point[0])) * float(quant.scale[0])


def _fit(graph, samples: list) -> list:
    """Samples cast/quantized to the graph's input dtypes and shapes."""
    fitted = []
    for sample in samples:
        row = []
        for name, x in zip(graph.inputs, sample):
            t = graph.tensors[name]
            x = np.asarray(x).reshape(t.shape)
            if t.dtype == "int8" and x.dtype.kind == "f" and t.quant is not None:
                q = np.round(x / float(t.quant.scale[0])) + float(t.quant.zero_point[0])
                x = np.clip(q, -128, 127)
            row.append(x.astype(t.dtype))
        fitted.append(row)
    return fitted


def _compiled(model, graph, samples: list, cache_dir) -> np.ndarray:
    """The first output of the generated C (built for the host) on every sample."""
    with tempfile.TemporaryDirectory(prefix="edgec-evaluate-") as tmp:
        result = build(model, tmp, BuildOptions(name="evaluated", cache_dir=cache_dir),
                       loaded=graph)
        g = result.graph
        actual = run_harness(compile_host(result), g, _fit(g, samples),
                             image=model_image(result))
    return np.stack([_real(g, g.outputs[0], a[0]) for a in actual])


def _metrics(outputs: np.ndarray, target: np.ndarray | None, reference: np.ndarray | None) -> dict:
    flat = outputs.reshape(len(outputs), -1)
    out: dict = {}
    classifier = target is not None and target.ndim == 1 and target.dtype.kind in "iu"
    if classifier:
        out["accuracy"] = float(np.mean(np.argmax(flat, axis=1) == target))
    elif target is not None:
        diff = flat - target.reshape(len(target), -1).astype(np.float64)
        out["mse"], out["max_error"] = float(np.mean(diff ** 2)), float(np.max(np.abs(diff)))
    if reference is not None:
        ref = reference.reshape(len(reference), -1)
        if ref.shape[1] > 1:
            out["agreement"] = float(np.mean(np.argmax(flat, 1) == np.argmax(ref, 1)))
        out["mse_vs_float"] = float(np.mean((flat - ref) ** 2))
    return out


def evaluate(model: str | os.PathLike, data: str, *, labels: str | None = None,
             calibration: str | None = None, weights: tuple[str, ...] = ("int8", "int4"),
             cache_dir=None) -> list[Variant]:
    """The float model (when it is float) and its compiled variants on ``data``."""
    graph = load_graph(model)
    samples, target = load_data(data, graph.inputs, labels)
    if not samples:
        raise EdgecError(f"data file '{data}' holds no samples")
    floating = any(t.dtype == "float32" and t.is_const for t in graph.tensors.values())
    variants = []
    reference = None
    if floating:
        outs = [interpret(graph, dict(zip(graph.inputs, s)))[graph.outputs[0]]
                for s in _fit(graph, samples)]
        reference = np.stack([np.asarray(o, np.float64) for o in outs])
        variants.append(Variant("float", reference))
        if calibration is None:
            raise EdgecError("a float model needs --calibrate CAL.npz to evaluate its int8 "
                             "and int4 builds", "give calibration samples (one array per input)")
        for w in weights:
            q = load_graph(model, Quantization(calibration, weights=w))
            variants.append(Variant(w, _compiled(model, q, samples, cache_dir)))
    else:
        variants.append(Variant("int8", _compiled(model, graph, samples, cache_dir)))
    for v in variants:
        v.metrics = _metrics(v.outputs, target, None if v.name == "float" else reference)
    return variants


def fit_samples(graph, samples: list) -> list:
    """``samples`` cast (or quantized) to ``graph``'s input dtypes and shapes."""
    return _fit(graph, samples)


def score(model: str | os.PathLike, graph, samples: list, target: np.ndarray | None,
          reference: np.ndarray | None = None, cache_dir=None) -> dict:
    """The metrics ``evaluate`` reports for ``graph`` compiled to C and run on the host over
    ``samples`` (``model`` names the build): accuracy or MSE against ``target``, agreement and
    MSE against the float outputs ``reference`` when given. ``edgec sweep`` scores each
    point with it."""
    return _metrics(_compiled(model, graph, samples, cache_dir), target, reference)


def float_outputs(graph, samples: list) -> np.ndarray:
    """The reference interpreter's first output of the float ``graph`` on ``samples``."""
    outs = [interpret(graph, dict(zip(graph.inputs, s)))[graph.outputs[0]]
            for s in _fit(graph, samples)]
    return np.stack([np.asarray(o, np.float64) for o in outs])
