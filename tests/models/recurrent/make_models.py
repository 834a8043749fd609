"""Writes the recurrent test models next to this file with the real TensorFlow converter.

Run once by hand (the tests read the committed files and need no TensorFlow):

    pip install tf-keras==2.21.0   # Keras 2: the converter fuses its LSTM layer
    python tests/models/recurrent/make_models.py

Keras 3 (``tf.keras`` in TensorFlow 2.21) is converted as a WHILE loop, and its int8
calibration crashes the converter (segmentation fault in the calibrator); Keras 2's
``tf_keras`` LSTM becomes one UNIDIRECTIONAL_SEQUENCE_LSTM, float and full-integer int8.
Its GRU stays a WHILE loop (float; int8 crashes the calibrator too): kept as the input of
the test that edgec refuses it with the way out.
Seeded: the same TensorFlow writes the same bytes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
STEPS, FEATURES = 8, 3


def samples(n: int, seed: int, shape=(1, STEPS, FEATURES)) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(np.float32) for _ in range(n)]


def _models(keras):
    """name -> Keras model: an LSTM returning every step, and a classifier on their mean."""
    keras.utils.set_random_seed(7)
    x = inputs = keras.Input((STEPS, FEATURES), batch_size=1)
    seq = keras.Model(inputs, keras.layers.LSTM(6, return_sequences=True)(x))
    keras.utils.set_random_seed(8)
    x = inputs = keras.Input((STEPS, FEATURES), batch_size=1)
    # return_sequences=False would add a run-time STRIDED_SLICE (the last step): pool.
    x = keras.layers.LSTM(16, return_sequences=True)(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    clf = keras.Model(inputs, keras.layers.Dense(4)(x))
    keras.utils.set_random_seed(7)
    x = inputs = keras.Input((STEPS, FEATURES), batch_size=1)
    gru = keras.Model(inputs, keras.layers.GRU(6, return_sequences=True)(x))
    return {"lstm_seq": seq, "lstm_classifier": clf, "keras_gru_while": gru}


def convert(model, mode: str) -> bytes:
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if mode == "int8":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = lambda: ([s] for s in samples(64, 1))
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = conv.inference_output_type = tf.int8
    return conv.convert()


def main() -> int:
    import tf_keras as keras

    for name, model in _models(keras).items():
        # The GRU is a WHILE loop (the refusal test's input); its int8 conversion crashes.
        for mode in ("float",) if name.endswith("while") else ("float", "int8"):
            path = HERE / f"{name}_{mode}.tflite"
            path.write_bytes(convert(model, mode))
            print(f"wrote {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
