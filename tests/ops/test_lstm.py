"""UNIDIRECTIONAL_SEQUENCE_LSTM: int8 bit-exact with TFLite Micro, float within tolerance of
LiteRT, on the converter's models (tests/models/recurrent, made by make_models.py) and on
hand-built ones covering what Keras does not write (time-major, batch 2, cell clipping, cell
state scales on both sides of the hidden tanh's shift, a nonzero hidden zero point)."""

from pathlib import Path

import numpy as np
import pytest

from edgec.errors import EdgecError
from edgec.frontends.tflite import load_tflite
from edgec.ir import interpret
from edgec.ir.ops.lstm import SIGMOID_TABLE, sigmoid_int16, tanh_int16
from tests.refs import run_litert, run_tflm
from tests.tflite_builder import TFLiteBuilder

MODELS = Path(__file__).resolve().parents[1] / "models" / "recurrent"


def model_bytes(name: str) -> bytes:
    return (MODELS / f"{name}.tflite").read_bytes()


def _ours(data: bytes, x: np.ndarray) -> np.ndarray:
    graph = load_tflite(data)
    return interpret(graph, [x])[graph.outputs[0]]


@pytest.mark.parametrize("name", ["lstm_seq", "lstm_classifier"])
def test_converter_int8_lstm_matches_tflm(name):
    data = model_bytes(f"{name}_int8")
    rng = np.random.default_rng(1)
    for _ in range(4):
        x = rng.integers(-128, 128, (1, 8, 3)).astype(np.int8)
        np.testing.assert_array_equal(_ours(data, x), run_tflm(data, [x])[0])


@pytest.mark.parametrize("name", ["lstm_seq", "lstm_classifier"])
def test_converter_float_lstm_matches_litert(name):
    data = model_bytes(f"{name}_float")
    rng = np.random.default_rng(2)
    for _ in range(3):
        x = (2 * rng.standard_normal((1, 8, 3))).astype(np.float32)
        np.testing.assert_allclose(_ours(data, x), run_litert(data, [x])[0],
                                   rtol=1e-5, atol=1e-6)


def build_lstm(rng, *, steps=5, batch=1, features=4, hidden=5, time_major=False,
               cell_scale=2.0 ** -11, cell_clip=0.0, dtype="int8", h_zp=-3,
               x_scale=0.05, h_scale=1 / 128, w_scale=(0.003, 0.02)) -> bytes:
    """One UNIDIRECTIONAL_SEQUENCE_LSTM with random weights, state tensors variable; int8,
    int16 (16x8: int16 activations with zero point 0, int64 biases) or float32."""
    b = TFLiteBuilder()
    shape = (steps, batch, features) if time_major else (batch, steps, features)
    out_shape = shape[:2] + (hidden,)
    q = dtype != "float32"
    wide = dtype == "int16"
    x_zp, h_zp = (0, 0) if wide else (4, h_zp)
    x = b.tensor("x", shape, dtype, scale=x_scale if q else None, zero_point=x_zp if q else None)
    weights = []
    for k in range(8):
        cols = features if k < 4 else hidden
        if q:
            scale = float(rng.uniform(*w_scale))
            data = rng.integers(-127, 128, (hidden, cols))
            weights.append(b.tensor(f"w{k}", (hidden, cols), "int8", data=data, scale=scale))
        else:
            weights.append(b.tensor(f"w{k}", (hidden, cols), "float32",
                                    data=rng.uniform(-0.6, 0.6, (hidden, cols))))
    biases = []
    for k in range(4):
        if q:
            span = 3000 * 256 if wide else 3000
            data = rng.integers(-span, span, hidden)
            biases.append(b.tensor(f"b{k}", (hidden,), "int64" if wide else "int32", data=data,
                                   scale=x_scale * 0.01))
        else:
            biases.append(b.tensor(f"b{k}", (hidden,), "float32",
                                   data=rng.uniform(-0.5, 0.5, hidden)))
    h = b.tensor("h", (batch, hidden), dtype, scale=h_scale if q else None,
                 zero_point=h_zp if q else None, is_variable=True)
    c = b.tensor("c", (batch, hidden), "int16" if q else "float32",
                 scale=cell_scale if q else None, zero_point=0 if q else None, is_variable=True)
    y = b.tensor("y", out_shape, dtype, scale=h_scale if q else None,
                 zero_point=h_zp if q else None)
    ins = [x, *weights, -1, -1, -1, *biases, -1, -1, h, c, -1, -1, -1, -1]
    b.op("UNIDIRECTIONAL_SEQUENCE_LSTM", ins, [y], fused_activation_function="TANH",
         cell_clip=cell_clip, proj_clip=0.0, time_major=time_major)
    return b.build(inputs=[x], outputs=[y])


BUILT = [
    dict(),  # cell 2**-11: the hidden tanh shifts left by 1
    dict(cell_scale=2.0 ** -15, time_major=True, batch=2),  # right shift by 3
    dict(cell_scale=2.0 ** -14, cell_clip=0.6, steps=7),  # clipping bites
    dict(cell_scale=2.0 ** -12, batch=2, h_zp=20),
]


@pytest.mark.parametrize("case", range(len(BUILT)))
def test_built_int8_lstm_matches_tflm(case):
    rng = np.random.default_rng(10 + case)
    data = build_lstm(rng, **BUILT[case])
    graph = load_tflite(data)
    shape = graph.tensors[graph.inputs[0]].shape
    for _ in range(3):
        x = rng.integers(-128, 128, shape).astype(np.int8)
        np.testing.assert_array_equal(interpret(graph, [x])[graph.outputs[0]],
                                      run_tflm(data, [x])[0])


# 16x8: int16 input (several scales), int16 hidden state (1/32768 as the PTQ picks for
# |h| < 1, or coarser), int64 biases, cell scales on both sides of the hidden tanh's shift,
# clipping, time-major batches. The int64 requantization (16-bit multiplier, one rounding)
# differs from int8's int32 one in the last bit often enough that these cases tell them apart.
BUILT_16X8 = [
    dict(x_scale=2.0 ** -12, h_scale=1 / 32768),
    dict(x_scale=2.5e-4, h_scale=1 / 32768, cell_scale=2.0 ** -15, time_major=True, batch=2),
    dict(x_scale=1e-3, h_scale=3e-5, cell_scale=2.0 ** -14, cell_clip=0.6, steps=7),
    dict(x_scale=3e-4, h_scale=1 / 16384, cell_scale=2.0 ** -12, batch=2, features=40,
         hidden=12, w_scale=(0.01, 0.05)),
    # 1100 features: an input sum could leave int32, so the C sums those in int64 as TFLM
    dict(x_scale=1e-5, h_scale=1 / 32768, features=1100, hidden=3, steps=3,
         w_scale=(0.001, 0.002)),
]


@pytest.mark.parametrize("case", range(len(BUILT_16X8)))
def test_built_16x8_lstm_matches_tflm(case):
    rng = np.random.default_rng(40 + case)
    data = build_lstm(rng, dtype="int16", **BUILT_16X8[case])
    graph = load_tflite(data)
    shape = graph.tensors[graph.inputs[0]].shape
    for k in range(8):
        span = 32768 if k % 2 else 4096  # full range, and small signals
        x = rng.integers(-span, span, shape).astype(np.int16)
        np.testing.assert_array_equal(interpret(graph, [x])[graph.outputs[0]],
                                      run_tflm(data, [x])[0])


def test_16x8_lstm_with_int32_biases_is_refused():
    """TFLM reads a 16x8 LSTM's biases as int64 whatever their type: int32 ones are refused."""
    rng = np.random.default_rng(5)
    graph = load_tflite(build_lstm(rng, dtype="int16", x_scale=2.0 ** -12, h_scale=1 / 32768))
    node = graph.nodes[0]
    for name in node.inputs[9:13]:
        t = graph.tensors[name]
        t.data, t.dtype = t.data.astype(np.int32), "int32"
    x = np.zeros(graph.tensors[graph.inputs[0]].shape, np.int16)
    with pytest.raises(EdgecError, match="int64 biases"):
        interpret(graph, [x])


@pytest.mark.parametrize("time_major", [False, True])
def test_built_float_lstm_matches_litert(time_major):
    rng = np.random.default_rng(3)
    data = build_lstm(rng, dtype="float32", time_major=time_major, batch=2, cell_clip=0.8)
    graph = load_tflite(data)
    x = rng.standard_normal(graph.tensors[graph.inputs[0]].shape).astype(np.float32)
    np.testing.assert_allclose(interpret(graph, [x])[graph.outputs[0]],
                               run_litert(data, [x])[0], rtol=1e-5, atol=1e-6)


def test_int16_activations_cover_saturation_and_both_signs():
    x = np.array([-32768, -4097, -1, 0, 1, 4096, 32767], np.int64)
    s, t = sigmoid_int16(x), tanh_int16(x)
    assert s[3] == 16384 and s[-1] == 32757 and s[0] == 11
    assert t[3] == 0 and t[-1] == 32767 and t[0] == -32767
    assert np.all(np.diff(s.astype(int)) >= 0) and np.all(np.diff(t.astype(int)) >= 0)
    assert SIGMOID_TABLE[0] == 32768 and SIGMOID_TABLE[4] == 35493 and SIGMOID_TABLE[-1] == 65535


def test_peephole_lstm_is_refused_naming_it():
    rng = np.random.default_rng(4)
    data = bytearray(build_lstm(rng))
    graph_ok = load_tflite(bytes(data))  # the plain one imports
    assert graph_ok.nodes[0].op == "UNIDIRECTIONAL_SEQUENCE_LSTM"
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 2, 2), "float32")
    w = [b.tensor(f"w{k}", (2, 2), "float32", data=np.ones((2, 2))) for k in range(8)]
    p = b.tensor("p", (2,), "float32", data=np.ones(2))
    bias = [b.tensor(f"b{k}", (2,), "float32", data=np.zeros(2)) for k in range(4)]
    h = b.tensor("h", (1, 2), "float32", is_variable=True)
    c = b.tensor("c", (1, 2), "float32", is_variable=True)
    y = b.tensor("y", (1, 2, 2), "float32")
    b.op("UNIDIRECTIONAL_SEQUENCE_LSTM", [x, *w, p, p, p, *bias, -1, -1, h, c, -1, -1, -1, -1],
         [y], fused_activation_function="TANH")
    with pytest.raises(EdgecError, match="peephole"):
        load_tflite(b.build(inputs=[x], outputs=[y]))


def test_exported_lstm_runs_the_same_in_tflm():
    from edgec.export.writer import export_graph

    data = model_bytes("lstm_seq_int8")
    again = export_graph(load_tflite(data))
    x = np.random.default_rng(6).integers(-128, 128, (1, 8, 3)).astype(np.int8)
    np.testing.assert_array_equal(run_tflm(again, [x])[0], run_tflm(data, [x])[0])
