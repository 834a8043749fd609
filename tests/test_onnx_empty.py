"""Zero-size tensors in ONNX models (docs/IR.md "Empty tensors"): an empty input is a
constant, not an input of the compiled model; a zero-size value is an empty constant; an
empty output is a zero-size output the run function does not write. Each case against
onnxruntime (or ONNX's reference runtime), in the reference interpreter and the host C."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from edgec.errors import EdgecError
from edgec.frontends.onnx import load_onnx
from edgec.ir import Graph, Node, Tensor, check_graph, interpret
from tests.lower.harness import needs_gcc
from tests.onnx_node.runner import matches, run_c

RNG = np.random.default_rng(41)


def _model(nodes, inputs: list, outputs: list, consts=(), opset=19) -> bytes:
    """``inputs`` / ``outputs``: (name, ONNX element type, shape or None)."""
    graph = helper.make_graph(
        nodes, "empty",
        [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
        [helper.make_tensor_value_info(n, t, s) for n, t, s in outputs],
        initializer=[numpy_helper.from_array(np.asarray(v), k) for k, v in consts])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]
                             ).SerializeToString()


def _check(data: bytes, feeds: list, tmp_path, onnx_reference=False) -> Graph:
    """Reference interpreter and host C against onnxruntime (or ONNX's reference runtime)
    on ``feeds`` (every ONNX input, empty ones included)."""
    model = onnx.load_model_from_string(data)
    names = [i.name for i in model.graph.input]
    out_names = [o.name for o in model.graph.output]
    session = ReferenceEvaluator(model) if onnx_reference else ort.InferenceSession(data)
    want = session.run(None, dict(zip(names, feeds)))
    graph = load_onnx(data)
    got = interpret(graph, {n: f for n, f in zip(names, feeds) if n in graph.inputs})
    for name, w in zip(out_names, want):
        assert matches(got[name], w) == "", name
    status, detail = run_c(data, [feeds], [want], names, out_names, tmp_path / "c")
    assert status == "pass", detail
    return graph


_X = ("x", TensorProto.FLOAT, [3, 2, 4])
_EMPTY_AXES = ("axes", TensorProto.INT64, [0])


@needs_gcc
@pytest.mark.parametrize("op, noop", [("ReduceSum", 0), ("ReduceSum", 1), ("ReduceMean", 0),
                                      ("ReduceMax", 0), ("ReduceMax", 1)])
def test_an_empty_axes_input_reduces_all_or_nothing(tmp_path, op, noop):
    node = helper.make_node(op, ["x", "axes"], ["y"], keepdims=1, noop_with_empty_axes=noop)
    x = RNG.standard_normal((3, 2, 4)).astype(np.float32)
    graph = _check(_model([node], [_X, _EMPTY_AXES], [("y", TensorProto.FLOAT, None)]),
                   [x, np.zeros(0, np.int64)], tmp_path)
    assert graph.inputs == ["x"]  # the empty axes are a constant, not a parameter
    assert graph.tensors["y"].shape == ((3, 2, 4) if noop else (1, 1, 1))


@needs_gcc
@pytest.mark.parametrize("like_type, ir_dtype", [(TensorProto.INT32, "int32"),
                                                 (TensorProto.INT8, "int8"),
                                                 (TensorProto.FLOAT, "float32")])
def test_castlike_reads_only_the_type_of_an_empty_like_input(tmp_path, like_type, ir_dtype):
    node = helper.make_node("CastLike", ["x", "like"], ["y"])
    x = (RNG.standard_normal((3, 4)) * 50).astype(np.float32)
    like = np.zeros(0, helper.tensor_dtype_to_np_dtype(like_type))
    graph = _check(_model([node], [("x", TensorProto.FLOAT, [3, 4]), ("like", like_type, [0])],
                          [("y", like_type, None)]), [x, like], tmp_path)
    assert graph.inputs == ["x"]
    assert graph.tensors[graph.outputs[0]].dtype == ir_dtype


def test_an_empty_input_of_a_type_edgec_does_not_read_is_refused_for_its_type():
    node = helper.make_node("CastLike", ["x", "like"], ["y"])
    data = _model([node], [("x", TensorProto.FLOAT, [3]),
                           ("like", TensorProto.COMPLEX64, [0])],
                  [("y", TensorProto.COMPLEX64, None)])
    with pytest.raises(EdgecError, match=r"input 'like' \(empty, shape \[0\]\) has element "
                                         "type COMPLEX64"):
        load_onnx(data)


@needs_gcc
def test_an_empty_constant_output_is_a_zero_size_output_nothing_writes(tmp_path):
    nodes = [helper.make_node("Shape", ["x"], ["shape"], start=2, end=1),
             helper.make_node("Relu", ["x"], ["y"])]
    graph = _check(_model(nodes, [("x", TensorProto.FLOAT, [2, 3])],
                          [("shape", TensorProto.INT64, None), ("y", TensorProto.FLOAT, None)]),
                   [RNG.standard_normal((2, 3)).astype(np.float32)], tmp_path)
    assert graph.tensors["shape"].shape == (0,)
    assert not any("shape" in n.outputs for n in graph.nodes)
    header = (tmp_path / "c" / "out" / "model.h").read_text()
    assert "#define MODEL_OUTPUT0_SIZE 0" in header and "MODEL_OUTPUT1_SIZE 6" in header
    assert "output 0 is empty (zero size): nothing to write" in \
        (tmp_path / "c" / "out" / "model.c").read_text()


@needs_gcc
def test_slice_and_split_that_select_nothing_give_empty_outputs(tmp_path):
    nodes = [helper.make_node("Slice", ["x", "starts", "ends", "axes"], ["nothing"]),
             helper.make_node("Split", ["x", "split"], ["a", "b", "c"], axis=1)]
    consts = [("starts", np.array([9], np.int64)), ("ends", np.array([12], np.int64)),
              ("axes", np.array([1], np.int64)), ("split", np.array([1, 0, 3], np.int64))]
    outputs = [(n, TensorProto.FLOAT, None) for n in ("nothing", "a", "b", "c")]
    graph = _check(_model(nodes, [("x", TensorProto.FLOAT, [2, 4])], outputs, consts),
                   [RNG.standard_normal((2, 4)).astype(np.float32)], tmp_path)
    assert [graph.tensors[o].shape for o in graph.outputs] == [(2, 0), (2, 1), (2, 0), (2, 3)]


@needs_gcc
@pytest.mark.parametrize("op, axis", [("ReduceMax", 1), ("ReduceSum", 1), ("ReduceSum", 2)])
def test_a_model_whose_every_input_is_empty_computes_constants(tmp_path, op, axis):
    node = helper.make_node(op, ["data", "axes"], ["y"], keepdims=1)
    data = _model([node], [("data", TensorProto.FLOAT, [2, 0, 4])],
                  [("y", TensorProto.FLOAT, None)], [("axes", np.array([axis], np.int64))])
    graph = _check(data, [np.zeros((2, 0, 4), np.float32)], tmp_path, onnx_reference=True)
    assert graph.inputs == []
    assert "(void)inputs;" in (tmp_path / "c" / "out" / "model.c").read_text()


def test_a_model_declaring_no_inputs_is_still_refused():
    node = helper.make_node("Constant", [], ["y"], value=numpy_helper.from_array(
        np.ones(3, np.float32)))
    with pytest.raises(EdgecError, match="has no inputs"):
        load_onnx(_model([node], [], [("y", TensorProto.FLOAT, None)]))


def test_the_ir_allows_an_empty_tensor_only_as_an_unwritten_output():
    graph = Graph(name="g")
    graph.add_tensor(Tensor("x", (2, 3), "float32"))
    graph.add_tensor(Tensor("empty", (2, 0), "float32"))
    graph.inputs, graph.outputs = ["x"], ["x", "empty"]
    check_graph(graph)
    assert interpret(graph, {"x": np.ones((2, 3), np.float32)})["empty"].shape == (2, 0)
    graph.add_tensor(Tensor("y", (2, 0), "float32"))
    graph.nodes.append(Node("RESHAPE", ["empty"], ["y"], {"shape": (2, 0)}, "r"))
    graph.outputs = ["y"]
    with pytest.raises(EdgecError, match="reads or writes a zero-size tensor"):
        check_graph(graph)
