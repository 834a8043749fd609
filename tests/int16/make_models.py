"""Make the int16x8 TFLite test models (int16 activations, int8 weights, int64 bias) with the
real TensorFlow converter, from small seeded Keras models.

Run once: ``python -m tests.int16.make_models``; it writes ``tests/int16/models/*.tflite``,
which are committed so the tests do not need TensorFlow at run time.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "models"
SEED = 11


def _keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    tf.keras.utils.set_random_seed(SEED)
    return tf, tf.keras.layers


def conv_net(tf, L):
    """CONV_2D, DEPTHWISE_CONV_2D, MAX/AVERAGE_POOL_2D, RESHAPE, FULLY_CONNECTED, SOFTMAX."""
    x = tf.keras.Input((10, 10, 3), batch_size=1)
    y = L.Conv2D(8, 3, padding="same", activation="relu")(x)
    y = L.DepthwiseConv2D(3, strides=2, padding="same", activation="relu6")(y)
    y = L.MaxPooling2D(2)(y)
    y = L.Conv2D(6, 1)(y)
    y = L.AveragePooling2D(2, padding="same")(y)
    y = L.Flatten()(y)
    y = L.Dense(5)(y)
    y = L.Softmax()(y)
    return tf.keras.Model(x, y)


def mixed_net(tf, L):
    """ADD, MUL, CONCATENATION, PAD, MEAN, LOGISTIC, TANH, RELU, FULLY_CONNECTED."""
    x = tf.keras.Input((6, 6, 4), batch_size=1)
    a = L.Conv2D(4, 3, padding="same")(x)
    b = L.Activation("tanh")(a)
    c = L.Activation("sigmoid")(x)
    s = L.Add()([b, c])
    m = L.Multiply()([s, x])
    r = L.ReLU()(m)
    cat = L.Concatenate()([r, b])
    p = L.ZeroPadding2D(1)(cat)
    p = L.Conv2D(4, 3)(p)
    g = L.GlobalAveragePooling2D()(p)
    y = L.Dense(3, activation="tanh")(g)
    return tf.keras.Model(x, y)


MODELS = {"conv_net": conv_net, "mixed_net": mixed_net}


def representative(shape, seed: int):
    rng = np.random.default_rng(seed)

    def gen():
        for _ in range(32):
            yield [rng.standard_normal(shape).astype(np.float32)]
    return gen


def convert_16x8(tf, model, seed: int = SEED) -> bytes:
    """The model converted with TFLite's 16x8 mode, int16 input and output."""
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative((1,) + tuple(model.input_shape[1:]), seed)
    conv.target_spec.supported_ops = [
        tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    conv.inference_input_type = tf.int16
    conv.inference_output_type = tf.int16
    return conv.convert()


def main() -> None:
    tf, L = _keras()
    OUT.mkdir(exist_ok=True)
    for name, make in MODELS.items():
        tf.keras.utils.set_random_seed(SEED)
        data = convert_16x8(tf, make(tf, L))
        (OUT / f"{name}_16x8.tflite").write_bytes(data)
        print(f"{name}_16x8.tflite: {len(data)} bytes")


if __name__ == "__main__":
    main()
