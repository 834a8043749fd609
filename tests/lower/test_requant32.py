"""The int32 form of MultiplyByQuantizedMultiplier (``te_quant.mbqm32``) against
``edgec.ir.quant`` on edge values, compiled with sanitizers; and when rules may take it."""

import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from edgec.ir.quant import multiply_by_quantized_multiplier
from edgec.lower.registry import Built
from edgec.lower.rules._te import sum_fits_int32
from edgec.lower.te_quant import Fast, fast_form
from tests.lower.harness import SANITIZE, WARNINGS, _c_array, needs_gcc

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def _cases(left: bool):
    """Every edge value of x against every multiplier and shift a rule may pass."""
    xs = [INT32_MIN, INT32_MIN + 1, -(1 << 30), -12345, -2, -1, 0, 1, 2, 777, 1 << 30,
          INT32_MAX - 1, INT32_MAX]
    mults = [0, 1, 1 << 30, (1 << 30) + 12345, INT32_MAX]
    shifts = [-31, -17, -1, 0] + ([1, 5, 31] if left else [])
    grid = np.array(np.meshgrid(xs, mults, shifts)).reshape(3, -1)
    return [row.astype(np.int32) for row in grid]


def _kernel_c(n: int, form: Fast) -> str:
    from tvm import te

    from edgec.lower.templates import print_function
    from edgec.lower.te_quant import mbqm32
    from edgec.lower.tir import attach, lower_built

    x, mult, shift = (te.placeholder((n,), "int32", name) for name in ("x", "mult", "shift"))
    q, stages = mbqm32((n,), lambda i: x[i], lambda i: mult[i], lambda i: shift[i], "rq", form)
    y = te.compute((n,), lambda i: q[i], name="y")
    func = lower_built(Built([x, mult, shift, y], lambda sch: attach(sch, "y", 0, *stages)))
    return print_function(func, "requant")


@needs_gcc
@pytest.mark.parametrize("left", [False, True])
def test_int32_requantization_is_bit_exact(left):
    x, mult, shift = _cases(left)
    n = x.size
    program = "\n".join([
        "#include <stdint.h>", "#include <stdio.h>", _kernel_c(n, Fast(left=left)),
        _c_array("x", x), _c_array("mult", mult), _c_array("shift", shift),
        f"static int32_t y[{n}];",
        "int main(void)\n{", "    requant(x, mult, shift, y);",
        f"    fwrite(y, 4, {n}, stdout);", "    return 0;\n}\n"])
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = Path(tmp) / "r.c", Path(tmp) / "r"
        src.write_text(program)
        subprocess.run(["gcc", *WARNINGS, *SANITIZE, str(src), "-o", str(exe)], check=True)
        out = subprocess.run([str(exe)], check=True, capture_output=True).stdout
    expected = multiply_by_quantized_multiplier(x, mult, shift)
    np.testing.assert_array_equal(np.frombuffer(out, np.int32), expected)


def test_fast_form_follows_the_constants():
    assert fast_form(np.array([1 << 30, 5]), np.array([-3, 0])) == Fast(left=False)
    assert fast_form(np.array([1 << 30, 5]), np.array([-3, 2])) == Fast(left=True)
    assert fast_form(np.array([INT32_MIN]), np.array([0])) is None
    assert fast_form(np.array([1 << 30]), np.array([-32])) is None


def test_sum_fits_int32_bounds_accumulator_plus_bias():
    assert sum_fits_int32(9 << 14, np.array([-5000, 5000]))
    assert not sum_fits_int32(9 << 14, np.array([INT32_MAX - 7]))
