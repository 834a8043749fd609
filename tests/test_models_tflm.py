"""Whole models: edgec's import + reference interpreter against TFLite Micro (int8, every
byte) on the MLPerf Tiny models, and against LiteRT on a small float Keras model."""

import os
from pathlib import Path

import numpy as np
import pytest

from edgec.frontends.tflite import load_tflite
from tests.refs import describe_mismatch, run_edgec_tflite, run_litert, run_tflm

MODELS = Path(__file__).parents[1] / ".." / "shared" / "models"
INT8_MODELS = ["kws_dscnn_int8", "ic_resnet8_int8", "ad_fc_autoencoder_int8"]
SAMPLES = 50


@pytest.mark.parametrize("name", INT8_MODELS)
def test_int8_model_matches_tflm_bit_exactly(name):
    path = MODELS / f"{name}.tflite"
    if not path.is_file():
        pytest.skip(f"shared model {path} is not present")
    model = path.read_bytes()
    graph = load_tflite(model, name)
    (input_name,) = graph.inputs
    shape = graph.tensors[input_name].shape
    rng = np.random.default_rng(20240601)
    for sample in range(SAMPLES):
        x = rng.integers(-128, 128, shape, dtype=np.int8)
        expected = run_tflm(model, [x])
        actual = run_edgec_tflite(model, [x])
        problems = [describe_mismatch(e, a, f"{name} sample {sample} output {i}")
                    for i, (e, a) in enumerate(zip(expected, actual))]
        assert not any(problems), "\n".join(p for p in problems if p)


def _float_keras_model() -> bytes:
    """conv, depthwise, add, max/average pooling, dense, softmax; seeded random weights."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    tf = pytest.importorskip("tensorflow")
    tf.keras.utils.set_random_seed(0)
    layers = tf.keras.layers
    inp = tf.keras.Input((16, 16, 3), batch_size=1)
    x = layers.Conv2D(8, 3, padding="same", activation="relu")(inp)
    y = layers.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
    x = layers.Add()([x, y])
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(8, 3, strides=2, padding="valid")(x)
    x = layers.AveragePooling2D(3, padding="same", strides=1)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(10)(x)
    out = layers.Softmax()(x)
    converter = tf.lite.TFLiteConverter.from_keras_model(tf.keras.Model(inp, out))
    return converter.convert()


@pytest.fixture(scope="session")
def float_model(tmp_path_factory) -> bytes:
    path = tmp_path_factory.getbasetemp() / "float_keras_model.tflite"
    if not path.exists():
        path.write_bytes(_float_keras_model())
    return path.read_bytes()


def test_float_keras_model_matches_litert(float_model):
    graph = load_tflite(float_model)
    assert {n.op for n in graph.nodes} >= {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "MAX_POOL_2D",
                                           "AVERAGE_POOL_2D", "FULLY_CONNECTED", "SOFTMAX"}
    rng = np.random.default_rng(5)
    for _ in range(10):
        x = rng.standard_normal((1, 16, 16, 3)).astype(np.float32)
        (expected,) = run_litert(float_model, [x])
        (actual,) = run_edgec_tflite(float_model, [x])
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-7)
