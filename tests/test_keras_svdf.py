"""A keyword-spotting-like model with SVDF structure as TensorFlow 2.21's converter writes it.

TF 2.21's converter cannot emit the SVDF builtin (tried: docs/IR.md "SVDF and the converter"):
the MLIR converter has no TensorFlow-to-``tfl.svdf`` pattern, fuses no ``tf._implements``
name to it, and the legacy TOCO path whose ``SvdfCluster`` did is unreachable from Python
(``experimental_new_converter=False`` still runs the MLIR converter). What it writes for the
structure (a feature filter, a per-filter time filter over a memory of past frames kept in a
state, rank filters summed per unit) is primitive ops, with the state as an explicit input
and output. This test makes that model (random weights, fixed seed, Keras 3 functional), pins
that the converter writes it without SVDF, and checks edgec on it: float against LiteRT over a
stream (the state output fed back as the next input), the converter's int8 model against
TFLite Micro every byte, and both built and verified on the host.
"""

from __future__ import annotations

import numpy as np
import pytest

from edgec.frontends.tflite import load_tflite
from edgec.frontends.tflite_schema import read_model
from edgec.options import BuildOptions
from edgec.verify import verify
from tests.cortexm.toolchain import needs_qemu
from tests.refs import assert_matches_tflm, run_edgec_tflite, run_litert

tf = pytest.importorskip("tensorflow")

FEATURES, FILTERS, MEMORY, RANK, CLASSES = 10, 16, 8, 2, 4


def keras_svdf_like(seed: int = 0):
    """frame [1, FEATURES], state [1, FILTERS, MEMORY] -> (probabilities, next state)."""
    keras = tf.keras
    rng = np.random.default_rng(seed)
    keras.utils.set_random_seed(seed)
    frame = keras.Input((FEATURES,), batch_size=1, name="frame")
    state = keras.Input((FILTERS, MEMORY), batch_size=1, name="state")
    projected = keras.layers.Dense(FILTERS, use_bias=False, name="feature_filter")(frame)
    newest = keras.layers.Reshape((FILTERS, 1))(projected)
    older = keras.layers.Lambda(lambda s: s[:, :, 1:], name="drop_oldest")(state)
    next_state = keras.layers.Concatenate(axis=2, name="next_state")([older, newest])
    time_w = rng.uniform(-0.5, 0.5, (FILTERS, MEMORY)).astype(np.float32)
    bias = rng.uniform(-0.3, 0.3, FILTERS // RANK).astype(np.float32)
    # The sums over the memory and over the rank filters of a unit: reduce_sum, which the
    # converter writes as SUM.
    filtered = keras.layers.Lambda(lambda s: tf.reduce_sum(s * time_w, axis=-1),
                                   name="time_filter")(next_state)
    units = keras.layers.Reshape((FILTERS // RANK, RANK))(filtered)
    units = keras.layers.Lambda(lambda u: tf.nn.relu(tf.reduce_sum(u, axis=-1) + bias),
                                name="rank_sum")(units)
    probs = keras.layers.Dense(CLASSES, activation="softmax", name="classes")(units)
    return keras.Model([frame, state], [probs, next_state])


def stream(count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(count)[:, None]
    freq, phase = rng.uniform(0.05, 0.4, FEATURES), rng.uniform(0, 2 * np.pi, FEATURES)
    x = np.sin(freq * t + phase) + 0.2 * rng.standard_normal((count, FEATURES))
    return x.astype(np.float32)[:, None, :]


def _convert(int8: bool, order: list[str] | None = None) -> bytes:
    """The converter's float model, or its int8 one (``order``: the float model's input names,
    the order its calibrator takes them in)."""
    model = keras_svdf_like()
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if int8:
        def representative():
            state = np.zeros((1, FILTERS, MEMORY), np.float32)
            for x in stream(64, seed=1):
                yield [state if "state" in name else x for name in order]
                state = model([x, state])[1].numpy()

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    return converter.convert()


@pytest.fixture(scope="module")
def models() -> dict[str, bytes]:
    data = _convert(False)
    return {"float": data, "int8": _convert(True, load_tflite(data).inputs)}


def _names(data: bytes) -> list[str]:
    return [op.builtin for op in read_model(data).ops]


def _by_name(graph, data_inputs: dict) -> list[np.ndarray]:
    """The model's inputs in its own order from {"frame": ..., "state": ...}."""
    return [data_inputs["state" if "state" in name else "frame"] for name in graph.inputs]


@pytest.mark.slow
def test_converter_writes_the_svdf_structure_without_svdf(models):
    for data in models.values():
        ops = _names(data)
        assert "SVDF" not in ops
        assert {"FULLY_CONNECTED", "CONCATENATION", "SUM"} <= set(ops), ops


@pytest.mark.slow
def test_float_stream_matches_litert(models):
    data = models["float"]
    graph = load_tflite(data)
    state_out = next(i for i, n in enumerate(graph.outputs)
                     if graph.tensors[n].shape == (1, FILTERS, MEMORY))
    state = np.zeros((1, FILTERS, MEMORY), np.float32)
    for x in stream(12, seed=5):
        inputs = _by_name(graph, {"frame": x, "state": state})
        want, got = run_litert(data, inputs), run_edgec_tflite(data, inputs)
        for w, g in zip(want, got):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
        state = want[state_out]  # the state carries
    assert np.any(state)


@pytest.mark.slow
def test_int8_model_is_bit_exact_with_tflm(models):
    data = models["int8"]
    graph = load_tflite(data)
    rng = np.random.default_rng(3)
    for _ in range(4):
        inputs = [rng.integers(-128, 128, graph.tensors[n].shape).astype(np.int8)
                  for n in graph.inputs]
        assert_matches_tflm(data, inputs)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["float", "int8"])
def test_builds_and_verifies_on_the_host(models, tmp_path, kind):
    path = tmp_path / f"svdf_like_{kind}.tflite"
    path.write_bytes(models[kind])
    result = verify(path, BuildOptions(cache_dir=tmp_path / "cache"), count=2, seed=3)
    assert result.ok, result.message
    assert ("bit-exact" if kind == "int8" else "within") in result.message


@needs_qemu
@pytest.mark.slow
def test_int8_verifies_on_mps2_an386(models, tmp_path):
    path = tmp_path / "svdf_like_int8.tflite"
    path.write_bytes(models["int8"])
    result = verify(path, BuildOptions(cache_dir=tmp_path / "cache", target="mps2_an386"),
                    count=2, seed=3)
    assert result.ok, result.message
    assert "bit-exact" in result.message
