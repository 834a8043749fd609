"""A TFLite model with float16 weights (the converter's ``supported_types = [tf.float16]``:
FLOAT16 constants, each behind a DEQUANTIZE to float32) imports, the DEQUANTIZE folded into
exact float32 weights, and matches LiteRT."""

from __future__ import annotations

import numpy as np
import pytest

from tests.refs import run_edgec_tflite, run_litert

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.slow


def _float16_weights_model() -> bytes:
    tf.keras.utils.set_random_seed(3)
    model = tf.keras.Sequential([tf.keras.Input((8,)),
                                 tf.keras.layers.Dense(6, activation="relu"),
                                 tf.keras.layers.Dense(3)])
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.target_spec.supported_types = [tf.float16]
    return conv.convert()


def test_float16_weights_import_and_match_litert():
    from edgec.frontends.tflite import load_tflite
    from edgec.frontends.tflite_schema import read_model

    data = _float16_weights_model()
    assert "FLOAT16" in {t.type_name for t in read_model(data).subgraphs[0].tensors}
    graph = load_tflite(data)
    assert "DEQUANTIZE" not in {n.op for n in graph.nodes}
    x = np.random.default_rng(1).standard_normal((1, 8)).astype(np.float32)
    (want,) = run_litert(data, [x])
    (got,) = run_edgec_tflite(data, [x])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
