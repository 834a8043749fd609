"""Plain integer tensors (docs/IR.md "Plain integers"): ONNX models computing on int8 ...
uint64 without quantization, through every stage.

- the reference interpreter against onnxruntime (where it has the kernel) and ONNX's own
  reference evaluator, on values that overflow every type (wrap-around as numpy);
- the generated C on the host, bit for bit, for every dtype in one build;
- TFLite export where TFLite computes the same (int32 / int64 arithmetic) against LiteRT,
  and a one-line refusal where it does not;
- quantized kernels never receive plain integers, and the reverse.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from edgec.errors import EdgecError
from edgec.frontends.onnx import load_onnx
from edgec.ir import Graph, Node, QuantParams, Tensor, check_graph, interpret
from edgec.ir.graph import INT_DTYPES, kernel_key

OPS = ("Add", "Sub", "Mul", "Max", "Min")


def _elem(dtype: str) -> int:
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def binary_model(op: str, dtype: str, a_shape=(2, 3, 4), b_shape=(4,)) -> onnx.ModelProto:
    """One ONNX ``op`` of two ``dtype`` inputs (``b`` broadcast)."""
    out = tuple(np.broadcast_shapes(a_shape, b_shape))
    graph = helper.make_graph(
        [helper.make_node(op, ["a", "b"], ["y"])], "plain_int",
        [helper.make_tensor_value_info("a", _elem(dtype), a_shape),
         helper.make_tensor_value_info("b", _elem(dtype), b_shape)],
        [helper.make_tensor_value_info("y", _elem(dtype), out)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def extreme_values(dtype: str, shape, rng) -> np.ndarray:
    """Random values of the whole range, with the type's minimum, maximum, 0 and -1 in."""
    info = np.iinfo(dtype)
    x = rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    flat = x.reshape(-1)
    specials = np.array([info.min, info.max, 0, info.max // 2 + 1], dtype=dtype)
    flat[:specials.size] = specials[:flat.size]
    return x


def onnx_reference(model: onnx.ModelProto, feeds: dict) -> np.ndarray:
    from onnx.reference import ReferenceEvaluator

    return ReferenceEvaluator(model).run(None, feeds)[0]


def onnxruntime_or_none(model: onnx.ModelProto, feeds: dict) -> np.ndarray | None:
    """onnxruntime's result, or None when it has no kernel for the op and type."""
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(model.SerializeToString(),
                                       providers=["CPUExecutionProvider"])
    except Exception:  # noqa: BLE001 - "could not find an implementation" for the type
        return None
    return session.run(None, feeds)[0]


@pytest.mark.parametrize("dtype", INT_DTYPES)
@pytest.mark.parametrize("op", OPS)
def test_reference_matches_onnx_with_wrap_around(op, dtype):
    model = binary_model(op, dtype)
    rng = np.random.default_rng(hash((op, dtype)) % 2**32)
    a, b = extreme_values(dtype, (2, 3, 4), rng), extreme_values(dtype, (4,), rng)
    graph = load_onnx(model.SerializeToString())
    got = interpret(graph, {"a": a, "b": b})["y"]
    assert got.dtype == np.dtype(dtype)
    want = onnx_reference(model, {"a": a, "b": b})
    np.testing.assert_array_equal(got, want)
    runtime = onnxruntime_or_none(model, {"a": a, "b": b})
    if runtime is not None:
        np.testing.assert_array_equal(got, runtime)


def test_wrap_around_is_numpy_s():
    """The cases that overflow: int8 127 + 1, uint16 65535 * 65535 (int promotion in C would
    overflow), int64 min - 1."""
    cases = [("Add", "int8", 127, 1, -128), ("Mul", "uint16", 65535, 65535, 1),
             ("Sub", "int64", np.iinfo(np.int64).min, 1, np.iinfo(np.int64).max),
             ("Mul", "int32", 65536, 65536, 0), ("Sub", "uint8", 0, 1, 255)]
    for op, dtype, x, y, want in cases:
        graph = load_onnx(binary_model(op, dtype, (1,), (1,)).SerializeToString())
        got = interpret(graph, {"a": np.array([x], dtype), "b": np.array([y], dtype)})["y"]
        assert got.tolist() == [want], (op, dtype)


def all_dtypes_model() -> tuple[onnx.ModelProto, dict]:
    """Every op on every integer dtype in one model (one C build), with a constant operand
    (Add of a constant), a Clip and data movement (Transpose, Concat) on the way."""
    nodes, inputs, outputs, inits = [], [], [], []
    for dtype in INT_DTYPES:
        a, b = f"a_{dtype}", f"b_{dtype}"
        inputs += [helper.make_tensor_value_info(a, _elem(dtype), (2, 3, 4)),
                   helper.make_tensor_value_info(b, _elem(dtype), (3, 1))]
        for op in OPS:
            y = f"{op.lower()}_{dtype}"
            nodes.append(helper.make_node(op, [a, b], [y]))
            outputs.append(helper.make_tensor_value_info(y, _elem(dtype), (2, 3, 4)))
        c = f"c_{dtype}"
        inits.append(helper.make_tensor(c, _elem(dtype), (4,), [3, 1, 0, 2]))
        lo, hi = f"lo_{dtype}", f"hi_{dtype}"
        inits += [helper.make_tensor(lo, _elem(dtype), (), [1]),
                  helper.make_tensor(hi, _elem(dtype), (), [100])]
        t, k, joined = f"t_{dtype}", f"clip_{dtype}", f"concat_{dtype}"
        nodes += [helper.make_node("Add", [a, c], [f"addc_{dtype}"]),
                  helper.make_node("Transpose", [f"addc_{dtype}"], [t], perm=[2, 0, 1]),
                  helper.make_node("Clip", [t, lo, hi], [k]),
                  helper.make_node("Concat", [k, t], [joined], axis=0)]
        outputs.append(helper.make_tensor_value_info(joined, _elem(dtype), (8, 2, 3)))
    graph = helper.make_graph(nodes, "plain_ints", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    rng = np.random.default_rng(7)
    feeds = {i.name: extreme_values(i.name.split("_", 1)[1], tuple(
        d.dim_value for d in i.type.tensor_type.shape.dim), rng) for i in inputs}
    return model, feeds


@pytest.mark.slow
def test_generated_c_matches_the_reference_for_every_dtype(tmp_path):
    from tests.onnx_node.runner import run_c

    from onnx.reference import ReferenceEvaluator

    model, feeds = all_dtypes_model()
    names = [o.name for o in model.graph.output]
    wants = ReferenceEvaluator(model).run(None, feeds)
    graph = load_onnx(model.SerializeToString())
    got = interpret(graph, feeds)
    for name, w in zip(names, wants):
        np.testing.assert_array_equal(got[name], w, err_msg=name)
    in_names = [i.name for i in model.graph.input]
    status, detail = run_c(model.SerializeToString(), [[feeds[n] for n in in_names]],
                           [wants], in_names, names, tmp_path / "c")
    assert status == "pass", detail


def test_c_api_declares_the_integer_types(tmp_path):
    from edgec.build import build, load_graph
    from edgec.options import BuildOptions

    path = tmp_path / "m.onnx"
    path.write_bytes(binary_model("Mul", "uint16").SerializeToString())
    result = build(path, tmp_path / "out", BuildOptions(name="m"), loaded=load_graph(path),
                   force=True)
    header = (result.out_dir / "m.h").read_text()
    assert "input 0: a, uint16_t[2, 3, 4]" in header
    assert "output 0: y, uint16_t[2, 3, 4]" in header
    source = (result.out_dir / "m.c").read_text()
    assert "(uint32_t)" in source  # the product in unsigned 32 bits, not int


@pytest.mark.parametrize("dtype", ["int32", "int64"])
@pytest.mark.parametrize("op", OPS)
def test_int32_and_int64_export_to_tflite_and_match_litert(op, dtype):
    from edgec.export.writer import export_graph
    from tests.refs import run_litert

    graph = load_onnx(binary_model(op, dtype).SerializeToString())
    rng = np.random.default_rng(3)
    a, b = extreme_values(dtype, (2, 3, 4), rng), extreme_values(dtype, (4,), rng)
    if op == "Mul":  # LiteRT's int64 MUL is not guaranteed to wrap: keep products in range
        a, b = a % 1000, b % 1000
    want = interpret(graph, [a, b])["y"]
    np.testing.assert_array_equal(run_litert(export_graph(graph), [a, b])[0], want)


@pytest.mark.parametrize("op,dtype", [("Add", "int8"), ("Mul", "uint16"), ("Max", "uint32"),
                                      ("Sub", "uint64")])
def test_export_refuses_plain_integers_tflite_does_not_compute(op, dtype):
    from edgec.export.writer import export_graph

    graph = load_onnx(binary_model(op, dtype).SerializeToString())
    with pytest.raises(EdgecError, match=rf"plain {dtype} integers, which TFLite's") as e:
        export_graph(graph)
    assert "\n" not in str(e.value)


def _tensor(name, dtype, quant=None):
    return Tensor(name, (4,), dtype, quant=quant)


def test_kernel_key_separates_plain_from_quantized():
    q = QuantParams(np.float32(0.5), 0)
    assert kernel_key(_tensor("x", "int8")) == "plain_int8"
    assert kernel_key(_tensor("x", "int8", q)) == "int8"
    assert kernel_key(_tensor("x", "uint8")) == "plain_uint8"
    assert kernel_key(_tensor("x", "int32")) == "int32"
    assert kernel_key(_tensor("x", "float32")) == "float32"


def _add_graph(qa, qb, qy, dtype="int8") -> Graph:
    g = Graph()
    for name, q in (("a", qa), ("b", qb), ("y", qy)):
        g.add_tensor(_tensor(name, dtype, q))
    g.inputs, g.outputs = ["a", "b"], ["y"]
    g.nodes.append(Node("ADD", ["a", "b"], ["y"]))
    return g


def test_plain_and_quantized_integers_never_meet():
    q = QuantParams(np.float32(0.5), 0)
    check_graph(_add_graph(None, None, None))  # plain: fine
    check_graph(_add_graph(q, q, q))  # quantized: fine
    with pytest.raises(EdgecError, match="reads plain int8 'a' and quantized int8 'b'"):
        check_graph(_add_graph(None, q, None))
    with pytest.raises(EdgecError, match="without quantization parameters"):
        check_graph(_add_graph(q, None, q))


def test_plain_int8_runs_the_plain_kernel_not_the_quantized_one():
    q = QuantParams(np.float32(0.5), 3)
    a, b = np.array([100, -100, 7, 1], np.int8), np.array([100, -100, 1, 1], np.int8)
    plain = interpret(_add_graph(None, None, None), [a, b])["y"]
    assert plain.tolist() == [-56, 56, 8, 2]  # wrapped
    quantized = interpret(_add_graph(q, q, q), [a, b])["y"]
    assert quantized.tolist() != plain.tolist()  # saturating, rescaled


def test_plain_int8_input_later_dequantized_is_computed():
    """An int8 graph input read as plain integers and then dequantized: the DequantizeLinear
    is computed (CAST, SUB, MUL; tests/test_onnx_qdq_computed.py) from the same integers."""
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "a"], ["s"]),
         helper.make_node("DequantizeLinear", ["a", "scale", "zp"], ["f"])], "mixed",
        [helper.make_tensor_value_info("a", TensorProto.INT8, (4,))],
        [helper.make_tensor_value_info("s", TensorProto.INT8, (4,)),
         helper.make_tensor_value_info("f", TensorProto.FLOAT, (4,))],
        [helper.make_tensor("scale", TensorProto.FLOAT, (), [0.5]),
         helper.make_tensor("zp", TensorProto.INT8, (), [0])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    graph = load_onnx(model.SerializeToString())
    a = np.array([-128, -3, 5, 127], np.int8)
    with np.errstate(over="ignore"):
        want = {"s": a + a, "f": a.astype(np.float32) * np.float32(0.5)}
    got = interpret(graph, {"a": a})
    for name in ("s", "f"):
        assert np.array_equal(got[name], want[name]), name


def test_mixed_integer_types_are_refused_in_one_line():
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["y"])], "mixed",
        [helper.make_tensor_value_info("a", TensorProto.INT32, (4,)),
         helper.make_tensor_value_info("b", TensorProto.INT64, (4,))],
        [helper.make_tensor_value_info("y", TensorProto.INT32, (4,))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    with pytest.raises(EdgecError) as e:
        load_onnx(model.SerializeToString())
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int32", "int64"])
@pytest.mark.parametrize("op", ["Neg", "Abs"])
def test_neg_and_abs_of_plain_integers_match_onnx(op, dtype):
    if op == "Neg" and dtype == "uint8":
        pytest.skip("ONNX's Neg has no unsigned types")
    graph = helper.make_graph(
        [helper.make_node(op, ["a"], ["y"])], "unary",
        [helper.make_tensor_value_info("a", _elem(dtype), (3, 4))],
        [helper.make_tensor_value_info("y", _elem(dtype), (3, 4))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    a = extreme_values(dtype, (3, 4), np.random.default_rng(5))
    got = interpret(load_onnx(model.SerializeToString()), {"a": a})["y"]
    np.testing.assert_array_equal(got, onnx_reference(model, {"a": a}))


def movers_model(dtype: str) -> onnx.ModelProto:
    """ONNX's data-movement ops on one plain integer input of shape (2, 3, 4)."""
    e = _elem(dtype)
    i64 = TensorProto.INT64
    inits = [helper.make_tensor("shape", i64, (2,), [4, 6]),
             helper.make_tensor("axes0", i64, (1,), [0]),
             helper.make_tensor("starts", i64, (2,), [0, 1]),
             helper.make_tensor("ends", i64, (2,), [2, 3]),
             helper.make_tensor("axes01", i64, (2,), [0, 1]),
             helper.make_tensor("split", i64, (2,), [1, 3]),
             helper.make_tensor("indices", i64, (2,), [2, 0]),
             helper.make_tensor("repeats", i64, (3,), [1, 2, 1]),
             helper.make_tensor("expand", i64, (4,), [2, 2, 3, 4]),
             helper.make_tensor("pads", i64, (6,), [0, 0, 1, 0, 0, 1]),
             helper.make_tensor("fill", e, (), [7])]
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["reshaped"]),
             helper.make_node("Flatten", ["x"], ["flat"], axis=1),
             helper.make_node("Unsqueeze", ["x", "axes0"], ["unsq"]),
             helper.make_node("Squeeze", ["unsq", "axes0"], ["sq"]),
             helper.make_node("Transpose", ["x"], ["tr"], perm=[1, 0, 2]),
             helper.make_node("Slice", ["x", "starts", "ends", "axes01"], ["sliced"]),
             helper.make_node("Split", ["x", "split"], ["part0", "part1"], axis=2),
             helper.make_node("Gather", ["x", "indices"], ["gathered"], axis=1),
             helper.make_node("Tile", ["x", "repeats"], ["tiled"]),
             helper.make_node("Expand", ["x", "expand"], ["expanded"]),
             helper.make_node("Pad", ["x", "pads", "fill"], ["padded"]),
             helper.make_node("Pad", ["x", "pads"], ["edged"], mode="edge"),
             helper.make_node("Identity", ["x"], ["same"])]
    shapes = {"reshaped": (4, 6), "flat": (2, 12), "sq": (2, 3, 4), "tr": (3, 2, 4),
              "sliced": (2, 2, 4), "part0": (2, 3, 1), "part1": (2, 3, 3),
              "gathered": (2, 2, 4), "tiled": (2, 6, 4), "expanded": (2, 2, 3, 4),
              "padded": (2, 3, 6), "edged": (2, 3, 6), "same": (2, 3, 4)}
    graph = helper.make_graph(nodes, "movers", [helper.make_tensor_value_info("x", e, (2, 3, 4))],
                              [helper.make_tensor_value_info(n, e, s) for n, s in shapes.items()],
                              inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


@pytest.mark.parametrize("dtype", ["uint8", "int16", "uint32", "int64"])
def test_data_movement_of_plain_integers_matches_onnx(dtype):
    from onnx.reference import ReferenceEvaluator

    model = movers_model(dtype)
    x = extreme_values(dtype, (2, 3, 4), np.random.default_rng(11))
    got = interpret(load_onnx(model.SerializeToString()), {"x": x})
    wants = ReferenceEvaluator(model).run(None, {"x": x})
    for out, want in zip(model.graph.output, wants):
        np.testing.assert_array_equal(got[out.name], want, err_msg=out.name)
        assert got[out.name].dtype == np.dtype(dtype)


@pytest.mark.slow
def test_data_movement_of_plain_integers_in_c(tmp_path):
    from onnx.reference import ReferenceEvaluator
    from tests.onnx_node.runner import run_c

    model = movers_model("int64")
    x = extreme_values("int64", (2, 3, 4), np.random.default_rng(12))
    wants = ReferenceEvaluator(model).run(None, {"x": x})
    names = [o.name for o in model.graph.output]
    status, detail = run_c(model.SerializeToString(), [[x]], [wants], ["x"], names,
                           tmp_path / "c")
    assert status == "pass", detail


CASTS = [("float32", d) for d in INT_DTYPES] + [(d, "float32") for d in INT_DTYPES] + [
    ("int64", "int8"), ("uint8", "int16"), ("int32", "uint16"), ("uint64", "int32")]


def cast_model(src: str, dst: str, shape=(3, 5)) -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Cast", ["x"], ["y"], to=_elem(dst))], "cast",
        [helper.make_tensor_value_info("x", _elem(src), shape)],
        [helper.make_tensor_value_info("y", _elem(dst), shape)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])


def cast_inputs(src: str, dst: str, rng) -> np.ndarray:
    """Values ONNX defines the cast of: in range (floats to integers), any (integers)."""
    if src != "float32":
        return extreme_values(src, (3, 5), rng)
    info = np.iinfo(dst)
    x = rng.uniform(max(float(info.min), -1e6), min(float(info.max), 1e6), (3, 5))
    return x.astype(np.float32)


@pytest.mark.parametrize("src,dst", CASTS)
def test_cast_matches_onnxruntime_and_the_onnx_reference(src, dst):
    model = cast_model(src, dst)
    x = cast_inputs(src, dst, np.random.default_rng(21))
    got = interpret(load_onnx(model.SerializeToString()), {"x": x})["y"]
    assert got.dtype == np.dtype(dst)
    np.testing.assert_array_equal(got, onnx_reference(model, {"x": x}))
    runtime = onnxruntime_or_none(model, {"x": x})
    if runtime is not None:
        np.testing.assert_array_equal(got, runtime)


def test_cast_of_floats_beyond_the_range_saturates_and_nan_is_zero():
    from edgec.ir.ops.cast import cast_values

    x = np.array([np.nan, -1e20, 1e20, -2.9, 2.9, 127.9, -128.9, np.inf], np.float32)
    assert cast_values(x, "int8").tolist() == [0, -128, 127, -2, 2, 127, -128, 127]
    assert cast_values(x, "uint16").tolist() == [0, 0, 65535, 0, 2, 127, 0, 65535]
    assert cast_values(x, "int64").tolist()[1:3] == [-2**63, 2**63 - 1]


@pytest.mark.slow
def test_cast_in_c_matches_the_reference_including_saturation(tmp_path):
    """Every cast of CASTS in one model, fed values beyond the ranges, NaN and infinities
    (which C would convert undefined: the kernel must test them first)."""
    from tests.onnx_node.runner import run_c

    nodes, inputs, outputs = [], [], []
    for src in sorted({s for s, _ in CASTS}):
        inputs.append(helper.make_tensor_value_info(f"x_{src}", _elem(src), (16,)))
    for src, dst in CASTS:
        y = f"{src}_to_{dst}"
        nodes.append(helper.make_node("Cast", [f"x_{src}"], [y], to=_elem(dst)))
        outputs.append(helper.make_tensor_value_info(y, _elem(dst), (16,)))
    model = helper.make_model(helper.make_graph(nodes, "casts", inputs, outputs),
                              opset_imports=[helper.make_opsetid("", 19)])
    rng = np.random.default_rng(4)
    feeds = {}
    for i in inputs:
        src = i.name[2:]
        if src == "float32":
            feeds[i.name] = np.array([np.nan, np.inf, -np.inf, 3e38, -3e38, 2.0**31, -2.0**31,
                                      2.0**63, 255.9, -0.9, 0.9, -128.5, 65535.5, 1e10, -7.5,
                                      4294967296.0], np.float32)
        else:
            feeds[i.name] = extreme_values(src, (16,), rng)
    graph = load_onnx(model.SerializeToString())
    want = interpret(graph, feeds)
    names = [o.name for o in outputs]
    in_names = [i.name for i in inputs]
    status, detail = run_c(model.SerializeToString(), [[feeds[n] for n in in_names]],
                           [[want[n] for n in names]], in_names, names, tmp_path / "c")
    assert status == "pass", detail


@pytest.mark.parametrize("src,dst", [("int32", "float32"), ("float32", "int32"),
                                     ("uint8", "float32"), ("int16", "int32")])
def test_cast_exports_to_tflite_cast_and_matches_litert(src, dst):
    from edgec.export.writer import export_graph
    from tests.refs import run_litert

    graph = load_onnx(cast_model(src, dst).SerializeToString())
    x = cast_inputs(src, dst, np.random.default_rng(2))
    want = interpret(graph, [x])["y"]
    np.testing.assert_array_equal(run_litert(export_graph(graph), [x])[0], want)


@pytest.mark.parametrize("dtype", ["uint8", "int8"])
def test_max_pool_of_plain_integers_matches_onnx(dtype):
    graph = helper.make_graph(
        [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                          strides=[2, 2])], "pool",
        [helper.make_tensor_value_info("x", _elem(dtype), (1, 2, 7, 6))],
        [helper.make_tensor_value_info("y", _elem(dtype), (1, 2, 4, 3))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    x = extreme_values(dtype, (1, 2, 7, 6), np.random.default_rng(9))
    got = interpret(load_onnx(model.SerializeToString()), {"x": x})["y"]
    np.testing.assert_array_equal(got, onnx_reference(model, {"x": x}))
    runtime = onnxruntime_or_none(model, {"x": x})
    if runtime is not None:
        np.testing.assert_array_equal(got, runtime)


def test_a_shape_fed_at_run_time_is_refused_naming_the_input():
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["x", "shape"], ["y"])], "runtime_shape",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, (2, 6)),
         helper.make_tensor_value_info("shape", TensorProto.INT64, (2,))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(EdgecError, match="run-time values of integer input 'shape'") as e:
        load_onnx(model.SerializeToString())
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("dtype", ["int8", "uint16", "int64"])
def test_clip_of_plain_integers_matches_onnx(dtype):
    graph = helper.make_graph(
        [helper.make_node("Clip", ["x", "lo", "hi"], ["y"]),
         helper.make_node("Clip", ["x", "", "hi"], ["z"])], "clip",
        [helper.make_tensor_value_info("x", _elem(dtype), (3, 4))],
        [helper.make_tensor_value_info("y", _elem(dtype), (3, 4)),
         helper.make_tensor_value_info("z", _elem(dtype), (3, 4))],
        [helper.make_tensor("lo", _elem(dtype), (), [3]),
         helper.make_tensor("hi", _elem(dtype), (), [90])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    x = extreme_values(dtype, (3, 4), np.random.default_rng(13))
    from onnx.reference import ReferenceEvaluator

    got = interpret(load_onnx(model.SerializeToString()), {"x": x})
    y, z = ReferenceEvaluator(model).run(None, {"x": x})
    np.testing.assert_array_equal(got["y"], y)
    np.testing.assert_array_equal(got["z"], z)


@pytest.mark.parametrize("dtype", ["int8", "uint16", "int64"])
def test_clip_of_plain_integers_by_run_time_bounds_matches_onnx(dtype):
    """Bounds fed at run time (the node tests' plain mode), one of them alone, and a lower
    bound above the upper (ONNX: the upper)."""
    graph = helper.make_graph(
        [helper.make_node("Clip", ["x", "lo", "hi"], ["y"]),
         helper.make_node("Clip", ["x", "", "hi"], ["z"])], "clip",
        [helper.make_tensor_value_info("x", _elem(dtype), (3, 4)),
         helper.make_tensor_value_info("lo", _elem(dtype), ()),
         helper.make_tensor_value_info("hi", _elem(dtype), ())],
        [helper.make_tensor_value_info("y", _elem(dtype), (3, 4)),
         helper.make_tensor_value_info("z", _elem(dtype), (3, 4))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    x = extreme_values(dtype, (3, 4), np.random.default_rng(17))
    edgec_graph = load_onnx(model.SerializeToString())
    for lo, hi in ((3, 90), (90, 3)):
        feeds = {"x": x, "lo": np.array(lo, dtype), "hi": np.array(hi, dtype)}
        got = interpret(edgec_graph, feeds)
        np.testing.assert_array_equal(got["y"], onnx_reference(model, feeds))
        ort = onnxruntime_or_none(model, feeds)
        if ort is not None:
            np.testing.assert_array_equal(got["y"], ort)
        np.testing.assert_array_equal(got["z"], np.minimum(x, np.array(hi, dtype)))


# -- integer Div: truncation toward zero, x / 0 == 0, MIN / -1 == MIN -----------------------
def div_operands(dtype: str, rng, shape=(6, 16)) -> tuple[np.ndarray, np.ndarray]:
    """Dividends over the whole range (MIN, MAX, 0, negatives) against divisors with 0, 1,
    -1, small values of both signs and the extremes, every divisor meeting MIN and MAX."""
    info = np.iinfo(dtype)
    a = extreme_values(dtype, shape, rng)
    a[0], a[1] = info.min, info.max  # rows: MIN and MAX meet every divisor
    small = [-7, 7, -1, 1, 0, 5] if dtype.startswith("i") else [7, 1, 0, 5, 6, 2]
    a[2] = np.resize(np.array(small, dtype), shape[-1])
    divisors = [0, 1, 2, 3, 7, info.max] + ([-1, -2, -3, -7, info.min] if info.min else [])
    b = np.resize(np.array(divisors, dtype), shape[-1])
    return a, b


def exact_trunc_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Python integers: the true quotient rounded toward zero, wrapped to the type; 0 for
    a zero divisor. Independent of numpy's integer division."""
    dtype = a.dtype
    bits = np.iinfo(dtype).bits
    out = []
    for x, d in zip(np.broadcast_to(a, np.broadcast_shapes(a.shape, b.shape)).reshape(-1)
                    .tolist(), np.broadcast_to(b, np.broadcast_shapes(a.shape, b.shape))
                    .reshape(-1).tolist()):
        q = 0 if d == 0 else (abs(x) // abs(d)) * (1 if (x < 0) == (d < 0) else -1)
        q %= 1 << bits
        if dtype.kind == "i" and q >= 1 << (bits - 1):
            q -= 1 << bits
        out.append(q)
    return np.array(out, dtype=object).astype(dtype).reshape(
        np.broadcast_shapes(a.shape, b.shape))


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_div_truncates_toward_zero_as_onnx_and_onnxruntime(dtype):
    model = binary_model("Div", dtype, (6, 16), (16,))
    a, b = div_operands(dtype, np.random.default_rng(11))
    graph = load_onnx(model.SerializeToString())
    got = interpret(graph, {"a": a, "b": b})["y"]
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, exact_trunc_div(a, b))
    np.testing.assert_array_equal(got, onnx_reference(model, {"a": a, "b": b}))
    # onnxruntime: C++'s "/", where it is defined (not x / 0, not MIN / -1): the rest agrees.
    info = np.iinfo(dtype)
    defined = (b != 0) & ~((a == info.min) & (b == -1)) if info.min else (b != 0) & (a == a)
    assert (~defined).any() and (got[(a == info.min) & (b == -1)] == info.min).all()
    nonzero = b != 0
    # (it fails the run on a zero divisor and dies of SIGFPE on int32 / int64 MIN / -1)
    ort = onnxruntime_or_none(model, {"a": np.where(defined, a, np.zeros((), dtype)),
                                      "b": np.where(nonzero, b, np.ones((), dtype))})
    if ort is not None:
        np.testing.assert_array_equal(ort[np.broadcast_to(defined, ort.shape)],
                                      got[np.broadcast_to(defined, got.shape)])


def test_div_defines_what_c_leaves_undefined():
    """Negative operands truncate (-7 / 2 == -3, 7 / -2 == -3), x / 0 == 0, MIN / -1 == MIN."""
    cases = [("int8", -7, 2, -3), ("int8", 7, -2, -3), ("int32", -7, -2, 3),
             ("int16", 5, 0, 0), ("uint64", 2**64 - 1, 0, 0), ("int8", -128, -1, -128),
             ("int32", -2**31, -1, -2**31), ("int64", -2**63, -1, -2**63),
             ("uint8", 255, 2, 127), ("uint64", 2**64 - 1, 3, (2**64 - 1) // 3)]
    for dtype, x, y, want in cases:
        graph = load_onnx(binary_model("Div", dtype, (1,), (1,)).SerializeToString())
        got = interpret(graph, {"a": np.array([x], dtype), "b": np.array([y], dtype)})["y"]
        assert got.tolist() == [want], (dtype, x, y)


@pytest.mark.slow
def test_div_in_c_matches_the_reference_for_every_dtype(tmp_path):
    """Every dtype in one build, every divisor meeting MIN and MAX: the C, compiled with
    UBSan aborting on any undefined behaviour, gives the reference's answers, including
    x / 0 and MIN / -1."""
    from tests.onnx_node.runner import run_c

    nodes, inputs, outputs, feeds, wants = [], [], [], {}, []
    rng = np.random.default_rng(5)
    for dtype in INT_DTYPES:
        a, b, y = f"a_{dtype}", f"b_{dtype}", f"div_{dtype}"
        inputs += [helper.make_tensor_value_info(a, _elem(dtype), (6, 16)),
                   helper.make_tensor_value_info(b, _elem(dtype), (16,))]
        nodes.append(helper.make_node("Div", [a, b], [y]))
        outputs.append(helper.make_tensor_value_info(y, _elem(dtype), (6, 16)))
        feeds[a], feeds[b] = div_operands(dtype, rng)
        wants.append(exact_trunc_div(feeds[a], feeds[b]))
    model = helper.make_model(helper.make_graph(nodes, "div_ints", inputs, outputs),
                              opset_imports=[helper.make_opsetid("", 17)])
    graph = load_onnx(model.SerializeToString())
    got = interpret(graph, feeds)
    for out, want in zip(outputs, wants):
        np.testing.assert_array_equal(got[out.name], want, err_msg=out.name)
    in_names = [i.name for i in inputs]
    status, detail = run_c(model.SerializeToString(), [[feeds[n] for n in in_names]],
                           [wants], in_names, [o.name for o in outputs], tmp_path / "c",
                           cflags=("-fsanitize=undefined", "-fno-sanitize-recover=all"))
    assert status == "pass", detail


def test_int32_div_by_a_constant_exports_to_tflite_and_matches_litert():
    from edgec.export.writer import export_graph
    from tests.refs import run_litert

    graph = helper.make_graph(
        [helper.make_node("Div", ["a", "c"], ["y"])], "div_const",
        [helper.make_tensor_value_info("a", TensorProto.INT32, (6, 4))],
        [helper.make_tensor_value_info("y", TensorProto.INT32, (6, 4))],
        [helper.make_tensor("c", TensorProto.INT32, (4,), [3, -2, 7, -2**31])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    edgec_graph = load_onnx(model.SerializeToString())
    a = extreme_values("int32", (6, 4), np.random.default_rng(2))
    a[1] = [-7, 7, -1, 2**31 - 1]
    want = interpret(edgec_graph, [a])["y"]
    np.testing.assert_array_equal(want, onnx_reference(model, {"a": a}))
    exported = export_graph(edgec_graph)
    np.testing.assert_array_equal(run_litert(exported, [a])[0], want)
    from edgec.frontends.tflite import load_tflite  # and back: TFLite's int32 DIV imports

    np.testing.assert_array_equal(interpret(load_tflite(exported), [a])["y"], want)


@pytest.mark.parametrize("dtype,divisor", [("int32", None), ("int32", [2, 0]),
                                           ("int32", [-1, 3]), ("int64", [2, 3]),
                                           ("uint8", [2, 3])])
def test_div_export_refuses_what_tflite_computes_differently(dtype, divisor):
    from edgec.export.writer import export_graph

    if divisor is None:
        model = binary_model("Div", dtype, (3, 2), (2,))
    else:
        model = helper.make_model(helper.make_graph(
            [helper.make_node("Div", ["a", "c"], ["y"])], "div_const",
            [helper.make_tensor_value_info("a", _elem(dtype), (3, 2))],
            [helper.make_tensor_value_info("y", _elem(dtype), (3, 2))],
            [helper.make_tensor("c", _elem(dtype), (2,), divisor)]),
            opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(EdgecError) as e:
        export_graph(load_onnx(model.SerializeToString()))
    assert "\n" not in str(e.value) and "DIV" in str(e.value)
