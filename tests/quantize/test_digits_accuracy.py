"""PTQ accuracy on real data: the digits CNN (examples/digits.onnx) on its seeded test split.

Goals: int8 (and 16x8: int16 activations) within 1 point of float, int4 weights (W4A8) within
3 points. Calibration on 100
training images keeps the test fast; benchmarks/accuracy.py measures the full comparison.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

from edgec.frontends import load_model
from edgec.ir import interpret
from edgec.quantize import quantize_graph

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def digits():
    pytest.importorskip("sklearn")
    sys.path.insert(0, str(EXAMPLES))
    try:
        from make_digits_model import load_split
    finally:
        sys.path.remove(str(EXAMPLES))
    x_train, x_test, _, y_test = load_split()
    return load_model(EXAMPLES / "digits.onnx"), x_train[:100], x_test, y_test


def accuracy(graph, images, labels) -> float:
    predictions = [np.argmax(interpret(graph, x[np.newaxis])[graph.outputs[0]]) for x in images]
    return 100.0 * float(np.mean(np.array(predictions) == labels))


@pytest.fixture(scope="module")
def float_accuracy(digits):
    graph, _, x_test, y_test = digits
    return accuracy(graph, x_test, y_test)


@pytest.mark.parametrize("weights,activations,allowed_drop", [("int8", "int8", 1.0),
                                                             ("int4", "int8", 3.0),
                                                             ("int8", "int16", 1.0)])
def test_ptq_accuracy_on_digits(digits, float_accuracy, weights, activations, allowed_drop):
    graph, calibration, x_test, y_test = digits
    quantized = quantize_graph(graph, {"image": calibration}, weights=weights,
                               activations=activations)
    assert float_accuracy > 95.0
    assert accuracy(quantized, x_test, y_test) >= float_accuracy - allowed_drop
