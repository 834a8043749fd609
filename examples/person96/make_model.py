"""Writes examples/person96_int8.tflite: a small person-detection-style image classifier
(96x96x1 int8 grey image in, 2 classes out: no_person, person) for the camera app. The
weights are seeded, not trained: the model exercises the camera path (frame -> grayscale ->
resize -> histogram equalisation -> int8 model), it detects nothing.

Run from the repository root: python examples/person96/make_model.py
"""

from pathlib import Path

import numpy as np
import tensorflow as tf

OUT = Path(__file__).resolve().parents[1] / "person96_int8.tflite"


def main() -> None:
    tf.keras.utils.set_random_seed(96)
    model = tf.keras.Sequential([
        tf.keras.layers.Input((96, 96, 1)),
        tf.keras.layers.Rescaling(1.0 / 255.0),
        tf.keras.layers.Conv2D(8, 3, strides=2, activation="relu"),
        tf.keras.layers.DepthwiseConv2D(3, strides=2, activation="relu"),
        tf.keras.layers.Conv2D(16, 1, activation="relu"),
        tf.keras.layers.AveragePooling2D(4),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(2),
        tf.keras.layers.Softmax(),
    ])
    rng = np.random.default_rng(96)

    def calibration():
        for _ in range(32):  # equalised grey images span 0..255
            yield [rng.uniform(0, 255, (1, 96, 96, 1)).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = calibration
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    OUT.write_bytes(converter.convert())
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
