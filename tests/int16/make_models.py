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


def kws_dscnn(tf, L):
    """MLPerf Tiny's keyword-spotting DS-CNN (the architecture of ``kws_dscnn_int8.tflite``:
    a 10x4 stride-2 conv, four depthwise-separable blocks with batch norm, average pool,
    dense, softmax), random weights, batch-norm statistics set from data."""
    x = tf.keras.Input((49, 10, 1), batch_size=1)
    y = L.Conv2D(64, (10, 4), strides=2, padding="same", use_bias=False)(x)
    y = L.ReLU()(L.BatchNormalization()(y))
    for _ in range(4):
        y = L.ReLU()(L.BatchNormalization()(L.DepthwiseConv2D(3, padding="same",
                                                              use_bias=False)(y)))
        y = L.ReLU()(L.BatchNormalization()(L.Conv2D(64, 1, use_bias=False)(y)))
    y = L.Flatten()(L.AveragePooling2D((25, 5))(y))
    return tf.keras.Model(x, L.Softmax()(L.Dense(12)(y)))


def ic_resnet8(tf, L):
    """MLPerf Tiny's image-classification ResNet-8 (``ic_resnet8_int8.tflite``'s layout:
    three residual stacks of 16, 32, 64 filters with 1x1 projections, ADD, pool, dense)."""
    x = tf.keras.Input((32, 32, 3), batch_size=1)
    y = L.ReLU()(L.BatchNormalization()(L.Conv2D(16, 3, padding="same")(x)))
    for filters, stride in ((16, 1), (32, 2), (64, 2)):
        z = L.ReLU()(L.BatchNormalization()(L.Conv2D(filters, 3, strides=stride,
                                                     padding="same")(y)))
        z = L.BatchNormalization()(L.Conv2D(filters, 3, padding="same")(z))
        if stride != 1:
            y = L.Conv2D(filters, 1, strides=stride)(y)
        y = L.ReLU()(L.Add()([y, z]))
    y = L.Flatten()(L.AveragePooling2D(8)(y))
    return tf.keras.Model(x, L.Softmax()(L.Dense(10)(y)))


def ad_fc_autoencoder(tf, L):
    """MLPerf Tiny's anomaly-detection autoencoder (``ad_fc_autoencoder_int8.tflite``: 640
    inputs, dense 128 x4, bottleneck 8, dense 128 x4, 640 outputs, batch norm + ReLU)."""
    x = tf.keras.Input((640,), batch_size=1)
    y = x
    for units in (128, 128, 128, 128, 8, 128, 128, 128, 128):
        y = L.ReLU()(L.BatchNormalization()(L.Dense(units)(y)))
    return tf.keras.Model(x, L.Dense(640)(y))


MODELS = {"conv_net": conv_net, "mixed_net": mixed_net}
# The MLPerf Tiny architectures: converted at test time (slow tests), not committed (KWS and
# IC are 25 and 80 KB of weights, AD 270 KB).
MLPERF_MODELS = {"kws_dscnn": kws_dscnn, "ic_resnet8": ic_resnet8,
                 "ad_fc_autoencoder": ad_fc_autoencoder}


def set_batch_norm_statistics(tf, model, seed: int = SEED) -> None:
    """Give every BatchNormalization the mean and variance of its input on random data, so
    the converted model's outputs are not constant (Keras starts them at 0 and 1)."""
    rng = np.random.default_rng(seed)
    sample = rng.standard_normal((8,) + tuple(model.input_shape[1:])).astype(np.float32)
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            probe = tf.keras.Model(model.inputs, layer.input)
            values = np.concatenate([probe(s[np.newaxis]).numpy() for s in sample])
            axes = tuple(range(values.ndim - 1))
            gamma, beta, _, _ = layer.get_weights()
            layer.set_weights([gamma, beta, values.mean(axis=axes), values.var(axis=axes) + 1e-3])


def make_mlperf(name: str) -> bytes:
    """The 16x8 conversion of one MLPerf Tiny architecture (seeded)."""
    tf, L = _keras()
    model = MLPERF_MODELS[name](tf, L)
    set_batch_norm_statistics(tf, model)
    return convert_16x8(tf, model)


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
