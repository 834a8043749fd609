"""Kernels are defined ``NAME_KERNEL static`` (``templates/model.c.j2``: GCC's
``noclone`` where the compiler has it): GCC 12.2 at -O2 on 32-bit targets deleted the call
of an int8 -> int16 SOFTMAX on [1, 10] once IPA-CP had cloned it with the arena's address.
The op grid runs the case on the emulated Cortex-M cores; host gcc -m32 shows the same
miscompilation in a second, so this test runs it there too where 32-bit libc is installed."""

import shutil
import subprocess

import numpy as np
import pytest

from edgec.verify.cortexm.batch import emit_graph
from edgec.ir import interpret
from edgec.verify import random_inputs
from tests.lower.test_softmax import _int16_output_graph

MAIN = """#include <stdint.h>
#include <stdio.h>
#include "m.h"
int main(void)
{
    int8_t x[10];
    int16_t y[10];
    int i;
    for (i = 0; i < 10; ++i) {
        int v;
        if (scanf("%d", &v) != 1) return 2;
        x[i] = (int8_t)v;
        y[i] = 0;
    }
    if (m_invoke(x, y) != 0) return 3;
    for (i = 0; i < 10; ++i) printf("%d\\n", y[i]);
    return 0;
}
"""
FLAGS = ["-std=c99", "-O2", "-m32", "-Wall", "-Wextra", "-Werror", "-pedantic"]


def _gcc_m32(tmp_path) -> bool:
    probe = tmp_path / "probe.c"
    probe.write_text("#include <stdio.h>\nint main(void) { return puts(\"\") < 0; }\n")
    if shutil.which("gcc") is None:
        return False
    return subprocess.run(["gcc", "-m32", str(probe), "-o", str(tmp_path / "probe")],
                          capture_output=True).returncode == 0


def test_kernels_are_not_cloned_or_inlined(tmp_path):
    graph = _int16_output_graph(np.random.default_rng(0), (1, 10), 0.05)
    emit_graph(graph, tmp_path, "m", "host")
    c = (tmp_path / "m.c").read_text()
    assert "#define M_KERNEL __attribute__((noclone, noinline))" in c
    assert "\nM_KERNEL static void m_softmax_10(" in c
    assert c.index("#define M_KERNEL __attr") < c.index("M_KERNEL static void")


def test_int16_softmax_survives_gcc_m32_O2(tmp_path):
    if not _gcc_m32(tmp_path):
        pytest.skip("gcc -m32 cannot link (no 32-bit libc)")
    graph = _int16_output_graph(np.random.default_rng(0), (1, 10), 0.05)
    emit_graph(graph, tmp_path, "m", "host")
    (tmp_path / "main.c").write_text(MAIN)
    exe = tmp_path / "m32"
    subprocess.run(["gcc", *FLAGS, "-I", str(tmp_path), str(tmp_path / "m.c"),
                    str(tmp_path / "main.c"), "-o", str(exe)], check=True)
    for (x,) in random_inputs(graph, 3, seed=0):
        out = subprocess.run([str(exe)], input="\n".join(map(str, x.ravel())), text=True,
                             capture_output=True, check=True).stdout
        got = np.array(out.split(), dtype=np.int16).reshape(x.shape)
        np.testing.assert_array_equal(got, interpret(graph, {"x": x})["y"])
