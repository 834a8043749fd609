"""Converter output of standard Keras architectures (random seeded weights, no downloads,
batch-norm statistics set from data so the outputs vary): MobileNetV2 (alpha 0.35),
MobileNetV3-Small (HARD_SWISH, squeeze-excite MULs), an EfficientNet-Lite-style net
(MBConv blocks with ReLU6, no squeeze-excite) and a decoder of the ops issue 11 added
(PReLU, Conv2DTranspose, nearest and bilinear resizing, reflection padding), all int8
through the TensorFlow converter: bit-exact with TFLite Micro, built and verified on the
host and on the emulated Cortex-M4F (mps2_an386; each model is converted once per module)."""

import numpy as np
import pytest

from edgec.frontends.tflite import load_tflite
from edgec.options import BuildOptions
from edgec.verify import verify
from tests.cortexm.toolchain import needs_qemu
from tests.refs import assert_matches_tflm

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.slow
SIDE = 96


def _bn_from_data(model, x):
    """Every BatchNormalization's moving mean and variance from the activations it sees on
    ``x`` (one pass: a model with every BN input as an output)."""
    layers = [la for la in model.layers if isinstance(la, tf.keras.layers.BatchNormalization)]
    if not layers:
        return
    probe = tf.keras.Model(model.inputs, [la.input for la in layers])
    acts = probe(x, training=False)
    # Each layer's statistics shift what later layers see: set them in order, re-probing
    # as they change (in chunks, which is close enough for outputs that vary).
    for start in range(0, len(layers), 8):
        acts = probe(x, training=False)
        for layer, act in list(zip(layers, acts))[start:start + 8]:
            a = np.asarray(act)
            axes = tuple(range(a.ndim - 1))
            gamma, beta = layer.get_weights()[:2]
            layer.set_weights([gamma, beta, a.mean(axis=axes), a.var(axis=axes) + 1e-3])


def _int8(model) -> bytes:
    shape = (1, *model.input_shape[1:])
    rng = np.random.default_rng(0)
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: (
        [rng.uniform(-1, 1, shape).astype(np.float32)] for _ in range(8))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    return conv.convert()


def _efficientnet_lite_like():
    """Stem conv, four MBConv blocks (expand 1x1, depthwise 3x3 or 5x5, project 1x1,
    residual when shapes allow), head conv, pooling, classifier; ReLU6 throughout."""
    layers = tf.keras.layers
    x = inputs = tf.keras.Input((SIDE, SIDE, 3), batch_size=1)
    x = layers.ReLU(6.0)(layers.BatchNormalization()(layers.Conv2D(16, 3, 2, "same")(x)))
    for expand, out, kernel, stride in ((1, 16, 3, 1), (4, 24, 3, 2), (4, 24, 5, 1),
                                        (4, 40, 5, 2)):
        y = x
        if expand > 1:
            y = layers.Conv2D(x.shape[-1] * expand, 1, use_bias=False)(y)
            y = layers.ReLU(6.0)(layers.BatchNormalization()(y))
        y = layers.DepthwiseConv2D(kernel, stride, "same", use_bias=False)(y)
        y = layers.ReLU(6.0)(layers.BatchNormalization()(y))
        y = layers.BatchNormalization()(layers.Conv2D(out, 1, use_bias=False)(y))
        x = layers.Add()([x, y]) if stride == 1 and x.shape[-1] == out else y
    x = layers.ReLU(6.0)(layers.BatchNormalization()(layers.Conv2D(128, 1)(x)))
    x = layers.Dense(10)(layers.GlobalAveragePooling2D()(x))
    return tf.keras.Model(inputs, x)


def _decoder():
    """A small encoder-decoder through the new ops (32x32 input)."""
    layers = tf.keras.layers

    def reflect(t):
        return tf.pad(t, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="REFLECT")

    x = inputs = tf.keras.Input((32, 32, 3), batch_size=1)
    x = layers.PReLU(shared_axes=[1, 2])(layers.Conv2D(8, 3, 2, "same")(x))
    x = layers.Conv2D(16, 3, 2, "valid")(layers.Lambda(reflect)(x))
    x = layers.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu")(x)
    # Keras 3's UpSampling2D(nearest) converts to TILE; tf.image.resize to the resize ops.
    x = layers.Lambda(lambda t: tf.image.resize(t, (16, 16), method="nearest"))(x)
    x = layers.Lambda(lambda t: tf.image.resize(t, (32, 24), method="bilinear"))(x)
    x = layers.Conv2D(3, 3, padding="same")(x)
    return tf.keras.Model(inputs, x)


def _applications(name: str):
    # Logits, not softmax: a saturated softmax gives a handful of distinct int8 outputs, too
    # few for a bit-exact comparison to mean much (and the converter's calibration is not
    # byte-stable between runs).
    kw = dict(input_shape=(SIDE, SIDE, 3), weights=None, classes=10, classifier_activation=None)
    if name == "mobilenet_v2":
        return tf.keras.applications.MobileNetV2(alpha=0.35, **kw)
    if name == "mobilenet_v3_small":
        return tf.keras.applications.MobileNetV3Small(alpha=0.75, include_preprocessing=False,
                                                      **kw)
    return {"efficientnet_lite_like": _efficientnet_lite_like, "decoder": _decoder}[name]()


NETS = {"mobilenet_v2": {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD"},
        "mobilenet_v3_small": {"HARD_SWISH", "MUL", "MEAN"},
        "efficientnet_lite_like": {"DEPTHWISE_CONV_2D", "ADD"},
        "decoder": {"PRELU", "MIRROR_PAD", "TRANSPOSE_CONV", "RESIZE_NEAREST_NEIGHBOR",
                    "RESIZE_BILINEAR"}}


_CONVERTED: dict[str, tuple[bytes, tuple[int, ...]]] = {}


def _converted(name: str) -> tuple[bytes, tuple[int, ...]]:
    """The int8 converter output of net ``name`` and its input shape (made once)."""
    if name not in _CONVERTED:
        tf.keras.utils.set_random_seed(len(name))
        model = _applications(name)
        x = np.random.default_rng(1).uniform(-1, 1, (8, *model.input_shape[1:]))
        _bn_from_data(model, x.astype(np.float32))
        _CONVERTED[name] = (_int8(model), (1, *model.input_shape[1:]))
    return _CONVERTED[name]


@pytest.mark.parametrize("name", sorted(NETS))
def test_int8_converter_output_is_bit_exact_with_tflm_and_verifies(name, tmp_path):
    data, shape = _converted(name)
    assert NETS[name] <= {n.op for n in load_tflite(data).nodes}
    rng = np.random.default_rng(2)
    outputs = [assert_matches_tflm(data, [rng.integers(-128, 128, shape).astype(np.int8)])[0]
               for _ in range(2)]
    assert len(np.unique(np.concatenate([o.ravel() for o in outputs]))) > 3
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(data)
    result = verify(path, count=1)
    assert result.ok, result.message


@needs_qemu
@pytest.mark.parametrize("name", sorted(NETS))
def test_int8_converter_output_verifies_on_mps2_an386(name, tmp_path):
    data, _ = _converted(name)
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(data)
    result = verify(path, BuildOptions(target="mps2_an386"), count=1)
    assert result.ok, result.message
    assert result.message == "bit-exact on 1 input"


def test_ptq_of_the_float_decoder_is_bit_exact_in_tflm():
    """edgec's own PTQ of the float converter output: every new op quantized, exported and
    run by TFLM with exactly edgec's outputs."""
    from edgec.quantize import quantize_graph
    from tests.quantize.test_ptq_tflm import assert_tflm_agrees

    tf.keras.utils.set_random_seed(3)
    graph = load_tflite(tf.lite.TFLiteConverter.from_keras_model(_decoder()).convert())
    calibration = np.random.default_rng(0).uniform(-1, 1, (8, 1, 32, 32, 3)).astype(np.float32)
    quantized = quantize_graph(graph, {graph.inputs[0]: calibration[:, 0]})
    assert NETS["decoder"] <= {n.op for n in quantized.nodes}
    assert_tflm_agrees(quantized, calibration[:2])
