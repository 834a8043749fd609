"""Host verification: build a model, compile the C with a generated harness, run it on inputs
and compare every output with the reference interpreter.

The harness reads samples from one binary file (each sample: every input's raw bytes, each at
a 16-byte aligned offset) and writes the outputs the same way, so one process runs them all.
int8 (any integer) outputs must be equal bit for bit; float outputs pass when the largest
absolute difference is at most ``FLOAT_RTOL`` times the largest magnitude of that output.

On a target QEMU emulates (``edgec.cortexm``), the same samples run in a bare-metal harness on
the emulated core, which also measures instructions per inference, flash and RAM.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgec import __version__
from edgec.build import BuildResult, Quantization, build, load_graph
from edgec.emit.cdata import c_type
from edgec.emit.templates import render
from edgec.errors import EdgecError
from edgec.ir import Graph, interpret
from edgec.ir.interpret import check_inputs

FLOAT_RTOL = 1e-5
SAMPLE_ALIGN = 16
RUN_TIMEOUT_S = 600


@dataclass
class VerifyResult:
    """The outcome: ``ok`` and a one-line ``message`` saying why."""

    ok: bool
    samples: int
    message: str
    max_error: float | None = None  # float outputs: the worst relative error
    device: object | None = None  # edgec.cortexm.DeviceStats on an emulated target


def packed_layout(graph: Graph, names: list[str]) -> tuple[list[dict], int]:
    """Where each tensor's bytes sit in one packed sample, and the sample's size."""
    entries, at = [], 0
    for index, name in enumerate(names):
        t = graph.tensors[name]
        entries.append({"index": index, "name": name, "at": at, "nbytes": t.nbytes,
                        "dtype": t.dtype, "shape": t.shape, "ctype": c_type(t.dtype)})
        at = -(-(at + t.nbytes) // SAMPLE_ALIGN) * SAMPLE_ALIGN
    return entries, max(at, 1)


def harness_context(result: BuildResult) -> dict:
    """What a harness template needs to know about ``result``'s model and sample layout."""
    inputs, in_bytes = packed_layout(result.graph, result.graph.inputs)
    outputs, out_bytes = packed_layout(result.graph, result.graph.outputs)
    return {"name": result.name, "NAME": result.name.upper(), "inputs": inputs,
            "outputs": outputs, "input_bytes": in_bytes, "output_bytes": out_bytes,
            "invoke": len(inputs) == 1 and len(outputs) == 1}


def render_harness(result: BuildResult, static_arena: bool) -> str:
    """The C source of the test harness for ``result``'s model."""
    return render("harness.c.j2", {**harness_context(result), "version": __version__,
                                   "static_arena": static_arena})


def _run_tool(cmd: list[str], what: str, **kwargs) -> subprocess.CompletedProcess:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
                              **kwargs)
    except FileNotFoundError as exc:
        raise EdgecError(f"cannot run '{cmd[0]}' to {what}", "install it or put it on PATH") \
            from exc
    if done.returncode != 0:
        detail = " | ".join((done.stderr or done.stdout).strip().splitlines()[:6])
        raise EdgecError(f"{what} failed (exit {done.returncode}): {' '.join(cmd)}: {detail}",
                         "this is a bug in edgec's generated C; rerun with -v and report it")
    return done


def compile_host(result: BuildResult, static_arena: bool = True,
                 extra_flags: tuple[str, ...] = ()) -> Path:
    """Compile the built model with its harness using the target's compiler and flags."""
    harness = result.out_dir / f"{result.name}_harness.c"
    harness.write_bytes(render_harness(result, static_arena).encode("ascii"))
    exe = result.out_dir / f"{result.name}_harness"
    target = result.target
    _run_tool([target["compiler"], *target["cflags"], *extra_flags, "-I", str(result.out_dir),
               str(result.out_dir / f"{result.name}.c"), str(harness), "-o", str(exe),
               *target.get("libs", [])], "compiling the generated C")
    return exe


def _pack(samples: list[list[np.ndarray]], layout: list[dict], size: int) -> bytes:
    blob = bytearray(size * len(samples))
    for k, sample in enumerate(samples):
        for entry, array in zip(layout, sample):
            start = k * size + entry["at"]
            blob[start:start + entry["nbytes"]] = np.ascontiguousarray(array).tobytes()
    return bytes(blob)


def _unpack(blob: bytes, layout: list[dict], size: int, count: int) -> list[list[np.ndarray]]:
    return [[np.frombuffer(blob, dtype=e["dtype"], count=int(np.prod(e["shape"])),
                           offset=k * size + e["at"]).reshape(e["shape"]) for e in layout]
            for k in range(count)]


def run_harness(exe: Path, graph: Graph, samples: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
    """Run the compiled harness on ``samples`` (arrays in ``graph.inputs`` order); return the
    outputs of each sample in ``graph.outputs`` order."""
    in_layout, in_size = packed_layout(graph, graph.inputs)
    out_layout, out_size = packed_layout(graph, graph.outputs)
    with tempfile.TemporaryDirectory(prefix="edgec-run-") as tmp:
        in_file, out_file = Path(tmp) / "inputs.bin", Path(tmp) / "outputs.bin"
        in_file.write_bytes(_pack(samples, in_layout, in_size))
        _run_tool([str(exe), str(in_file), str(out_file)], "running the generated C")
        blob = out_file.read_bytes()
    if len(blob) != out_size * len(samples):
        raise EdgecError(f"the harness wrote {len(blob)} bytes for {len(samples)} samples, "
                         f"expected {out_size * len(samples)}", "this is a bug in edgec")
    return _unpack(blob, out_layout, out_size, len(samples))


def random_inputs(graph: Graph, count: int, seed: int = 0) -> list[list[np.ndarray]]:
    """``count`` seeded random samples: integers over their whole range, floats ~ N(0, 1)."""
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(count):
        sample = []
        for name in graph.inputs:
            t = graph.tensors[name]
            if np.dtype(t.dtype).kind == "f":
                sample.append(rng.standard_normal(t.shape).astype(t.dtype))
            else:
                info = np.iinfo(t.dtype) if t.dtype != "bool" else np.iinfo(np.uint8)
                high = 1 if t.dtype == "bool" else int(info.max)
                sample.append(rng.integers(int(info.min), high + 1, t.shape).astype(t.dtype))
        samples.append(sample)
    return samples


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


def compare(graph: Graph, expected: list[list[np.ndarray]],
            actual: list[list[np.ndarray]]) -> VerifyResult:
    """Compare outputs sample by sample (see the module docstring for the criteria)."""
    worst = None
    for k, (exp_sample, act_sample) in enumerate(zip(expected, actual)):
        for name, e, a in zip(graph.outputs, exp_sample, act_sample):
            if e.dtype.kind != "f":
                if not np.array_equal(e, a):
                    return VerifyResult(False, len(expected), _first_difference(k, name, e, a))
                continue
            # NaN and +-inf must appear at the same places; finite values within tolerance.
            special = ~np.isfinite(e) | ~np.isfinite(a)
            if _differ(e[special], a[special]).any():
                return VerifyResult(False, len(expected), _first_difference(k, name, e, a)
                                    + " (NaN or infinity where the other has none)")
            e, a = e[~special], a[~special]
            scale = max(float(np.max(np.abs(e), initial=0.0)), np.finfo(np.float32).tiny)
            error = float(np.max(np.abs(e.astype(np.float64) - a), initial=0.0)) / scale
            if not np.isfinite(error) or error > FLOAT_RTOL:
                return VerifyResult(False, len(expected), _first_difference(k, name, e, a)
                                    + f" (relative error {error:.3g} > {FLOAT_RTOL:g})", error)
            worst = max(worst or 0.0, error)
    inputs = f"{len(expected)} input{'' if len(expected) == 1 else 's'}"
    if worst is None:
        return VerifyResult(True, len(expected), f"bit-exact on {inputs}")
    return VerifyResult(True, len(expected), f"max relative error {worst:.3g} on {inputs} "
                        f"(within {FLOAT_RTOL:g})", worst)


def verify(model: str | os.PathLike, *, target: str = "host", count: int = 10,
           extra_inputs: list[dict[str, np.ndarray]] = (), seed: int = 0,
           arena: str = "static", extra_flags: tuple[str, ...] = (),
           cache_dir: str | os.PathLike | None = None, progress=None,
           quantization: Quantization | None = None,
           optimize: str | None = None, kernels: str = "auto") -> VerifyResult:
    """Build ``model`` in a temporary folder, run ``count`` random inputs plus
    ``extra_inputs`` (dicts by input name) through the compiled C, compare with ``interpret``
    (of the quantized graph when ``quantization`` is given: the graph that was compiled).
    ``optimize`` and ``kernels`` go to ``build``."""
    from edgec.build import load_target

    emulated = target != "host"
    if emulated:
        from edgec.cortexm import emulated_machine

        emulated_machine(load_target(target))  # refuse before the slow build

    reference = load_graph(model, quantization)
    samples = [[check_inputs(reference, x)[n] for n in reference.inputs] for x in extra_inputs]
    samples += random_inputs(reference, count, seed)
    with tempfile.TemporaryDirectory(prefix="edgec-verify-") as tmp:
        result = build(model, tmp, target=target, arena=arena, cache_dir=cache_dir,
                       progress=progress, quantization=quantization, loaded=reference,
                       optimize=optimize, kernels=kernels)
        if emulated:
            actual, device = run_emulated(result, samples, arena == "static")
        else:
            exe = compile_host(result, arena == "static", extra_flags)
            actual, device = run_harness(exe, result.graph, samples), None
    expected = [[interpret(reference, s)[n] for n in reference.outputs] for s in samples]
    outcome = compare(reference, expected, actual)
    outcome.device = device
    return outcome


def run_emulated(result: BuildResult, samples: list[list[np.ndarray]], static_arena: bool):
    """The outputs of ``samples`` on ``result``'s emulated target, and its measurements."""
    from edgec.cortexm import run_samples

    in_layout, in_size = packed_layout(result.graph, result.graph.inputs)
    out_layout, out_size = packed_layout(result.graph, result.graph.outputs)
    blob, device = run_samples(result, harness_context(result),
                               _pack(samples, in_layout, in_size), len(samples), static_arena)
    if len(blob) != out_size * len(samples):
        raise EdgecError(f"the firmware wrote {len(blob)} bytes for {len(samples)} samples, "
                         f"expected {out_size * len(samples)}", "this is a bug in edgec")
    return _unpack(blob, out_layout, out_size, len(samples)), device
