"""The TIR -> C printer: refuses what it cannot express, prints the same bytes every time."""

import pytest

from edgec.errors import EdgecError
from edgec.ir import Tensor
from edgec.lower.registry import Built
from edgec.options import BuildOptions
from tests.lower.harness import single_node_graph


def _lower(tensors, schedule=lambda sch: None):
    from edgec.lower.tir import lower_built

    return lower_built(Built(tensors, schedule))


def test_unsupported_call_names_the_intrinsic():
    from tvm import te, tirx

    from edgec.lower.c_printer import CPrintError
    from edgec.lower.templates import print_function

    x = te.placeholder((4,), "float32", "x")
    y = te.compute((4,), lambda i: tirx.sin(x[i]), name="y")
    with pytest.raises(CPrintError, match="sin"):
        print_function(_lower([x, y]), "f")


def test_unsupported_dtype_is_refused():
    from tvm import te

    from edgec.lower.c_printer import CPrintError
    from edgec.lower.templates import print_function

    # float16 arithmetic has no C99 type: edgec keeps minifloats as bit patterns
    # (edgec.ir.floats), so TIR in float16 itself is refused.
    x = te.placeholder((4,), "float16", "x")
    y = te.compute((4,), lambda i: x[i] * 2.0, name="y")
    with pytest.raises(CPrintError, match="float16"):
        print_function(_lower([x, y]), "f")


def test_float64_prints_as_double():
    from tvm import te

    from edgec.lower.templates import print_function

    x = te.placeholder((4,), "float64", "x")
    y = te.compute((4,), lambda i: x[i] * 2.5, name="y")
    text = print_function(_lower([x, y]), "f")
    assert "const double *" in text and "0x1.4000000000000p+1" in text


def test_unplaced_stage_is_refused():
    from tvm import te

    from edgec.lower.c_printer import CPrintError
    from edgec.lower.templates import print_function

    x = te.placeholder((64, 64), "int32", "x")
    t = te.compute((64, 64), lambda i, j: x[i, j] + 1, name="t")
    y = te.compute((64, 64), lambda i, j: t[j, i], name="y")
    with pytest.raises(CPrintError, match="not placed"):
        print_function(_lower([x, y]), "f")


def test_left_shift_of_unknown_sign_is_refused():
    from tvm import te

    from edgec.lower.c_printer import CPrintError
    from edgec.lower.templates import print_function

    x = te.placeholder((4,), "int32", "x")
    y = te.compute((4,), lambda i: x[i] << 2, name="y")
    with pytest.raises(CPrintError, match="left shift"):
        print_function(_lower([x, y]), "f")


def test_output_is_deterministic_and_const_correct():
    from tvm import te

    from edgec.lower.templates import print_function

    def text():
        x = te.placeholder((3, 5), "int8", "x")
        y = te.compute((3, 5), lambda i, j: (x[i, j] // 2).astype("int8"), name="y")
        return print_function(_lower([x, y]), "halve")

    first = text()
    assert first == text()
    assert first.startswith("void halve(const int8_t *restrict x, int8_t *restrict y)")


def test_int_immediates_keep_their_width_and_extremes():
    from tvm import tirx

    from edgec.lower.c_printer import _Printer

    class _Func:
        attrs = {}

    p = _Printer(_Func())
    assert p.expr(tirx.const(-(1 << 31), "int32")) == "((-2147483647 - 1))"
    assert p.expr(tirx.const(-(1 << 63), "int64")) == "((-INT64_C(9223372036854775807) - 1))"
    assert p.expr(tirx.const(5, "int64")) == "INT64_C(5)"
    assert p.expr(tirx.const(-3, "int8")) == "((int8_t)-3)"
    assert p.expr(tirx.const(0.1, "float32")) == f"{float(tirx.const(0.1, 'float32').value).hex()}f"


def test_op_without_rule_names_op_node_and_supported_list(tmp_path):
    from edgec.lower import lower_graph

    # Every op has an int8 rule; none lowers RELU on int32.
    graph = single_node_graph("RELU", [Tensor("x", (2, 3), "int32")],
                              [Tensor("y", (2, 3), "int32")], name="t0")
    # The hint lists the supported rules from the start (the message shortens a long hint).
    with pytest.raises(EdgecError, match=r"1 node\(s\) cannot be lowered: #0 RELU/int32 't0'"
                                         r".*supported: ADD/float32, ADD/int16"):
        lower_graph(graph, BuildOptions(cache_dir=tmp_path))
