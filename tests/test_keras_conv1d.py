"""Keras Conv1D time-series classifiers (with and without dilation, 'same' and 'causal'
padding) through the TensorFlow converter: int8 (full-integer, representative dataset)
bit-exact with TFLM, float within 1e-5 of LiteRT, both built and verified on the host and
on the emulated Cortex-M4F (mps2_an386, reusing the converted models); the converter's
dynamic-range (hybrid) output is refused with the setting to use instead."""

import numpy as np
import pytest

from edgec.errors import EdgecError
from edgec.frontends.tflite import load_tflite
from edgec.ir import interpret
from edgec.options import BuildOptions
from edgec.verify import verify
from tests.cortexm.toolchain import needs_qemu
from tests.refs import assert_matches_tflm, run_litert

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.slow
STEPS, CHANNELS = 32, 6


def _keras(dilation: int, padding: str, filters: int = 16):
    tf.keras.utils.set_random_seed(dilation * 10 + len(padding))
    x = inputs = tf.keras.Input((STEPS, CHANNELS), batch_size=1)
    x = tf.keras.layers.Conv1D(filters, 3, dilation_rate=dilation, padding=padding,
                               activation="relu")(x)
    x = tf.keras.layers.Conv1D(filters, 3, dilation_rate=dilation, padding="valid",
                               activation="relu")(x)
    x = tf.keras.layers.MaxPooling1D(2)(x)
    x = tf.keras.layers.GlobalAveragePooling1D()(x)
    x = tf.keras.layers.Dense(4)(x)
    return tf.keras.Model(inputs, x)


def _samples(n, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((1, STEPS, CHANNELS)).astype(np.float32) for _ in range(n)]


_CONVERTED: dict[tuple[int, str, str], bytes] = {}


def _converted(dilation: int, padding: str, mode: str) -> bytes:
    """The converter output of one case (made once per module)."""
    key = (dilation, padding, mode)
    if key not in _CONVERTED:
        _CONVERTED[key] = _convert(_keras(dilation, padding), mode)
    return _CONVERTED[key]


def _convert(model, mode: str) -> bytes:
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if mode in ("int8", "hybrid"):
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "int8":
        conv.representative_dataset = lambda: ([s] for s in _samples(32, 1))
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = conv.inference_output_type = tf.int8
    return conv.convert()


CASES = [(1, "same"), (2, "same"), (2, "causal"), (4, "valid")]


@pytest.mark.parametrize("dilation,padding", CASES)
def test_int8_conv1d_matches_tflm_and_verifies(dilation, padding, tmp_path):
    data = _converted(dilation, padding, "int8")
    rng = np.random.default_rng(5)
    inputs = [rng.integers(-128, 128, (1, STEPS, CHANNELS)).astype(np.int8) for _ in range(3)]
    for x in inputs:
        assert_matches_tflm(data, [x])
    path = tmp_path / "conv1d_int8.tflite"
    path.write_bytes(data)
    result = verify(path, count=3)
    assert result.ok, result.message


@pytest.mark.parametrize("dilation,padding", CASES)
def test_float_conv1d_matches_litert_and_verifies(dilation, padding, tmp_path):
    data = _converted(dilation, padding, "float")
    graph = load_tflite(data)
    for x in _samples(3, 9):
        got = interpret(graph, [x])[graph.outputs[0]]
        np.testing.assert_allclose(got, run_litert(data, [x])[0], rtol=1e-5, atol=1e-5)
    path = tmp_path / "conv1d_float.tflite"
    path.write_bytes(data)
    result = verify(path, count=3)
    assert result.ok, result.message


@needs_qemu
@pytest.mark.parametrize("mode", ["int8", "float"])
@pytest.mark.parametrize("dilation,padding", CASES)
def test_conv1d_verifies_on_mps2_an386(dilation, padding, mode, tmp_path):
    path = tmp_path / f"conv1d_{mode}.tflite"
    path.write_bytes(_converted(dilation, padding, mode))
    result = verify(path, BuildOptions(target="mps2_an386"), count=2)
    assert result.ok, result.message


def test_hybrid_model_is_refused_with_the_converter_setting():
    # The converter keeps weights under 1,024 elements float: 64 filters make them int8.
    with pytest.raises(EdgecError, match="dynamic-range") as info:
        load_tflite(_convert(_keras(2, "causal", filters=64), "hybrid"))
    assert "representative_dataset" in info.value.hint
