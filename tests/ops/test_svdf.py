"""SVDF: int8 bit-exact with TFLite Micro and float within tolerance of it, over consecutive
inferences of one interpreter (the state persists, as in edgec's reference with a state dict
and in its generated C); int16 and int8 state, rank 1 and 2, with and without bias."""

import numpy as np
import pytest

from edgec.frontends.tflite import load_tflite
from edgec.ir import interpret
from tests.refs import _tflm_arena_size
from tests.tflite_builder import TFLiteBuilder


def build_svdf(rng, *, batch=1, features=6, filters=8, memory=5, rank=2, dtype="int8",
               state_dtype="int16", bias=True, activation="NONE") -> bytes:
    b = TFLiteBuilder()
    units = filters // rank
    q = dtype == "int8"
    x = b.tensor("x", (batch, features), dtype, scale=0.04 if q else None,
                 zero_point=-7 if q else None)
    if q:
        wt_scale, st_scale = float(rng.uniform(1e-4, 4e-4)), float(rng.uniform(0.01, 0.03))
        st_zp = 0 if state_dtype == "int16" else 3
        wf = b.tensor("wf", (filters, features), "int8", scale=float(rng.uniform(0.005, 0.02)),
                      data=rng.integers(-127, 128, (filters, features)))
        info = np.iinfo(state_dtype)
        wt = b.tensor("wt", (filters, memory), state_dtype, scale=wt_scale,
                      data=rng.integers(info.min + 1, info.max + 1, (filters, memory)))
        bias_t = b.tensor("bias", (units,), "int32", scale=st_scale * wt_scale,
                          data=rng.integers(-20000, 20000, units)) if bias else -1
        state = b.tensor("state", (batch, memory * filters), state_dtype, scale=st_scale,
                         zero_point=st_zp, is_variable=True)
        y = b.tensor("y", (batch, units), "int8", scale=0.05, zero_point=2)
    else:
        wf = b.tensor("wf", (filters, features), "float32",
                      data=rng.uniform(-0.5, 0.5, (filters, features)))
        wt = b.tensor("wt", (filters, memory), "float32",
                      data=rng.uniform(-0.5, 0.5, (filters, memory)))
        bias_t = b.tensor("bias", (units,), "float32", data=rng.uniform(-0.3, 0.3, units))
        state = b.tensor("state", (batch, memory * filters), "float32", is_variable=True)
        y = b.tensor("y", (batch, units), "float32")
    b.op("SVDF", [x, wf, wt, bias_t, state], [y], rank=rank,
         fused_activation_function=activation)
    return b.build(inputs=[x], outputs=[y])


def tflm_stream(data: bytes, xs) -> list[np.ndarray]:
    """Consecutive inferences of one TFLM interpreter: its variable tensors persist."""
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(bytes(data), arena_size=_tflm_arena_size(data))
    outs = []
    for x in xs:
        interp.set_input(np.ascontiguousarray(x), 0)
        interp.invoke()
        outs.append(np.array(interp.get_output(0), copy=True))
    return outs


def edgec_stream(data: bytes, xs) -> list[np.ndarray]:
    graph = load_tflite(data)
    state = {}
    return [interpret(graph, [x], state=state)[graph.outputs[0]] for x in xs]


CASES = [dict(), dict(state_dtype="int8", rank=1, batch=2), dict(memory=3, batch=2),
         dict(rank=4, filters=8, features=3)]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_int8_svdf_stream_matches_tflm(case):
    rng = np.random.default_rng(30 + case)
    data = build_svdf(rng, **CASES[case])
    shape = load_tflite(data).tensors["x"].shape
    xs = [rng.integers(-128, 128, shape).astype(np.int8) for _ in range(7)]
    want = tflm_stream(data, xs)
    got = edgec_stream(data, xs)
    for step, (g, w) in enumerate(zip(got, want)):
        np.testing.assert_array_equal(g, w, err_msg=f"inference {step}")
    # The state matters: a fresh start gives another answer for the last input.
    graph = load_tflite(data)
    assert not np.array_equal(interpret(graph, [xs[-1]])[graph.outputs[0]], want[-1])


@pytest.mark.parametrize("activation", ["NONE", "RELU"])
def test_float_svdf_stream_matches_tflm(activation):
    rng = np.random.default_rng(4)
    data = build_svdf(rng, dtype="float32", activation=activation, batch=2)
    xs = [rng.standard_normal((2, 6)).astype(np.float32) for _ in range(6)]
    for g, w in zip(edgec_stream(data, xs), tflm_stream(data, xs)):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_exported_svdf_streams_the_same_in_tflm():
    from edgec.export.writer import export_graph

    rng = np.random.default_rng(8)
    data = build_svdf(rng)
    xs = [rng.integers(-128, 128, (1, 6)).astype(np.int8) for _ in range(4)]
    again = export_graph(load_tflite(data))
    for a, b in zip(tflm_stream(again, xs), tflm_stream(data, xs)):
        np.testing.assert_array_equal(a, b)
