"""TRANSPOSE_CONV: random single-op models against TFLite Micro (int8) and LiteRT (float);
Keras Conv2DTranspose / Conv1DTranspose through the TensorFlow converter (slow), verified
on the host and, where QEMU is installed, on the emulated Cortex-M4F (mps2_an386)."""

import shutil

import numpy as np
import pytest

from edgec.export import to_tflite_bytes
from edgec.frontends.tflite import load_tflite
from edgec.options import BuildOptions
from tests.ops import (assert_float_matches_litert, conv_quant, float_data, int8_data,
                       int8_weights, int32_bias, pick_activation, window_out)
from tests.refs import assert_matches_tflm, run_tflm
from tests.tflite_builder import TFLiteBuilder


def _geometry(rng):
    g = dict(n=int(rng.integers(1, 3)), h=int(rng.integers(1, 7)), w=int(rng.integers(1, 7)),
             ic=int(rng.integers(1, 7)), oc=int(rng.integers(1, 7)),
             kh=int(rng.integers(1, 5)), kw=int(rng.integers(1, 5)),
             sh=int(rng.integers(1, 4)), sw=int(rng.integers(1, 4)),
             padding=str(rng.choice(["SAME", "VALID"])))
    # The output size: as Keras makes it (SAME: in * s, past the full result when the kernel
    # is below the stride; VALID: the full result) or less, as far as LiteRT accepts it (the
    # output's CONV_2D size must be the input's).
    for axis, size, k, s in (("oh", g["h"], g["kh"], g["sh"]), ("ow", g["w"], g["kw"], g["sw"])):
        top = size * s if g["padding"] == "SAME" else (size - 1) * s + k
        sizes = [o for o in range(max(1, top - s + 1), top + 1)
                 if window_out(o, k, s, 1, g["padding"]) == size]
        g[axis] = int(rng.choice(sizes))
    return g


def _model(g, dtype, w_arr, bias_arr, activation, quant=None):
    """One TRANSPOSE_CONV; ``quant`` = (x (s, zp), w scales, y (s, zp)) for int8."""
    b = TFLiteBuilder()
    x_shape, y_shape = (g["n"], g["h"], g["w"], g["ic"]), (g["n"], g["oh"], g["ow"], g["oc"])
    shape = b.tensor("shape", (4,), "int32", data=np.array(y_shape, np.int32))
    if dtype == "int8":
        (xs, xz), ws, (ys, yz) = quant
        x = b.tensor("x", x_shape, "int8", scale=xs, zero_point=xz)
        w = b.tensor("w", w_arr.shape, "int8", data=w_arr, scale=ws, zero_point=[0] * ws.size)
        bias = None if bias_arr is None else b.tensor(
            "b", (g["oc"],), "int32", data=bias_arr, scale=xs * ws, zero_point=[0] * ws.size)
        y = b.tensor("y", y_shape, "int8", scale=ys, zero_point=yz)
    else:
        x = b.tensor("x", x_shape, "float32")
        w = b.tensor("w", w_arr.shape, "float32", data=w_arr)
        bias = None if bias_arr is None else b.tensor("b", (g["oc"],), "float32", data=bias_arr)
        y = b.tensor("y", y_shape, "float32")
    inputs = [shape, w, x] + ([] if bias is None else [bias])
    b.op("TRANSPOSE_CONV", inputs, [y], padding=g["padding"], stride_h=g["sh"],
         stride_w=g["sw"], fused_activation_function=activation)
    return b.build(inputs=[x], outputs=[y])


def _int8_case(seed):
    rng = np.random.default_rng(seed)
    g = _geometry(rng)
    activation = pick_activation(rng)
    x_q, ws, y_q = conv_quant(rng, g["kh"] * g["kw"] * g["ic"], g["oc"],
                              per_channel=bool(rng.integers(0, 4)), activation=activation)
    w_arr = int8_weights(rng, (g["oc"], g["kh"], g["kw"], g["ic"]))
    bias = int32_bias(rng, g["oc"]) if rng.integers(0, 4) else None
    model = _model(g, "int8", w_arr, bias, activation, (x_q, ws, y_q))
    return model, [int8_data(rng, (g["n"], g["h"], g["w"], g["ic"]))]


@pytest.mark.parametrize("seed", range(16))
def test_int8_matches_tflm(seed):
    assert_matches_tflm(*_int8_case(seed))


@pytest.mark.parametrize("seed", range(6))
def test_float_matches_litert(seed):
    rng = np.random.default_rng(100 + seed)
    g = _geometry(rng)
    w_arr = float_data(rng, (g["oc"], g["kh"], g["kw"], g["ic"]))
    bias = float_data(rng, (g["oc"],)) if seed % 2 else None
    model = _model(g, "float32", w_arr, bias, ("NONE", "RELU", "RELU6")[seed % 3])
    assert_float_matches_litert(model, [float_data(rng, (g["n"], g["h"], g["w"], g["ic"]))])


@pytest.mark.parametrize("seed", [1, 4])
def test_export_round_trip_runs_the_same_on_tflm(seed):
    model, inputs = _int8_case(seed)
    again = to_tflite_bytes(load_tflite(model))
    assert np.array_equal(run_tflm(again, inputs)[0], run_tflm(model, inputs)[0])


# -- converter output ------------------------------------------------------------------------

def _keras_models(tf):
    """A conv autoencoder's decoder (Conv2DTranspose, strided SAME and VALID with uneven
    strides) and a Conv1D autoencoder (Conv1D down, Conv1DTranspose up); biases random."""
    tf.keras.utils.set_random_seed(3)
    init = tf.keras.initializers.RandomNormal(stddev=0.3)
    x = i2 = tf.keras.Input((6, 5, 3), batch_size=1)
    x = tf.keras.layers.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu",
                                        bias_initializer=init)(x)
    x = tf.keras.layers.Conv2DTranspose(2, (2, 3), strides=(1, 2), padding="valid",
                                        bias_initializer=init)(x)
    two = tf.keras.Model(i2, x)
    x = i1 = tf.keras.Input((16, 3), batch_size=1)
    x = tf.keras.layers.Conv1D(8, 3, strides=2, padding="same", activation="relu")(x)
    x = tf.keras.layers.Conv1DTranspose(4, 3, strides=2, padding="same", activation="relu",
                                        bias_initializer=init)(x)
    x = tf.keras.layers.Conv1DTranspose(3, 5, padding="valid", bias_initializer=init)(x)
    one = tf.keras.Model(i1, x)
    return [two, one]


def _convert(tf, model, int8: bool) -> bytes:
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if int8:
        rng = np.random.default_rng(0)
        shape = (1, *model.input_shape[1:])
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = lambda: (
            [rng.standard_normal(shape).astype(np.float32)] for _ in range(16))
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = conv.inference_output_type = tf.int8
    return conv.convert()


@pytest.mark.slow
def test_keras_conv_transpose_int8_and_float_verify(tmp_path):
    tf = pytest.importorskip("tensorflow")
    from edgec.verify import verify

    rng = np.random.default_rng(2)
    for k, keras_model in enumerate(_keras_models(tf)):
        for int8 in (True, False):
            data = _convert(tf, keras_model, int8)
            assert "TRANSPOSE_CONV" in {n.op for n in load_tflite(data).nodes}
            shape = (1, *keras_model.input_shape[1:])
            if int8:
                assert_matches_tflm(data, [rng.integers(-128, 128, shape).astype(np.int8)])
            else:
                assert_float_matches_litert(data, [rng.standard_normal(shape).astype(np.float32)])
            path = tmp_path / f"model{k}_{int8}.tflite"
            path.write_bytes(data)
            result = verify(path, count=2)
            assert result.ok, result.message
            if shutil.which("qemu-system-arm") and shutil.which("arm-none-eabi-gcc"):
                result = verify(path, BuildOptions(target="mps2_an386"), count=1)
                assert result.ok, result.message
