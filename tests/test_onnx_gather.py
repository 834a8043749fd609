"""ONNX Gather by constant indices (as exporters write ``x[:, -1]`` and ``x[:, [2, 0]]``):
STRIDED_SLICEs of the activation, float or int8 between a DequantizeLinear and a
QuantizeLinear, equal to onnxruntime and verified on the host."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgec.frontends.onnx import load_onnx
from edgec.ir import interpret
from edgec.verify import verify

SHAPE = (1, 5, 4)


def _model(indices, quantized: bool) -> bytes:
    inits = [numpy_helper.from_array(np.asarray(indices, np.int64), "i"),
             numpy_helper.from_array(np.float32(0.05), "s"),
             numpy_helper.from_array(np.int8(3), "z")]
    if quantized:
        nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["xq"]),
                 helper.make_node("DequantizeLinear", ["xq", "s", "z"], ["xd"]),
                 helper.make_node("Gather", ["xd", "i"], ["g"], axis=1),
                 helper.make_node("QuantizeLinear", ["g", "s", "z"], ["gq"]),
                 helper.make_node("DequantizeLinear", ["gq", "s", "z"], ["y"])]
    else:
        nodes = [helper.make_node("Gather", ["x", "i"], ["y"], axis=1)]
    graph = helper.make_graph(nodes, "gather",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model.SerializeToString()


@pytest.mark.parametrize("quantized", [False, True], ids=["float", "int8"])
@pytest.mark.parametrize("indices", [-1, [1, 3], [4, 0, 4], [[2], [0]]],
                         ids=["last", "step2", "unordered", "2d"])
def test_gather_by_constant_indices_equals_onnxruntime(indices, quantized, tmp_path):
    import onnxruntime as ort

    data = _model(indices, quantized)
    graph = load_onnx(data)
    assert "STRIDED_SLICE" in {n.op for n in graph.nodes}
    if quantized:  # the slices move int8 data between the QuantizeLinear and the output
        slices = [n for n in graph.nodes if n.op == "STRIDED_SLICE"]
        assert {graph.tensors[n.outputs[0]].dtype for n in slices} == {"int8"}
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal(SHAPE).astype(np.float32)
    expected = session.run(None, {"x": x})[0]
    got = interpret(graph, [x])[graph.outputs[0]]
    assert got.shape == expected.shape and np.array_equal(got, expected)
    path = tmp_path / "gather.onnx"
    path.write_bytes(data)
    result = verify(path, count=2)
    assert result.ok, result.message
