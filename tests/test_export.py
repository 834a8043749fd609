"""The TFLite exporter: IR graph -> .tflite bytes that edgec, TFLite Micro and LiteRT read.

The shared int8 models go through load -> export -> load and must keep every node, tensor and
output bit for bit (edgec and TFLM on 20 random inputs); small handmade graphs cover what the
models lack: pads TFLite's SAME/VALID cannot express, and the parameter tensors of RESHAPE,
PAD, MEAN, TRANSPOSE and SPACE_TO_BATCH_ND/BATCH_TO_SPACE_ND.
"""

import numpy as np
import pytest

from edgec.errors import EdgecError
from edgec.export import save_tflite, to_tflite_bytes
from edgec.ir.int4 import pack_int4, unpack_int4
from edgec.frontends import load_model
from edgec.frontends.tflite import load_tflite
from edgec.frontends.tflite_schema import read_model
from edgec.ir import Graph, Node, QuantParams, Tensor, check_graph, get_op, interpret
from tests.refs import assert_matches_tflm, describe_mismatch, run_litert, run_tflm
from tests.shared_models import INT8_MODELS, model_path


def random_inputs(graph: Graph, rng) -> list[np.ndarray]:
    result = []
    for name in graph.inputs:
        t = graph.tensors[name]
        if t.dtype == "int8":
            result.append(rng.integers(-128, 128, t.shape).astype(np.int8))
        else:
            result.append(rng.normal(size=t.shape).astype(np.float32))
    return result


def assert_same_graph(a: Graph, b: Graph) -> None:
    """Same nodes (op, attributes, tensor names) and same tensors (shape, dtype, quant, data)."""
    assert [(n.op, n.attrs, n.inputs, n.outputs) for n in a.nodes] == \
        [(n.op, n.attrs, n.inputs, n.outputs) for n in b.nodes]
    assert (a.inputs, a.outputs) == (b.inputs, b.outputs)
    assert sorted(a.tensors) == sorted(b.tensors)
    for name, t in a.tensors.items():
        u = b.tensors[name]
        assert (t.shape, t.dtype, t.quant) == (u.shape, u.dtype, u.quant), name
        assert (t.data is None) == (u.data is None), name
        if t.data is not None:
            assert np.array_equal(t.data, u.data), name


@pytest.mark.parametrize("name", INT8_MODELS)
def test_shared_model_round_trip(name):
    original = load_model(model_path(name))
    exported = to_tflite_bytes(original)
    reloaded = load_tflite(exported, original.name)
    assert_same_graph(original, reloaded)
    rng = np.random.default_rng(7)
    for _ in range(20):
        inputs = random_inputs(original, rng)
        expected = interpret(original, inputs)
        for out_name, tflm in zip(original.outputs, run_tflm(exported, inputs)):
            assert describe_mismatch(expected[out_name], tflm, f"TFLM {out_name}") is None
            again = interpret(reloaded, inputs)[out_name]
            assert describe_mismatch(expected[out_name], again, f"edgec {out_name}") is None


def test_save_tflite_writes_the_bytes(tmp_path):
    graph = load_model(model_path("ad_fc_autoencoder_int8"))
    path = tmp_path / "ad.tflite"
    assert save_tflite(graph, path) == path.stat().st_size
    assert path.read_bytes() == to_tflite_bytes(graph)


def test_save_tflite_to_missing_directory_is_a_user_error(tmp_path):
    graph = load_model(model_path("ad_fc_autoencoder_int8"))
    with pytest.raises(EdgecError, match="cannot write"):
        save_tflite(graph, tmp_path / "no" / "such" / "dir.tflite")


# -- handmade int8 graphs --------------------------------------------------------------------

def q(scale, zp=0):
    return QuantParams(np.float32(scale), zp)


def conv_graph(pads, op="CONV_2D", strides=(1, 1)) -> Graph:
    """x[1,7,6,3] -> conv-like op with 3x3 weights and the given pads, int8."""
    rng = np.random.default_rng(3)
    g = Graph(name="conv")
    g.add_tensor(Tensor("x", (1, 7, 6, 3), "int8", quant=q(0.05, -3)))
    attrs = {"pads": pads, "strides": strides, "activation": "RELU"}
    if op == "CONV_2D":
        w_shape, axis = (4, 3, 3, 3), 0
    else:
        w_shape, axis = (1, 3, 3, 3), 3
        attrs["depth_multiplier"] = 1
    channels = w_shape[axis]
    g.add_tensor(Tensor("w", w_shape, "int8", rng.integers(-127, 128, w_shape).astype(np.int8),
                        QuantParams(rng.uniform(0.005, 0.02, channels), 0, axis)))
    g.add_tensor(Tensor("b", (channels,), "int32",
                        rng.integers(-500, 500, channels).astype(np.int32),
                        QuantParams(np.full(channels, 1e-3), 0, 0)))
    node = Node(op, ["x", "w", "b"], ["y"], attrs, "conv")
    out_shape = get_op(op).infer_shapes(node, [g.tensors["x"], g.tensors["w"]])[0]
    g.add_tensor(Tensor("y", out_shape, "int8", quant=q(0.04, 5)))
    g.nodes.append(node)
    g.inputs, g.outputs = ["x"], ["y"]
    return check_graph(g)


@pytest.mark.parametrize("op", ["CONV_2D", "DEPTHWISE_CONV_2D"])
@pytest.mark.parametrize("pads,strides", [((1, 1, 1, 1), (1, 1)), ((0, 0, 0, 0), (2, 2)),
                                          ((1, 0, 2, 1), (1, 1)), ((1, 0, 1, 1), (2, 2))])
def test_conv_pads_export_as_same_valid_or_explicit_pad(op, pads, strides):
    graph = conv_graph(pads, op, strides)
    exported = to_tflite_bytes(graph)
    builtins = [o.builtin for o in read_model(exported).ops]
    standard = pads in ((1, 1, 1, 1), (0, 0, 0, 0)) or (pads, strides) == ((1, 0, 1, 1), (2, 2))
    assert builtins == ([op] if standard else ["PAD", op])
    x = np.random.default_rng(0).integers(-128, 128, (1, 7, 6, 3)).astype(np.int8)
    expected = interpret(graph, x)["y"]
    assert describe_mismatch(expected, run_tflm(exported, [x])[0], "TFLM") is None


def test_pool_with_pads_tflite_cannot_express_is_refused():
    g = Graph(name="pool")
    g.add_tensor(Tensor("x", (1, 4, 4, 2), "int8", quant=q(0.1)))
    g.add_tensor(Tensor("y", (1, 3, 3, 2), "int8", quant=q(0.1)))
    g.nodes.append(Node("MAX_POOL_2D", ["x"], ["y"],
                        {"filter": (2, 2), "strides": (2, 2), "pads": (1, 1, 1, 1)}, "pool"))
    g.inputs, g.outputs = ["x"], ["y"]
    with pytest.raises(EdgecError, match="SAME/VALID"):
        to_tflite_bytes(g)


def parameter_ops_graph() -> Graph:
    """int8 x[1,4,4,2] -> PAD -> TRANSPOSE -> SPACE_TO_BATCH_ND -> BATCH_TO_SPACE_ND ->
    RESHAPE -> MEAN, with a PADV2 (explicit value) branch concatenated at the end."""
    s = q(0.1, 2)
    g = Graph(name="params")

    def t(name, shape):
        g.add_tensor(Tensor(name, shape, "int8", quant=s))

    t("x", (1, 4, 4, 2))
    t("p", (1, 6, 6, 2))
    t("tr", (1, 6, 6, 2))
    t("sb", (4, 3, 3, 2))
    t("bs", (1, 6, 6, 2))
    t("r", (1, 36, 2))
    t("m", (1, 2))
    t("pv", (1, 4, 4, 3))
    t("pm", (1, 3))
    t("c", (1, 5))
    g.nodes = [
        Node("PAD", ["x"], ["p"], {"pads": ((0, 0), (1, 1), (2, 0), (0, 0))}, "pad"),
        Node("TRANSPOSE", ["p"], ["tr"], {"perm": (0, 2, 1, 3)}, "transpose"),
        Node("SPACE_TO_BATCH_ND", ["tr"], ["sb"],
             {"block_shape": (2, 2), "paddings": ((0, 0), (0, 0))}, "s2b"),
        Node("BATCH_TO_SPACE_ND", ["sb"], ["bs"],
             {"block_shape": (2, 2), "crops": ((0, 0), (0, 0))}, "b2s"),
        Node("RESHAPE", ["bs"], ["r"], {"shape": (1, 36, 2)}, "reshape"),
        Node("MEAN", ["r"], ["m"], {"axes": (1,), "keep_dims": False}, "mean"),
        Node("PAD", ["x"], ["pv"], {"pads": ((0, 0), (0, 0), (0, 0), (0, 1)), "value": 9},
             "padv2"),
        Node("MEAN", ["pv"], ["pm"], {"axes": (1, 2), "keep_dims": False}, "mean_v"),
        Node("CONCATENATION", ["m", "pm"], ["c"], {"axis": 1}, "concat"),
    ]
    g.inputs, g.outputs = ["x"], ["c"]
    return check_graph(g)


def test_parameter_tensors_round_trip_and_run_in_tflm():
    graph = parameter_ops_graph()
    exported = to_tflite_bytes(graph)
    assert [o.builtin for o in read_model(exported).ops] == [
        "PAD", "TRANSPOSE", "SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND", "RESHAPE", "MEAN",
        "PADV2", "MEAN", "CONCATENATION"]
    reloaded = load_tflite(exported, "params")
    assert [(n.op, get_op(n.op).full_attrs(n)) for n in reloaded.nodes] == \
        [(n.op, get_op(n.op).full_attrs(n)) for n in graph.nodes]
    x = np.random.default_rng(1).integers(-128, 128, (1, 4, 4, 2)).astype(np.int8)
    assert_matches_tflm(exported, [x])
    assert np.array_equal(interpret(graph, x)["c"], run_tflm(exported, [x])[0])


def test_float_graph_exports_and_runs_in_litert():
    graph = load_model(model_path("kws_dscnn_int8").parent / "onnx" / "kws_dscnn_float32.onnx")
    exported = to_tflite_bytes(graph)
    x = np.random.default_rng(2).normal(size=graph.tensors[graph.inputs[0]].shape)
    x = x.astype(np.float32)
    expected = interpret(graph, x)[graph.outputs[0]]
    np.testing.assert_allclose(run_litert(exported, [x])[0], expected, rtol=1e-4, atol=1e-6)


# -- int4 packing ------------------------------------------------------------------------------

def test_int4_packing_is_low_nibble_first():
    # TFLM's UnpackDenseInt4IntoInt8: byte 0x21 holds element 0 = 1 (low), element 1 = 2.
    assert pack_int4(np.array([1, 2, -1, -8, 7])) == bytes([0x21, 0x8F, 0x07])
    values = np.random.default_rng(0).integers(-8, 8, 37).astype(np.int8)
    assert np.array_equal(unpack_int4(pack_int4(values), 37), values)


def test_int4_packing_rejects_out_of_range_values():
    with pytest.raises(ValueError, match=r"\[-8, 7\]"):
        pack_int4(np.array([8]))


def test_every_registered_op_has_an_exporter():
    from edgec.export.ops import EMITTERS
    from edgec.ir import get_op, registered_ops

    exempt = {name for name in registered_ops() if "export" in get_op(name).exempt}
    assert sorted(set(registered_ops()) - set(EMITTERS) - exempt) == []


def test_every_ir_dtype_has_a_tflite_type():
    from edgec.export.writer import TENSOR_TYPES
    from edgec.ir import DTYPES

    # TFLite has no 2-bit type: ternary constants are written as INT8 (docs/IR.md); nor
    # float8 / float4 types (export refuses those tensors); nor uint4/int2/uint2 (ONNX's
    # sub-byte integers): graphs with them are not exported.
    no_tflite = {"ternary", "uint4", "int2", "uint2",
                 *(d for d in DTYPES if d.startswith(("float8", "float4")))}
    assert sorted(TENSOR_TYPES) == sorted(set(DTYPES) - no_tflite)


def test_ternary_weights_are_written_as_int8_values():
    from edgec.export.writer import file_tensor

    data = np.array([[1, 0, -1], [-1, 1, 0]], np.int8)
    q = QuantParams(np.array([0.5, 0.25], np.float32), np.zeros(2, np.int64), 0)
    stored = file_tensor(Tensor("w", (2, 3), "ternary", data, q))
    assert stored.data == data.tobytes() and stored.type_name == "INT8"
