"""Compile lowered kernels with gcc, run them on given inputs, and compare with the reference.

Each kernel is compiled into a small executable: its arguments are embedded as C arrays,
copied into exactly-sized heap blocks (so AddressSanitizer sees any overrun), the kernel runs,
and the outputs are written to stdout as raw bytes.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from edgec.ir import Graph, Node, Tensor, check_graph, interpret
from edgec.lower import lower_graph
from edgec.options import BuildOptions

WARNINGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]
SANITIZE = ["-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"]

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")


def single_node_graph(op: str, inputs: list[Tensor], outputs: list[Tensor], attrs=None,
                      name: str = "n0") -> Graph:
    """A checked graph of one node; inputs without data are the graph inputs."""
    g = Graph(name="t")
    for t in inputs + outputs:
        g.add_tensor(t)
    g.nodes.append(Node(op, [t.name for t in inputs], [t.name for t in outputs],
                        dict(attrs or {}), name))
    g.inputs = [t.name for t in inputs if t.data is None]
    g.outputs = [t.name for t in outputs]
    return check_graph(g)


def _c_array(name: str, arr: np.ndarray) -> str:
    from edgec.cdefs import C_TYPES

    from edgec.ir.floats import MINIFLOATS, bits_of

    flat = arr.reshape(-1)
    if arr.dtype.name in MINIFLOATS:  # their bit patterns, as C holds them
        flat = bits_of(flat)
    if arr.dtype in (np.float32, np.float64):
        suffix, cast = ("f", "") if arr.dtype == np.float32 else ("", "(double)")
        items = [f"{float(v).hex()}{suffix}" if np.isfinite(v) else f"{cast}NAN" if np.isnan(v)
                 else f"{cast}INFINITY" if v > 0 else f"-{cast}INFINITY" for v in flat]
    else:
        items = [str(int(v)) for v in flat]
    ctype = C_TYPES[arr.dtype.name]
    return f"static const {ctype} {name}[{max(1, flat.size)}] = {{{', '.join(items) or '0'}}};"


def _program(kernel, arrays: list[np.ndarray], n_out: int, shares: dict[int, int],
             scratch: np.ndarray | None = None) -> str:
    """The test program; argument ``i`` in ``shares`` gets the block of argument
    ``shares[i]`` instead of its own (an output computed in place over an input)."""
    from edgec.cdefs import C_TYPES
    from edgec.lower.templates import helper_source

    lines = ["#include <stdint.h>", "#include <math.h>", "#include <stdio.h>",
             "#include <stdlib.h>", "#include <string.h>", helper_source(kernel.helpers),
             kernel.c_source]
    own = [i for i in range(len(arrays)) if i not in shares]
    lines += [_c_array(f"data{i}", arrays[i]) for i in own]
    lines.append("int main(void)\n{")
    for i in own:
        ctype = C_TYPES[arrays[i].dtype.name]
        lines.append(f"    {ctype} *a{i} = malloc({arrays[i].nbytes});")
        lines.append(f"    memcpy(a{i}, data{i}, {arrays[i].nbytes});")
    pointers = [f"a{shares.get(i, i)}" for i in range(len(arrays))]
    call = list(pointers)
    if scratch is not None:  # the kernel's arena scratch, poisoned: it must not be read first
        ctype = C_TYPES[scratch.dtype.name]
        lines.append(f"    {ctype} *scratch = malloc({scratch.nbytes});")
        lines.append(f"    memset(scratch, 0x5A, {scratch.nbytes});")
        call.append("scratch")
    lines.append(f"    {kernel.func_name}({', '.join(call)});")
    for i in range(len(arrays) - n_out, len(arrays)):
        lines.append(f"    fwrite({pointers[i]}, 1, {arrays[i].nbytes}, stdout);")
    lines += [f"    free(a{i});" for i in own]
    if scratch is not None:
        lines.append("    free(scratch);")
    lines.append("    return 0;\n}\n")
    return "\n".join(lines)


def run_kernel(kernel, graph: Graph, values: dict[str, np.ndarray],
               sanitize: bool = False, in_place: str | None = None) -> dict[str, np.ndarray]:
    """Compile ``kernel`` (warnings as errors; sanitizers when asked), run it on ``values``
    (tensor name -> array; graph constants are added), return its outputs by tensor name.
    With ``in_place`` (an input tensor), the single output is passed that input's pointer."""
    node = next(n for n in graph.nodes if n.name == kernel.node_name)
    outputs = node.outputs
    values = {**{n: t.data for n, t in graph.tensors.items() if t.data is not None},
              **kernel.constants, **values}
    arrays = []
    for name in kernel.args:
        if name in outputs:
            t = graph.tensors[name]
            arrays.append(np.zeros(t.shape, t.dtype))
        else:
            arrays.append(np.ascontiguousarray(values[name]))
    shares = {}
    if in_place is not None:
        (output,) = outputs
        shares[kernel.args.index(output)] = kernel.args.index(in_place)
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = Path(tmp) / "k.c", Path(tmp) / "k"
        src.write_text(_program(kernel, arrays, len(outputs), shares, _scratch(kernel)))
        flags = WARNINGS + (SANITIZE if sanitize else ["-O2"])
        subprocess.run(["gcc", *flags, str(src), "-o", str(exe), "-lm"], check=True,
                       capture_output=True, text=True)
        run = subprocess.run([str(exe)], capture_output=True, timeout=60)
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    result, offset = {}, 0
    for name in outputs:
        t = graph.tensors[name]
        nbytes = t.nbytes
        result[name] = np.frombuffer(run.stdout[offset:offset + nbytes], t.dtype).reshape(t.shape)
        offset += nbytes
    assert offset == len(run.stdout), "kernel wrote an unexpected number of bytes"
    return result


def _scratch(kernel) -> np.ndarray | None:
    """An array of the kernel's scratch size and pointer type, or None without scratch."""
    from edgec.cdefs import C_TYPES

    if kernel.scratch_bytes <= 0:
        return None
    dtype = np.dtype(next(k for k, v in C_TYPES.items() if v == kernel.params[-1].ctype))
    return np.zeros(-(-kernel.scratch_bytes // dtype.itemsize), dtype)


def random_inputs(graph: Graph, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Uniform random values for every graph input (full int8 range; floats in [-2, 2))."""
    result = {}
    for name in graph.inputs:
        t = graph.tensors[name]
        if t.dtype == "float32":
            result[name] = rng.uniform(-2, 2, t.shape).astype(np.float32)
        elif t.dtype == "bool":
            result[name] = rng.integers(0, 2, t.shape).astype(bool)
        else:
            info = np.iinfo(t.dtype)
            result[name] = rng.integers(info.min, int(info.max) + 1, t.shape).astype(t.dtype)
    return result


def check_against_reference(graph: Graph, cache_dir, rng, sanitize: bool = False):
    """Lower the one-node ``graph``, run the C, assert equality with ``interpret`` (int8
    bit-exact, float within 1e-5 relative to the output's largest magnitude)."""
    from tests.refs import describe_mismatch

    (kernel,) = lower_graph(graph, BuildOptions(cache_dir=cache_dir))
    inputs = random_inputs(graph, rng)
    expected = interpret(graph, inputs)
    actual = run_kernel(kernel, graph, inputs, sanitize=sanitize)
    for name, exp in expected.items():
        if exp.dtype == np.float32:
            scale = max(1.0, float(np.max(np.abs(exp)))) if exp.size else 1.0
            np.testing.assert_allclose(actual[name], exp, rtol=1e-5, atol=1e-5 * scale)
        else:
            problem = describe_mismatch(exp, actual[name], name)
            assert problem is None, f"{problem}\n{kernel.c_source}"
    return kernel
