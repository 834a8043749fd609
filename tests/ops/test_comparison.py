"""Comparisons (EQUAL ... GREATER_EQUAL), logic (LOGICAL_NOT / AND / OR, ONNX Xor as
NOT_EQUAL) and SELECT_V2 on bool tensors: ONNX imports against onnxruntime in the reference
and in the generated C (host), TFLite models against LiteRT and the export round trip, and
the C kernels against the reference."""

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgec.errors import EdgecError
from edgec.export import to_tflite_bytes
from edgec.frontends.onnx import load_onnx
from edgec.frontends.tflite import load_tflite
from edgec.ir import Tensor, interpret
from tests.lower.harness import check_against_reference, needs_gcc, single_node_graph
from tests.onnx_node.runner import run_c
from tests.refs import run_edgec_tflite, run_litert
from tests.tflite_builder import TFLiteBuilder

_ONNX_TYPES = {"float32": TensorProto.FLOAT, "int32": TensorProto.INT32,
               "int8": TensorProto.INT8, "uint16": TensorProto.UINT16, "bool": TensorProto.BOOL}


def _model(op_type, in_specs, out_type, consts=()) -> bytes:
    """One ONNX node reading graph inputs ``in_specs`` ((name, dtype, shape)) and constants
    ``consts`` ((name, array)), its output 'z'."""
    names = [n for n, _, _ in in_specs] + [n for n, _ in consts]
    graph = helper.make_graph(
        [helper.make_node(op_type, names if op_type != "Where" else sorted(names), ["z"])],
        "m", [helper.make_tensor_value_info(n, _ONNX_TYPES[d], list(s)) for n, d, s in in_specs],
        [helper.make_tensor_value_info("z", _ONNX_TYPES[out_type], None)],
        [numpy_helper.from_array(np.asarray(v), n) for n, v in consts])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]
                             ).SerializeToString()


def _check_onnx(data: bytes, feeds: dict, tmp_path) -> None:
    """The reference and the generated C equal onnxruntime exactly."""
    expected = ort.InferenceSession(data).run(None, feeds)[0]
    graph = load_onnx(data)
    got = interpret(graph, {n: feeds[n] for n in graph.inputs})["z"]
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
    names = list(feeds)
    outcome, why = run_c(data, [[feeds[n] for n in names]], [[expected]], names, ["z"],
                         tmp_path / "c")
    assert outcome == "pass", why


def _values(rng, dtype, shape):
    """Values with repeats (so EQUAL is sometimes true) and, for floats, NaN and infinities."""
    if dtype == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    if dtype == "float32":
        x = rng.integers(-3, 4, shape).astype(np.float32) * np.float32(0.5)
        x.flat[:3] = [np.nan, np.inf, -0.0]
        return x
    info = np.iinfo(dtype)
    x = rng.integers(-3, 4, shape) if info.min < 0 else rng.integers(0, 4, shape)
    x.flat[:2] = [info.min, info.max]
    return x.astype(dtype)


@pytest.mark.parametrize("op_type", ["Equal", "Less", "LessOrEqual", "Greater",
                                     "GreaterOrEqual"])
@pytest.mark.parametrize("dtype", ["float32", "int32", "int8", "uint16"])
def test_onnx_comparisons_match_onnxruntime(op_type, dtype, tmp_path):
    rng = np.random.default_rng(len(op_type) * 7 + len(dtype))
    a, b = _values(rng, dtype, (2, 3, 4)), _values(rng, dtype, (3, 1))
    a.flat[5] = b.flat[0]  # one equal pair at a broadcast position
    data = _model(op_type, [("a", dtype, a.shape), ("b", dtype, b.shape)], "bool")
    _check_onnx(data, {"a": a, "b": b}, tmp_path)


def test_onnx_comparison_with_a_constant(tmp_path):
    data = _model("Less", [("a", "int32", (4, 5))], "bool",
                  consts=(("b", np.array([0, 1, -1, 2, 7], np.int32)),))
    _check_onnx(data, {"a": _values(np.random.default_rng(2), "int32", (4, 5))}, tmp_path)


@pytest.mark.parametrize("op_type,shapes", [
    ("Not", [(3, 4)]), ("And", [(2, 3, 4), (3, 4)]), ("Or", [(2, 3, 4), (2, 1, 4)]),
    ("Xor", [(3, 4), (3, 4)]), ("Equal", [(3, 4), (4,)])])
def test_onnx_logic_matches_onnxruntime(op_type, shapes, tmp_path):
    rng = np.random.default_rng(5)
    feeds = {n: _values(rng, "bool", s) for n, s in zip("ab", shapes)}
    data = _model(op_type, [(n, "bool", a.shape) for n, a in feeds.items()], "bool")
    _check_onnx(data, feeds, tmp_path)


@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_onnx_where_matches_onnxruntime(dtype, tmp_path):
    rng = np.random.default_rng(6)
    feeds = {"a": _values(rng, "bool", (2, 1, 4)), "b": _values(rng, dtype, (3, 4)),
             "c": _values(rng, dtype, (2, 3, 1))}
    data = _model("Where", [(n, "bool" if n == "a" else dtype, x.shape)
                            for n, x in feeds.items()], dtype)
    _check_onnx(data, feeds, tmp_path)


def test_onnx_where_between_constants(tmp_path):
    data = _model("Where", [("a", "bool", (2, 2))], "int32",
                  consts=(("b", np.array([[1, 2], [3, 4]], np.int32)),
                          ("c", np.array([9, 8], np.int32))))
    _check_onnx(data, {"a": np.array([[True, False], [False, True]])}, tmp_path)


@pytest.mark.parametrize("op_type,dtypes,hint", [
    ("Less", ["float32", "int32"], "one float or integer type"),
    ("Less", ["bool", "bool"], "compare bools with Equal"),
    ("And", ["int32", "int32"], "one bool type"),
])
def test_onnx_refuses_mixed_or_wrong_types(op_type, dtypes, hint):
    data = _model(op_type, [(n, d, (3,)) for n, d in zip("ab", dtypes)], "bool")
    with pytest.raises(EdgecError, match=hint):
        load_onnx(data)


def _tflite(op, dtypes, shapes, out_dtype="bool") -> bytes:
    b = TFLiteBuilder()
    ins = [b.tensor(n, s, d) for n, d, s in zip("abc", dtypes, shapes)]
    y = b.tensor("y", np.broadcast_shapes(*shapes), out_dtype)
    b.op(op, ins, [y])
    return b.build(inputs=ins, outputs=[y])


@pytest.mark.parametrize("op,dtypes,out", [
    ("LESS", ["float32", "float32"], "bool"), ("GREATER_EQUAL", ["int32", "int32"], "bool"),
    ("EQUAL", ["float32", "float32"], "bool"), ("NOT_EQUAL", ["bool", "bool"], "bool"),
    ("LOGICAL_AND", ["bool", "bool"], "bool"), ("LOGICAL_OR", ["bool", "bool"], "bool"),
    ("LOGICAL_NOT", ["bool"], "bool"),
    ("SELECT_V2", ["bool", "float32", "float32"], "float32"),
])
def test_tflite_matches_litert_and_round_trips(op, dtypes, out):
    rng = np.random.default_rng(9)
    shapes = [(2, 3, 4), (3, 1), (1, 4)][:len(dtypes)]
    inputs = [_values(rng, d, s) for d, s in zip(dtypes, shapes)]
    model = _tflite(op, dtypes, shapes, out)
    expected = run_litert(model, inputs, reference=True)[0]
    got = run_edgec_tflite(model, inputs)[0]
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
    again = load_tflite(to_tflite_bytes(load_tflite(model)))
    assert [n.op for n in again.nodes] == [op]


def test_checker_refuses_a_non_bool_condition():
    with pytest.raises(EdgecError, match="takes bool 'c' but it is float32"):
        single_node_graph("SELECT_V2", [Tensor("c", (3,), "float32"), Tensor("a", (3,), "float32"),
                                        Tensor("b", (3,), "float32")],
                          [Tensor("y", (3,), "float32")])


@needs_gcc
@pytest.mark.parametrize("op,dtype", [
    ("LESS", "float32"), ("GREATER_EQUAL", "int64"), ("EQUAL", "plain_int8"),
    ("NOT_EQUAL", "bool"), ("LOGICAL_AND", "bool"), ("LOGICAL_NOT", "bool"),
    ("SELECT_V2", "uint16"), ("SELECT_V2", "float32")])
def test_c_kernel_matches_reference(op, dtype, tmp_path):
    dtype = dtype.removeprefix("plain_")
    if op == "SELECT_V2":
        ins = [Tensor("c", (2, 3, 4), "bool"), Tensor("a", (3, 1), dtype),
               Tensor("b", (1, 4), dtype)]
        out = Tensor("y", (2, 3, 4), dtype)
    else:
        ins = [Tensor("a", (2, 3, 4), dtype), Tensor("b", (3, 1), dtype)][
            :1 if op == "LOGICAL_NOT" else 2]
        out = Tensor("y", (2, 3, 4), "bool")
    check_against_reference(single_node_graph(op, ins, [out]), tmp_path,
                            np.random.default_rng(3), sanitize=True)


_CMP_OPS = ["EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL"]


def _int8_model(op, shapes, quants) -> bytes:
    b = TFLiteBuilder()
    ins = [b.tensor(n, s, "int8", scale=q[0], zero_point=q[1])
           for n, s, q in zip("ab", shapes, quants)]
    y = b.tensor("y", np.broadcast_shapes(*shapes), "bool")
    b.op(op, ins, [y])
    return b.build(inputs=ins, outputs=[y])


@pytest.mark.parametrize("op", _CMP_OPS)
@pytest.mark.parametrize("seed", range(4))
def test_int8_matches_tflm(op, seed):
    """Random scales (equal ones, close ones whose rescaled values tie, far ones) and every
    code pair, against TFLM's comparison with scaling."""
    rng = np.random.default_rng(seed)
    s1 = float(rng.uniform(1e-3, 0.99))
    s2 = [s1, s1 * (1 + 1e-7), float(rng.uniform(1e-3, 0.99)), s1 / 3][seed]
    quants = [(s1, int(rng.integers(-128, 128))), (s2, int(rng.integers(-128, 128)))]
    a = np.arange(-128, 128, dtype=np.int8).reshape(1, 256, 1)
    b = rng.integers(-128, 128, (1, 1, 7)).astype(np.int8)
    b[0, 0, 0] = quants[1][1]
    from tests.refs import assert_matches_tflm

    assert_matches_tflm(_int8_model(op, [a.shape, b.shape], quants), [a, b])


def test_int8_scale_of_one_or_more_is_refused():
    model = _int8_model("LESS", [(4,), (4,)], [(1.5, 0), (0.5, 0)])
    graph = load_tflite(model)
    with pytest.raises(EdgecError, match="not below 1"):
        interpret(graph, {"a": np.zeros(4, np.int8), "b": np.zeros(4, np.int8)})


@needs_gcc
@pytest.mark.parametrize("op", ["LESS", "EQUAL", "GREATER_EQUAL"])
def test_int8_c_kernel_matches_reference(op, tmp_path):
    from edgec.ir import QuantParams

    qa, qb = QuantParams(np.array([0.0371], np.float32), np.array([-7])), \
        QuantParams(np.array([0.0123], np.float32), np.array([20]))
    graph = single_node_graph(op, [Tensor("a", (2, 16, 8), "int8", quant=qa),
                                   Tensor("b", (16, 1), "int8", quant=qb)],
                              [Tensor("y", (2, 16, 8), "bool")])
    check_against_reference(graph, tmp_path, np.random.default_rng(1), sanitize=True)


def test_int8_select_matches_tflm():
    rng = np.random.default_rng(11)
    b = TFLiteBuilder()
    c = b.tensor("c", (2, 3, 1), "bool")
    x = b.tensor("x", (1, 3, 5), "int8", scale=0.05, zero_point=-3)
    y = b.tensor("y", (2, 1, 5), "int8", scale=0.05, zero_point=-3)
    out = b.tensor("out", (2, 3, 5), "int8", scale=0.05, zero_point=-3)
    b.op("SELECT_V2", [c, x, y], [out])
    model = b.build(inputs=[c, x, y], outputs=[out])
    from tests.refs import assert_matches_tflm

    assert_matches_tflm(model, [rng.integers(0, 2, (2, 3, 1)).astype(bool),
                                rng.integers(-128, 128, (1, 3, 5)).astype(np.int8),
                                rng.integers(-128, 128, (2, 1, 5)).astype(np.int8)])


def test_int8_select_with_different_quantizations_is_refused():
    b = TFLiteBuilder()
    c = b.tensor("c", (4,), "bool")
    x = b.tensor("x", (4,), "int8", scale=0.05, zero_point=0)
    y = b.tensor("y", (4,), "int8", scale=0.1, zero_point=0)
    out = b.tensor("out", (4,), "int8", scale=0.05, zero_point=0)
    b.op("SELECT_V2", [c, x, y], [out])
    graph = load_tflite(b.build(inputs=[c, x, y], outputs=[out]))
    with pytest.raises(EdgecError, match="share one per-tensor quantization"):
        interpret(graph, {"c": np.ones(4, bool), "x": np.zeros(4, np.int8),
                          "y": np.zeros(4, np.int8)})


@needs_gcc
def test_int8_select_c_kernel_matches_reference(tmp_path):
    from edgec.ir import QuantParams

    q = QuantParams(np.array([0.02], np.float32), np.array([5]))
    graph = single_node_graph("SELECT_V2", [Tensor("c", (3, 1), "bool"),
                                            Tensor("a", (3, 8), "int8", quant=q),
                                            Tensor("b", (1, 8), "int8", quant=q)],
                              [Tensor("y", (3, 8), "int8", quant=q)])
    check_against_reference(graph, tmp_path, np.random.default_rng(2), sanitize=True)
