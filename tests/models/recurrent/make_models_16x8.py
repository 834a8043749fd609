"""Writes the converter's 16x8 recurrent test models next to this file (run once by hand;
the tests read the committed files):

    python tests/models/recurrent/make_models_16x8.py

TensorFlow 2.21's converter in 16x8 mode (``EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_
WEIGHTS_INT8``, int16 input and output) refuses a fused UNIDIRECTIONAL_SEQUENCE_LSTM
("Quantization to 16x8-bit not yet supported", Keras 2 ``tf_keras`` LSTM, both quantizers),
and its calibration crashes on Keras 3's WHILE loops; Keras 3's ``unroll=True`` LSTM and GRU
convert: the steps as int16 FULLY_CONNECTED, SPLIT, LOGISTIC, TANH, MUL, ADD (SUB,
STRIDED_SLICE for the GRU) after one UNPACK. Time-series classifiers as make_models.py's
(8 steps x 3 features, 8 units, random biases, a Dense(4) head); seeded.
"""

from __future__ import annotations

import sys

from make_models import HERE, _keras3_model, samples

MODELS = {"keras3_lstm_unroll_16x8": "LSTM", "keras3_gru_unroll_16x8": "GRU"}
SEED = 40


def convert_16x8(model) -> bytes:
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([s] for s in samples(64, 1))
    conv.target_spec.supported_ops = [
        tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int16
    return conv.convert()


def main() -> int:
    import tensorflow as tf

    for k, (name, layer) in enumerate(MODELS.items()):
        model = _keras3_model(tf.keras, layer, True, False, SEED + k, 1)
        path = HERE / f"{name}.tflite"
        path.write_bytes(convert_16x8(model))
        print(f"wrote {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
