"""16x8 lowering rules on the host: one single-node graph per int16 rule, the generated C
(with sanitizers) bit-exact against the reference interpreter. The same builders feed the
Cortex-M op grid (``tests/cortexm/op_grid.py``)."""

import numpy as np
import pytest

from edgec.ir import QuantParams, Tensor
from tests.lower.harness import check_against_reference, needs_gcc, single_node_graph

Q015 = QuantParams(np.float32(1 / 32768), 0)


def _q(rng, low=-4.0, high=-2.5) -> QuantParams:
    return QuantParams(np.float32(10 ** rng.uniform(low, high)), 0)


def _conv_like(op: str, rng, weight_zp: int = 0, depth: int = 20, bias_dtype: str = "int64"):
    x_q, y_q = _q(rng), _q(rng, -3.5, -2)
    activation = ["NONE", "RELU", "RELU6"][int(rng.integers(3))]
    if op == "FULLY_CONNECTED":
        x_shape, w_shape, y_shape, axis = (3, depth), (6, depth), (3, 6), 0
        attrs = {"activation": activation}
    else:
        c_out = 6
        x_shape, y_shape = (1, 6, 5, 3), (1, 3, 3, c_out)
        w_shape, axis = ((c_out, 3, 3, 3), 0) if op == "CONV_2D" else ((1, 3, 3, c_out), 3)
        attrs = {"strides": (2, 2), "pads": (1, 1, 1, 1), "activation": activation}
        if op == "DEPTHWISE_CONV_2D":
            attrs["depth_multiplier"] = 2
    channels = 1 if weight_zp else w_shape[axis]  # a weight zero point: per tensor
    w_scale = (10 ** rng.uniform(-3, -1, channels)).astype(np.float32)
    w_q = QuantParams(w_scale, np.full(channels, weight_zp, np.int64), axis) if channels > 1 \
        else QuantParams(w_scale[0], weight_zp)
    w = Tensor("w", w_shape, "int8", data=rng.integers(-127, 128, w_shape).astype(np.int8),
               quant=w_q)
    b = Tensor("b", (y_shape[-1],), bias_dtype,
               data=rng.integers(-(1 << 22), 1 << 22, y_shape[-1]).astype(bias_dtype),
               quant=QuantParams(np.float32(x_q.s) * np.resize(w_scale, y_shape[-1]),
                                 np.zeros(y_shape[-1], np.int64), 0))
    return single_node_graph(op, [Tensor("x", x_shape, "int16", quant=x_q), w, b],
                             [Tensor("y", y_shape, "int16", quant=y_q)], attrs)


def _binary(op: str, rng):
    shapes = [(2, 3, 5), (1, 3, 1)]
    a, b = (Tensor(n, s, "int16", quant=_q(rng)) for n, s in zip("ab", shapes))
    return single_node_graph(op, [a, b], [Tensor("y", (2, 3, 5), "int16", quant=_q(rng))],
                             {"activation": "RELU" if op == "MUL" else "NONE"})


def _pool(op: str, rng):
    q = _q(rng)
    return single_node_graph(op, [Tensor("x", (1, 5, 6, 3), "int16", quant=q)],
                             [Tensor("y", (1, 3, 3, 3), "int16", quant=q)],
                             {"filter": (3, 3), "strides": (2, 2), "pads": (1, 1, 1, 1),
                              "activation": "RELU6"})


def _mean(rng):
    return single_node_graph("MEAN", [Tensor("x", (1, 4, 5, 3), "int16", quant=_q(rng))],
                             [Tensor("y", (1, 3), "int16", quant=_q(rng, -4.5, -3))],
                             {"axes": (1, 2), "keep_dims": False})


def _sum(rng):
    return single_node_graph("SUM", [Tensor("x", (2, 4, 5), "int16", quant=_q(rng))],
                             [Tensor("y", (2, 1, 5), "int16", quant=_q(rng, -3.5, -2))],
                             {"axes": (1,), "keep_dims": True})


def _lut(op: str, scale: float | None, rng):
    q = _q(rng, -4, -2) if scale is None else QuantParams(np.float32(scale), 0)
    return single_node_graph(op, [Tensor("x", (4, 33), "int16", quant=q)],
                             [Tensor("y", (4, 33), "int16", quant=Q015)])


def _softmax(rng):
    return single_node_graph("SOFTMAX", [Tensor("x", (3, 10), "int16", quant=_q(rng, -4, -3))],
                             [Tensor("y", (3, 10), "int16", quant=Q015)], {"beta": 1.0})


def _relu(op: str, rng):
    q = _q(rng, -3.5, -3)
    return single_node_graph(op, [Tensor("x", (3, 11), "int16", quant=q)],
                             [Tensor("y", (3, 11), "int16", quant=_q(rng, -3.5, -3) if op == "RELU" else q)])


def _quantize(src: str, dst: str, rng):
    qs = {"int8": QuantParams(np.float32(0.02), 3), "int16": _q(rng), "float32": None}
    return single_node_graph("QUANTIZE" if dst != "float32" else "DEQUANTIZE",
                             [Tensor("x", (3, 11), src, quant=qs[src])],
                             [Tensor("y", (3, 11), dst, quant=qs[dst])])


# rule -> {label: builder(rng)}: every int16 lowering rule, and float -> int16 QUANTIZE.
GRAPHS = {
    "CONV_2D/int16": {"pad-stride2": lambda rng: _conv_like("CONV_2D", rng),
                      "int32-bias": lambda rng: _conv_like("CONV_2D", rng, bias_dtype="int32")},
    "DEPTHWISE_CONV_2D/int16": {"m2": lambda rng: _conv_like("DEPTHWISE_CONV_2D", rng)},
    "FULLY_CONNECTED/int16": {"per-channel": lambda rng: _conv_like("FULLY_CONNECTED", rng),
                              "weight-zp": lambda rng: _conv_like("FULLY_CONNECTED", rng, 5),
                              # 640 taps: the sums may leave int32, so the kernel sums in int64
                              "int64-sums": lambda rng: _conv_like("FULLY_CONNECTED", rng,
                                                                   depth=640),
                              "int32-bias": lambda rng: _conv_like("FULLY_CONNECTED", rng,
                                                                   bias_dtype="int32")},
    **{f"{op}/int16": {"broadcast": (lambda o: lambda rng: _binary(o, rng))(op)}
       for op in ("ADD", "SUB", "MUL")},
    **{f"{op}/int16": {"pad-relu6": (lambda o: lambda rng: _pool(o, rng))(op)}
       for op in ("AVERAGE_POOL_2D", "MAX_POOL_2D")},
    "MEAN/int16": {"hw": _mean},
    "SUM/int16": {"rows": _sum},
    "LOGISTIC/int16": {"pot": lambda rng: _lut("LOGISTIC", 2.0 ** -12, rng),
                       "scaled": lambda rng: _lut("LOGISTIC", None, rng)},
    "TANH/int16": {"pot-shift1": lambda rng: _lut("TANH", 2.0 ** -11, rng),
                   "scaled": lambda rng: _lut("TANH", None, rng)},
    "SOFTMAX/int16": {"rows": _softmax},
    "RELU/int16": {"rescale": lambda rng: _relu("RELU", rng)},
    "RELU6/int16": {"clamp": lambda rng: _relu("RELU6", rng)},
    "QUANTIZE/int16": {"to-int8": lambda rng: _quantize("int16", "int8", rng),
                       "to-int16": lambda rng: _quantize("int16", "int16", rng)},
    "QUANTIZE/int8": {"to-int16": lambda rng: _quantize("int8", "int16", rng)},
    "QUANTIZE/float32": {"to-int16": lambda rng: _quantize("float32", "int16", rng)},
    "DEQUANTIZE/int16": {"float": lambda rng: _quantize("int16", "float32", rng)},
}
CASES = [(rule, label) for rule, labels in GRAPHS.items() for label in labels]


@needs_gcc
@pytest.mark.parametrize("rule,label", CASES)
def test_matches_reference(cache_dir, rule, label):
    rng = np.random.default_rng(len(rule) * 31 + len(label))
    graph = GRAPHS[rule][label](rng)
    check_against_reference(graph, cache_dir, rng, sanitize=True)
