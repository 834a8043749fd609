"""The TensorFlow converter's full-integer models of Keras layers using the newer ops (a
comparison cast to float, a division, log_softmax): edgec imports them and matches TFLite
Micro bit for bit; the float models match LiteRT."""

import numpy as np
import pytest

from edgec.frontends.tflite import load_tflite
from tests.refs import assert_matches_tflm, run_edgec_tflite, run_litert

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.slow

SHAPE = (6, 8)
BODIES = {
    # LESS (int8 inputs) -> CAST bool -> float32 -> QUANTIZE, MUL
    "less_cast": lambda h: h * tf.cast(h < 0.3, tf.float32),
    # STRIDED_SLICE, MUL, ADD, DIV (int8)
    "div": lambda h: h / (h[..., :1] * h[..., :1] + 1.0),
    "log_softmax": lambda h: tf.nn.log_softmax(h),
}


def _keras(body):
    tf.keras.utils.set_random_seed(0)
    inp = tf.keras.Input(SHAPE, batch_size=1)
    return tf.keras.Model(inp, tf.keras.layers.Lambda(body)(tf.keras.layers.Dense(8)(inp)))


def _convert(model, int8: bool) -> bytes:
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if int8:
        rng = np.random.default_rng(1)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = lambda: ([rng.standard_normal((1, *SHAPE)).astype(
            np.float32)] for _ in range(32))
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = conv.inference_output_type = tf.int8
    return conv.convert()


@pytest.mark.parametrize("name", sorted(BODIES))
def test_int8_converter_model_matches_tflm(name):
    model = _convert(_keras(BODIES[name]), int8=True)
    ops = [n.op for n in load_tflite(model).nodes]
    assert {"less_cast": "LESS", "div": "DIV", "log_softmax": "LOG_SOFTMAX"}[name] in ops
    rng = np.random.default_rng(2)
    for _ in range(4):
        assert_matches_tflm(model, [rng.integers(-128, 128, (1, *SHAPE)).astype(np.int8)])


@pytest.mark.parametrize("name", sorted(BODIES))
def test_float_converter_model_matches_litert(name):
    model = _convert(_keras(BODIES[name]), int8=False)
    x = np.random.default_rng(3).standard_normal((1, *SHAPE)).astype(np.float32)
    np.testing.assert_allclose(run_edgec_tflite(model, [x])[0], run_litert(model, [x])[0],
                               rtol=1e-5, atol=1e-5)
