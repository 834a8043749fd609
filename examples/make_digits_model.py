"""Train a small CNN on scikit-learn's 8x8 digits and write edgec's example models.

Writes, next to this script:
- ``digits_int8.tflite``: full-integer int8 (int8 input and output), converted by the
  TensorFlow Lite converter with real training digits as the representative dataset;
- ``digits.onnx``: the same trained network in float32, written with ``onnx.helper``;
- ``digit0.npy``: the first "0" of the test split, quantized to the int8 model's input;
- ``digits_metrics.json``: the split and the test accuracy of each model, which
  ``tests/test_examples.py`` checks the committed models against.

The network is CONV_2D, MAX_POOL_2D, CONV_2D, MAX_POOL_2D, RESHAPE, FULLY_CONNECTED, SOFTMAX.
Everything is seeded; rerunning gives the same models. Run: ``python examples/make_digits_model.py``
(needs the test extras: tensorflow, scikit-learn, onnxruntime, tflite-micro).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 0
TEST_FRACTION = 0.25
CALIBRATION_IMAGES = 300
EPOCHS = 40


def load_split():
    """(x_train, x_test, y_train, y_test): float32 NHWC images in [0, 1], stratified, seeded."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[..., np.newaxis]
    return train_test_split(images, digits.target, test_size=TEST_FRACTION,
                            random_state=SEED, stratify=digits.target)


def quantize(images: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Float images to the int8 model's input: ``round(x / scale) + zero_point``, clamped."""
    q = np.round(images / np.float32(scale)) + zero_point
    return np.clip(q, -128, 127).astype(np.int8)


def train(x_train: np.ndarray, y_train: np.ndarray):
    """A Keras CNN trained deterministically on the training split."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    layers = tf.keras.layers
    model = tf.keras.Sequential([
        tf.keras.Input((8, 8, 1), batch_size=1, name="image"),
        layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1"),
        layers.MaxPooling2D(2, name="pool1"),
        layers.Conv2D(16, 3, padding="same", activation="relu", name="conv2"),
        layers.MaxPooling2D(2, name="pool2"),
        layers.Flatten(name="flatten"),
        layers.Dense(10, activation="softmax", name="dense"),
    ])
    model.compile(optimizer=tf.keras.optimizers.Adam(3e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=EPOCHS, batch_size=32, shuffle=True, verbose=0)
    return model


def to_int8_tflite(model, calibration: np.ndarray) -> bytes:
    """Full-integer quantization with real digits as the representative dataset."""
    import tensorflow as tf

    def representative():
        for image in calibration:
            yield [image[np.newaxis]]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


def to_onnx(model):
    """The trained float network as ONNX (NHWC input like the TFLite model, NCHW inside)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    (k1, b1), (k2, b2), (wd, bd) = (model.get_layer(n).get_weights()
                                    for n in ("conv1", "conv2", "dense"))
    inits = [numpy_helper.from_array(a.astype(np.float32), n) for n, a in [
        ("conv1_w", k1.transpose(3, 2, 0, 1)), ("conv1_b", b1),  # HWIO -> OIHW
        ("conv2_w", k2.transpose(3, 2, 0, 1)), ("conv2_b", b2),
        ("dense_w", wd), ("dense_b", bd)]]
    inits.append(numpy_helper.from_array(np.array([1, -1], np.int64), "flat_shape"))
    conv = dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    pool = dict(kernel_shape=[2, 2], strides=[2, 2])
    nodes = [
        helper.make_node("Transpose", ["image"], ["nchw"], "to_nchw", perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["nchw", "conv1_w", "conv1_b"], ["c1"], "conv1", **conv),
        helper.make_node("Relu", ["c1"], ["r1"], "relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], "pool1", **pool),
        helper.make_node("Conv", ["p1", "conv2_w", "conv2_b"], ["c2"], "conv2", **conv),
        helper.make_node("Relu", ["c2"], ["r2"], "relu2"),
        helper.make_node("MaxPool", ["r2"], ["p2"], "pool2", **pool),
        # Back to NHWC before flattening, so the dense weights keep Keras's order.
        helper.make_node("Transpose", ["p2"], ["nhwc"], "to_nhwc", perm=[0, 2, 3, 1]),
        helper.make_node("Reshape", ["nhwc", "flat_shape"], ["flat"], "flatten"),
        helper.make_node("MatMul", ["flat", "dense_w"], ["logits0"], "dense"),
        helper.make_node("Add", ["logits0", "dense_b"], ["logits"], "dense_bias"),
        helper.make_node("Softmax", ["logits"], ["probabilities"], "softmax", axis=-1),
    ]
    graph = helper.make_graph(
        nodes, "digits",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 8, 8, 1])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [1, 10])], inits)
    onnx_model = helper.make_model(graph, producer_name="edgec-examples",
                                   opset_imports=[helper.make_opsetid("", 17)])
    onnx_model.ir_version = 8
    onnx.checker.check_model(onnx_model, full_check=True)
    return onnx_model


def tflm_predictions(model_bytes: bytes, images_q: np.ndarray) -> np.ndarray:
    """Class predictions of the int8 model with TFLite Micro's reference kernels."""
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(model_bytes, arena_size=1 << 16)
    predictions = []
    for image in images_q:
        interp.set_input(image[np.newaxis], 0)
        interp.invoke()
        predictions.append(int(np.argmax(interp.get_output(0))))
    return np.array(predictions)


def onnx_predictions(onnx_model, images: np.ndarray) -> np.ndarray:
    """Class predictions of the float ONNX model with onnxruntime."""
    import onnxruntime as ort

    session = ort.InferenceSession(onnx_model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    return np.array([int(np.argmax(session.run(None, {"image": image[np.newaxis]})[0]))
                     for image in images])


def input_quantization(model_bytes: bytes) -> tuple[float, int]:
    """Scale and zero point of the int8 model's input."""
    from ai_edge_litert.interpreter import Interpreter

    scale, zero_point = Interpreter(model_content=model_bytes).get_input_details()[0]["quantization"]
    return float(scale), int(zero_point)


def main() -> None:
    x_train, x_test, y_train, y_test = load_split()
    model = train(x_train, y_train)
    keras_acc = float(np.mean(np.argmax(model.predict(x_test, batch_size=1, verbose=0), 1)
                              == y_test))
    tflite_bytes = to_int8_tflite(model, x_train[:CALIBRATION_IMAGES])
    onnx_model = to_onnx(model)
    scale, zero_point = input_quantization(tflite_bytes)
    x_test_q = quantize(x_test, scale, zero_point)
    metrics = {
        "seed": SEED, "test_fraction": TEST_FRACTION, "test_images": len(y_test),
        "keras_float_accuracy": keras_acc,
        "int8_tflite_accuracy": float(np.mean(tflm_predictions(tflite_bytes, x_test_q) == y_test)),
        "float_onnx_accuracy": float(np.mean(onnx_predictions(onnx_model, x_test) == y_test)),
        "input_scale": scale, "input_zero_point": zero_point,
    }
    (HERE / "digits_int8.tflite").write_bytes(tflite_bytes)
    (HERE / "digits.onnx").write_bytes(onnx_model.SerializeToString())
    first_zero = int(np.flatnonzero(y_test == 0)[0])
    np.save(HERE / "digit0.npy", x_test_q[first_zero][np.newaxis])
    (HERE / "digits_metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    for key in ("keras_float_accuracy", "int8_tflite_accuracy", "float_onnx_accuracy"):
        print(f"{key}: {metrics[key]:.4f} on {len(y_test)} test digits")


if __name__ == "__main__":
    main()
