"""What host and emulated verification share: the packed sample layout both harnesses read
and write, the context their templates render from, seeded random inputs and the runner of
external tools (compilers, the harness itself) with the same error messages.

A packed sample holds every tensor's raw bytes, each at a ``SAMPLE_ALIGN``-byte aligned offset;
one file holds the samples back to back, so one process runs them all.
"""

from __future__ import annotations

import subprocess

import numpy as np

from edgec.build import BuildResult
from edgec.emit.cdata import c_type
from edgec.errors import EdgecError
from edgec.ir import Graph
from edgec.ir.floats import is_float
from edgec.ir.graph import NARROW_INT_DTYPES, storage_dtype

SAMPLE_ALIGN = 16
RUN_TIMEOUT_S = 600


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


def pack_samples(samples: list[list[np.ndarray]], layout: list[dict], size: int) -> bytes:
    """``samples`` (arrays in ``layout`` order) in one blob, ``size`` bytes per sample."""
    blob = bytearray(size * len(samples))
    for k, sample in enumerate(samples):
        for entry, array in zip(layout, sample):
            start = k * size + entry["at"]
            # narrow integers (int4, ...) one per byte, sign- or zero-extended (as C holds them)
            data = np.ascontiguousarray(array).astype(storage_dtype(entry["dtype"]), copy=False)
            blob[start:start + entry["nbytes"]] = data.tobytes()
    return bytes(blob)


def unpack_samples(blob: bytes, layout: list[dict], size: int,
                   count: int) -> list[list[np.ndarray]]:
    """The ``count`` samples of ``blob``, the inverse of ``pack_samples``."""
    return [[np.frombuffer(blob, dtype=storage_dtype(e["dtype"]), count=int(np.prod(e["shape"])),
                           offset=k * size + e["at"]).reshape(e["shape"]) for e in layout]
            for k in range(count)]


def random_inputs(graph: Graph, count: int, seed: int = 0) -> list[list[np.ndarray]]:
    """``count`` seeded random samples: integers over their whole range, floats ~ N(0, 1)."""
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(count):
        sample = []
        for name in graph.inputs:
            t = graph.tensors[name]
            if is_float(t.dtype):  # float32, float64, the minifloats (edgec.ir.floats)
                sample.append(rng.standard_normal(t.shape).astype(t.dtype))
            else:
                if t.dtype == "bool":
                    sample.append(rng.integers(0, 2, t.shape).astype(bool))
                    continue
                if t.dtype in NARROW_INT_DTYPES:  # int4 ... uint2: one value per storage byte
                    bits, signed = NARROW_INT_DTYPES[t.dtype]
                    low = -(1 << (bits - 1)) if signed else 0
                    sample.append(rng.integers(low, low + (1 << bits), t.shape)
                                  .astype(storage_dtype(t.dtype)))
                    continue
                info = np.iinfo(t.dtype)
                if info.max < np.iinfo(np.int64).max:
                    sample.append(rng.integers(int(info.min), int(info.max) + 1,
                                               t.shape).astype(t.dtype))
                else:  # int64 and uint64: the whole range, drawn in the dtype itself
                    sample.append(rng.integers(info.min, info.max, t.shape, dtype=t.dtype,
                                               endpoint=True))
        samples.append(sample)
    return samples


def run_tool(cmd: list[str], what: str, **kwargs) -> subprocess.CompletedProcess:
    """Run ``cmd`` (``what`` it does, for messages); a missing tool or a failure is an
    ``EdgecError`` naming the command and the first lines of its output."""
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
