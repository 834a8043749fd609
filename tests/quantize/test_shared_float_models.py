"""PTQ of the MLPerf Tiny float32 ONNX models (random calibration): TFLite Micro runs the
exported int8, W4A8 and 16x8 (int16 activations) models exactly as edgec's interpreter does."""

import numpy as np
import pytest

from edgec.export import to_tflite_bytes
from edgec.frontends import load_model
from edgec.ir import interpret
from edgec.quantize import quantize_graph
from tests.refs import describe_mismatch, run_tflm
from tests.shared_models import MODELS_DIR

FLOAT_MODELS = ["kws_dscnn_float32", "ic_resnet8_float32", "ad_fc_autoencoder_float32"]


@pytest.mark.parametrize("weights,activations", [("int8", "int8"), ("int4", "int8"),
                                                 ("int8", "int16")])
@pytest.mark.parametrize("name", FLOAT_MODELS)
def test_quantized_shared_model_is_bit_exact_in_tflm(name, weights, activations):
    path = MODELS_DIR / "onnx" / f"{name}.onnx"
    if not path.is_file():
        pytest.skip(f"{path} not available")
    graph = load_model(path)
    shape = graph.tensors[graph.inputs[0]].shape
    rng = np.random.default_rng(0)
    calibration = {graph.inputs[0]: rng.normal(size=(6,) + shape).astype(np.float32)}
    quantized = quantize_graph(graph, calibration, weights=weights, activations=activations)
    exported = to_tflite_bytes(quantized)
    for _ in range(3):
        x = rng.normal(size=shape).astype(np.float32)
        expected = interpret(quantized, x)[quantized.outputs[0]]
        assert describe_mismatch(expected, run_tflm(exported, [x])[0], name) is None
