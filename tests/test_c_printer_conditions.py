"""The C printer's ``if`` conditions: one pair of parentheses, so clang -Werror compiles them
(``if ((ax0 == 0))`` is clang's -Wparentheses-equality; found by the ONNX node suite's
test_gemm_default_no_bias compiled with clang)."""

import shutil
import subprocess

import onnx
import pytest
from onnx import TensorProto, helper

from edgec.build import build
from edgec.lower.c_printer import _outer_parens_dropped
from edgec.options import BuildOptions


def test_outer_parens_dropped_only_around_the_whole_condition():
    assert _outer_parens_dropped("(ax0 == 0)") == "ax0 == 0"
    assert _outer_parens_dropped("(a == 0) && (b == 1)") == "(a == 0) && (b == 1)"
    assert _outer_parens_dropped("((a == 0) && (b == 1))") == "(a == 0) && (b == 1)"
    assert _outer_parens_dropped("ax0 < 3") == "ax0 < 3"


@pytest.mark.skipif(shutil.which("clang") is None, reason="clang not installed")
def test_batch_matmul_compiles_with_clang_werror(tmp_path):
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 10])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, [10, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
    graph = helper.make_graph([helper.make_node("Gemm", ["a", "b"], ["y"])], "mm", [a, b], [y])
    model = tmp_path / "mm.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), model)
    result = build(model, tmp_path / "out", BuildOptions(cache_dir=tmp_path / "cache"))
    text = (result.out_dir / "mm.c").read_text()
    assert "if ((" not in text
    done = subprocess.run(["clang", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic",
                           "-c", str(result.out_dir / "mm.c"), "-o", str(tmp_path / "mm.o")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
