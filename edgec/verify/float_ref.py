"""``verify --calibrate``: besides checking the C against the quantized graph it compiled (bit
for bit), measure how far the quantized C is from the FLOAT model it came from, so the
quantization error is visible: the worst relative error per output and, for vector outputs,
how often the top-1 index agrees."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgec.ir import Graph, interpret


@dataclass
class FloatComparison:
    max_relative_error: float
    agree: int | None  # samples whose top-1 index matches the float model's (vector outputs)
    samples: int

    def summary(self) -> str:
        text = (f"vs the float model (quantization error): max relative error "
                f"{self.max_relative_error:.3g}")
        if self.agree is not None:
            text += f", top-1 agreement {self.agree}/{self.samples}"
        return text


def _real(graph: Graph, name: str, value: np.ndarray) -> np.ndarray:
    """``value`` of tensor ``name`` as real numbers (dequantized when it is an integer)."""
    quant = graph.tensors[name].quant
    if value.dtype.kind == "f" or quant is None:
        return value.astype(np.float64)
    return (value.astype(np.float64) - float(quant.zero_point[0])) * float(quant.scale[0])


def compare_with_float(float_graph: Graph, quant_graph: Graph, samples: list[list[np.ndarray]],
                       actual: list[list[np.ndarray]]) -> FloatComparison:
    """The C outputs ``actual`` (of ``quant_graph``) against ``float_graph`` on ``samples``
    (inputs of ``quant_graph``, dequantized for the float model when they are integers)."""
    worst, agree, vector = 0.0, 0, True
    for sample, outputs in zip(samples, actual):
        inputs = {}
        for f_name, q_name, x in zip(float_graph.inputs, quant_graph.inputs, sample):
            dtype = float_graph.tensors[f_name].dtype
            inputs[f_name] = _real(quant_graph, q_name, x).astype(dtype)
        expected = interpret(float_graph, inputs)
        for f_name, q_name, got in zip(float_graph.outputs, quant_graph.outputs, outputs):
            e = np.asarray(expected[f_name], np.float64).reshape(-1)
            a = _real(quant_graph, q_name, got).reshape(-1)
            scale = max(float(np.max(np.abs(e), initial=0.0)), np.finfo(np.float32).tiny)
            worst = max(worst, float(np.max(np.abs(e - a), initial=0.0)) / scale)
        e0 = np.asarray(expected[float_graph.outputs[0]]).reshape(-1)
        a0 = _real(quant_graph, quant_graph.outputs[0], outputs[0]).reshape(-1)
        vector = vector and e0.size > 1
        agree += int(np.argmax(e0) == np.argmax(a0))
    return FloatComparison(worst, agree if vector else None, len(samples))
