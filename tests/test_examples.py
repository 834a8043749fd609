"""The committed example models import, run, and classify the digits test split as well as
``examples/make_digits_model.py`` measured when it wrote them."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from edgec.frontends import load_model
from edgec.ir import interpret

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
METRICS = json.loads((EXAMPLES / "digits_metrics.json").read_text())


def _maker():
    """The example script as a module (its heavy imports are inside its functions)."""
    spec = importlib.util.spec_from_file_location("make_digits_model",
                                                  EXAMPLES / "make_digits_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def test_split():
    maker = _maker()
    _, x_test, _, y_test = maker.load_split()
    assert len(y_test) == METRICS["test_images"]
    return maker, x_test, y_test


def _accuracy(graph, images, labels) -> float:
    hits = [int(np.argmax(next(iter(interpret(graph, image[np.newaxis]).values())))) == label
            for image, label in zip(images, labels)]
    return float(np.mean(hits))


def test_int8_model_accuracy(test_split):
    maker, x_test, y_test = test_split
    graph = load_model(EXAMPLES / "digits_int8.tflite")
    q = graph.tensors[graph.inputs[0]].quant
    assert (q.s, q.zp) == (METRICS["input_scale"], METRICS["input_zero_point"])
    accuracy = _accuracy(graph, maker.quantize(x_test, q.s, q.zp), y_test)
    assert accuracy == pytest.approx(METRICS["int8_tflite_accuracy"], abs=0.01)


def test_float_onnx_model_accuracy(test_split):
    _, x_test, y_test = test_split
    graph = load_model(EXAMPLES / "digits.onnx")
    assert _accuracy(graph, x_test, y_test) == pytest.approx(METRICS["float_onnx_accuracy"],
                                                             abs=0.01)


def test_sample_input_is_a_quantized_test_zero(test_split):
    maker, x_test, y_test = test_split
    digit = np.load(EXAMPLES / "digit0.npy")
    graph = load_model(EXAMPLES / "digits_int8.tflite")
    first_zero = x_test[np.flatnonzero(y_test == 0)[0]]
    scale, zero_point = METRICS["input_scale"], METRICS["input_zero_point"]
    np.testing.assert_array_equal(digit, maker.quantize(first_zero, scale, zero_point)[np.newaxis])
    assert digit.dtype == np.int8 and digit.shape == graph.tensors[graph.inputs[0]].shape
