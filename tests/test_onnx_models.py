"""The shared MLPerf Tiny models through the ONNX frontend.

Float ONNX models are compared with onnxruntime. Each QDQ int8 ONNX model was converted from
the TFLite file next to it (tf2onnx), so the two imports must be the same network: the same
ops with the same quantization, and the same int8 outputs on every input.
"""

from pathlib import Path

import numpy as np
import pytest

from edgec.frontends.onnx import load_onnx
from edgec.frontends.tflite import load_tflite
from edgec.ir import interpret

MODELS = Path(__file__).parents[1] / ".." / "shared" / "models"
NAMES = ["kws_dscnn", "ic_resnet8", "ad_fc_autoencoder"]

pytestmark = pytest.mark.skipif(not (MODELS / "onnx").is_dir(),
                                reason=f"shared models not found at {MODELS.resolve()}")


def _read(relative: str) -> bytes:
    return (MODELS / relative).read_bytes()


@pytest.mark.parametrize("name", NAMES)
def test_float_model_matches_onnxruntime(name):
    import onnxruntime as ort

    data = _read(f"onnx/{name}_float32.onnx")
    graph = load_onnx(data, name)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    rng = np.random.default_rng(1)
    for _ in range(3):
        x = rng.standard_normal(graph.tensors[graph.inputs[0]].shape).astype(np.float32)
        expected = session.run(None, {input_name: x})[0]
        actual = interpret(graph, x)[graph.outputs[0]]
        np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-4)
    assert "TRANSPOSE" not in [n.op for n in graph.nodes], "exporter transposes should cancel"


@pytest.fixture(scope="module", params=NAMES)
def int8_pair(request):
    name = request.param
    return (load_onnx(_read(f"onnx/{name}_int8.onnx"), name),
            load_tflite(_read(f"{name}_int8.tflite"), name))


def _signatures(graph):
    """Each node as (op, fused activation, output shape and quantization, constant inputs
    byte for byte), sorted: the two files may order independent branches (ResNet's shortcut
    convs) differently."""
    def constants(node):
        return tuple((t.shape, t.data.tobytes(), repr(t.quant)) for t in graph.input_tensors(node)
                     if t is not None and t.is_const)

    return sorted((n.op, n.attrs.get("activation", "NONE"), graph.tensors[n.outputs[0]].shape,
                   graph.tensors[n.outputs[0]].quant.scale.tobytes(),
                   graph.tensors[n.outputs[0]].quant.zp, constants(n))
                  for n in graph.nodes)


def test_qdq_model_has_the_tflite_structure(int8_pair):
    onnx_graph, tflite_graph = int8_pair
    assert sorted(n.op for n in onnx_graph.nodes) == sorted(n.op for n in tflite_graph.nodes)
    assert _signatures(onnx_graph) == _signatures(tflite_graph)
    for graph in int8_pair:
        assert graph.tensors[graph.inputs[0]].dtype == "int8"
    assert onnx_graph.tensors[onnx_graph.inputs[0]].quant == \
        tflite_graph.tensors[tflite_graph.inputs[0]].quant


def test_qdq_model_gives_the_tflite_outputs(int8_pair):
    onnx_graph, tflite_graph = int8_pair
    shape = tflite_graph.tensors[tflite_graph.inputs[0]].shape
    rng = np.random.default_rng(2)
    for i in range(50):
        x = rng.integers(-128, 128, shape, dtype=np.int8)
        expected = interpret(tflite_graph, x)[tflite_graph.outputs[0]]
        actual = interpret(onnx_graph, x)[onnx_graph.outputs[0]]
        np.testing.assert_array_equal(actual, expected, err_msg=f"input {i}")


def test_load_model_detects_onnx():
    from edgec.frontends import load_model

    graph = load_model(MODELS / "onnx" / "kws_dscnn_int8.onnx")
    assert graph.name == "kws_dscnn_int8"
    assert [n.op for n in graph.nodes][:2] == ["CONV_2D", "DEPTHWISE_CONV_2D"]
