"""Keras recurrent layers with ``stateful=True``: the TensorFlow converter keeps their state
in resource variables (CALL_ONCE initialising them, VAR_HANDLE, READ_VARIABLE,
ASSIGN_VARIABLE), which edgec imports as IR variables (``edgec/ir/ops/variable.py``), state
kept between calls by the persistent-state mechanism of SVDF and carried LSTM / GRU. The
models (tests/models/recurrent/keras3_{lstm,gru}_stateful_{float,int8}, made by
make_models.py: Keras 3, ``unroll=True``, batch 1; int8 full-integer, which keeps the
variables float with QUANTIZE / DEQUANTIZE around them; ``keras3_lstm_stateful_loop_float``
the default WHILE loop, unrolled at import) are stateful by construction: no
flag. Over a stream of inferences never reset, the reference interpreter equals TFLite
Micro (int8 bit for bit; float within 1e-5) and LiteRT; the generated C on the host equals
the reference and, after ``NAME_reset()``, a fresh start."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from edgec.build import load_graph
from edgec.cli import main
from edgec.errors import EdgecError
from edgec.frontends.tflite import load_tflite
from edgec.frontends.tflite_schema import read_model
from edgec.ir import Graph, Node, Tensor, interpret
from edgec.passes import run_passes
from tests.cortexm.toolchain import needs_qemu
from tests.refs import run_litert_stream, run_tflm_stream
from tests.test_recurrent_state import _edgec_stream, _run_c, _stream

MODELS = Path(__file__).parent / "models" / "recurrent"
NAMES = [f"keras3_{layer}_stateful_{mode}" for layer in ("lstm", "gru")
         for mode in ("float", "int8")] + ["keras3_lstm_stateful_loop_float"]
VARIABLES = {"lstm": 2, "gru": 1}  # LSTM: h and c; GRU: h


def _path(name: str) -> Path:
    return MODELS / f"{name}.tflite"


def test_the_loop_form_reads_before_and_assigns_after_the_while():
    builtins = [op.builtin for op in read_model(_path(NAMES[-1]).read_bytes()).ops]
    assert builtins.index("READ_VARIABLE") < builtins.index("WHILE") < \
        builtins.index("ASSIGN_VARIABLE")
    assert "WHILE" not in {n.op for n in load_tflite(_path(NAMES[-1]).read_bytes()).nodes}


def _close(got, want, int8: bool, what: str):
    if int8:
        np.testing.assert_array_equal(got, want, err_msg=what)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=what)


@pytest.mark.parametrize("name", NAMES)
def test_the_converter_writes_resource_variables_and_edgec_imports_them(name):
    builtins = {op.builtin for op in read_model(_path(name).read_bytes()).ops}
    assert {"CALL_ONCE", "VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE"} <= builtins
    graph = load_tflite(_path(name).read_bytes())
    count = VARIABLES[name.split("_")[1]]
    reads = [n for n in graph.nodes if n.op == "READ_VARIABLE"]
    assigns = [n for n in graph.nodes if n.op == "ASSIGN_VARIABLE"]
    assert len(reads) == len(assigns) == count
    variables = {n.inputs[0] for n in reads}
    assert variables == {n.inputs[0] for n in assigns}
    for v in variables:  # the initial value from CALL_ONCE: zeros, float even in int8
        t = graph.tensors[v]
        assert t.dtype == "float32" and t.shape == (1, 4) and not t.data.any()
    # every read precedes every assignment of its variable
    steps = {id(n): k for k, n in enumerate(graph.nodes)}
    assert max(steps[id(n)] for n in reads) < min(steps[id(n)] for n in assigns)


@pytest.mark.parametrize("name", NAMES)
def test_stream_never_reset_matches_tflm_and_litert(name):
    data, int8 = _path(name).read_bytes(), name.endswith("int8")
    graph = load_graph(_path(name))
    xs = _stream(graph, np.random.default_rng(31), 5)
    got = _edgec_stream(graph, xs)
    tflm = [o[0] for o in run_tflm_stream(data, [[x] for x in xs])]
    for k, (g, w) in enumerate(zip(got, tflm)):
        _close(g, w, int8, f"inference {k} vs TFLite Micro")
    if not int8:  # LiteRT's int8 differs from TFLM's by one in rare places
        litert = [o[0] for o in run_litert_stream(data, [[x] for x in xs])]
        for k, (g, w) in enumerate(zip(got, litert)):
            _close(g, w, False, f"inference {k} vs LiteRT")
    fresh = [interpret(graph, [x])[graph.outputs[0]] for x in xs]
    np.testing.assert_array_equal(fresh[0], got[0])  # the first call starts at the initial
    assert any(not np.array_equal(f, g) for f, g in zip(fresh[1:], got[1:]))  # then carries


def test_tflm_reset_restarts_like_a_fresh_reference():
    data = _path("keras3_lstm_stateful_int8").read_bytes()
    graph = load_graph(_path("keras3_lstm_stateful_int8"))
    xs = _stream(graph, np.random.default_rng(32), 3)
    from tflite_micro.python.tflite_micro import runtime
    from tests.refs import _tflm_arena_size

    interp = runtime.Interpreter.from_bytes(data, arena_size=_tflm_arena_size(data))
    for x in xs:
        interp.set_input(x, 0)
        interp.invoke()
    interp.reset()
    interp.set_input(xs[1], 0)
    interp.invoke()
    np.testing.assert_array_equal(interp.get_output(0),
                                  interpret(graph, [xs[1]])[graph.outputs[0]])


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
@pytest.mark.parametrize("name", ["keras3_lstm_stateful_int8", "keras3_gru_stateful_float"])
def test_generated_c_keeps_the_variables_and_reset_restarts(tmp_path, name):
    graph = load_graph(_path(name))
    int8 = name.endswith("int8")
    xs = _stream(graph, np.random.default_rng(33), 3)
    got = _run_c(tmp_path, _path(name), xs, flags=())
    want = np.stack([w.reshape(-1) for w in _edgec_stream(graph, xs)])
    _close(got[:3], want, int8, "C vs reference stream")
    if int8:
        tflm = run_tflm_stream(_path(name).read_bytes(), [[x] for x in xs])
        np.testing.assert_array_equal(got[:3], np.stack([o[0].reshape(-1) for o in tflm]))
    np.testing.assert_array_equal(got[3], got[0])  # NAME_reset(): a fresh start
    assert not np.array_equal(got[1], got[3])
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["totals"]["state_bytes"] == 16 * VARIABLES[name.split("_")[1]]
    assert "state      " in (tmp_path / "out" / "report.txt").read_text()


def _toy() -> Graph:
    """x + v -> y; v = y: an accumulator."""
    g = Graph(name="acc")
    g.add_tensor(Tensor("x", (1, 2), "float32"))
    g.add_tensor(Tensor("v", (1, 2), "float32", np.array([[1.0, 2.0]], np.float32)))
    for name in ("r", "y", "v_assigned"):
        g.add_tensor(Tensor(name, (1, 2), "float32"))
    g.nodes = [Node("READ_VARIABLE", ["v"], ["r"], name="read"),
               Node("ADD", ["x", "r"], ["y"], name="add"),
               Node("ASSIGN_VARIABLE", ["v", "y"], ["v_assigned"], name="assign")]
    g.inputs, g.outputs = ["x"], ["y"]
    return g


def test_passes_neither_fold_a_read_nor_drop_an_assignment():
    graph = run_passes(_toy())
    assert [n.op for n in graph.nodes] == ["READ_VARIABLE", "ADD", "ASSIGN_VARIABLE"]
    x = np.ones((1, 2), np.float32)
    state: dict = {}
    outs = [interpret(graph, [x], state=state)["y"] for _ in range(3)]
    np.testing.assert_array_equal(np.stack(outs).reshape(3, 2), [[2, 3], [3, 4], [4, 5]])
    np.testing.assert_array_equal(interpret(graph, [x])["y"], [[2, 3]])  # no state: fresh


def test_an_assignment_of_another_shape_is_refused():
    graph = _toy()
    graph.tensors["y2"] = Tensor("y2", (2,), "float32")
    graph.nodes[2].inputs[1] = "y2"
    graph.inputs.append("y2")
    from edgec.ir import check_graph
    with pytest.raises(EdgecError, match="a variable keeps one shape"):
        check_graph(graph)


@needs_qemu
@pytest.mark.slow
def test_cli_verify_stateful_int8_on_mps2_an386(capsys):
    assert main(["verify", str(_path("keras3_lstm_stateful_int8")), "--target", "mps2_an386",
                 "-n", "3"]) == 0
    assert "bit-exact on 3 inputs" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["keras3_gru_stateful_int8", "keras3_lstm_stateful_float"])
def test_export_writes_resource_variables_that_tflm_streams(name):
    """The exported file initialises each variable in a CALL_ONCE subgraph, as the
    converter does; it reads back to the same graph and TFLM keeps its state over a
    stream exactly as the reference."""
    from edgec.export import to_tflite_bytes

    graph = load_graph(_path(name))
    data = to_tflite_bytes(graph)
    model = read_model(data)
    assert model.ops[0].builtin == "CALL_ONCE" and model.subgraph_count == 2
    assert [op.builtin for op in model.subgraphs[1].ops] == \
        ["VAR_HANDLE", "ASSIGN_VARIABLE"] * VARIABLES[name.split("_")[1]]
    again = load_tflite(data)
    assert [n.op for n in again.nodes] == [n.op for n in graph.nodes]
    xs = _stream(graph, np.random.default_rng(34), 3)
    tflm = [o[0] for o in run_tflm_stream(data, [[x] for x in xs])]
    for k, (g, w) in enumerate(zip(_edgec_stream(graph, xs), tflm)):
        _close(g, w, name.endswith("int8"), f"inference {k}")


@pytest.mark.parametrize("layer", ["lstm", "gru"])
def test_edgec_ptq_keeps_the_variables_float_and_tflm_agrees(layer):
    """edgec's PTQ of the float stateful model (calibrated on one stream of windows): the
    variables stay float with QUANTIZE / DEQUANTIZE around them, as the converter writes
    them; over a stream the int8 graph follows the float one, and its export runs bit-exact
    in TFLite Micro (its own state kept between Invokes)."""
    import sys

    from edgec.export import to_tflite_bytes
    from edgec.quantize import quantize_graph

    sys.path.insert(0, str(MODELS))
    from make_models import samples

    graph = load_graph(_path(f"keras3_{layer}_stateful_float"))
    calibration = {graph.inputs[0]: np.concatenate(samples(32, 1))}
    q = run_passes(quantize_graph(graph, calibration, io="int8"))
    variables = {n.inputs[0] for n in q.nodes if n.op in ("READ_VARIABLE", "ASSIGN_VARIABLE")}
    assert len(variables) == VARIABLES[layer]
    assert all(q.tensors[v].dtype == "float32" for v in variables)
    xs_float = samples(6, 5)
    x_q = q.tensors[q.inputs[0]].quant
    xs = [np.clip(np.round(x / x_q.s) + x_q.zp, -128, 127).astype(np.int8) for x in xs_float]
    got = _edgec_stream(q, xs)
    out_q = q.tensors[q.outputs[0]].quant
    want = _edgec_stream(graph, xs_float)
    for g, w in zip(got, want):  # within four output steps of the float stream
        real = (g.astype(np.float32) - out_q.zp) * out_q.s
        assert np.abs(real - w).max() < 4 * out_q.s
    fresh = [interpret(q, [x])[q.outputs[0]] for x in xs]
    assert any(not np.array_equal(f, g) for f, g in zip(fresh[1:], got[1:]))
    tflm = [o[0] for o in run_tflm_stream(to_tflite_bytes(q), [[x] for x in xs])]
    for k, (g, w) in enumerate(zip(got, tflm)):
        np.testing.assert_array_equal(g, w, err_msg=f"inference {k}")


def _variable_model(init: str) -> bytes:
    """x + v -> y, v = y, z = 2 * v (read after the assignment), in resource variables;
    ``init``: "const" (CALL_ONCE assigns a
    constant), "none" (no CALL_ONCE) or "computed" (the initialisation adds two tensors)."""
    from edgec.export.flatbuffer import ModelWriter, TfliteOp, TfliteTensor

    w = ModelWriter()
    zeros = np.zeros((1, 2), np.float32).tobytes()
    shared = {"container": b"", "shared_name": b"acc"}
    if init != "none":
        tensors = [TfliteTensor("zero", (1, 2), "FLOAT32", zeros),
                   TfliteTensor("handle", (), "RESOURCE"), TfliteTensor("sum", (1, 2), "FLOAT32")]
        ops = [TfliteOp("VAR_HANDLE", [], [1], "VarHandleOptions", shared)]
        if init == "computed":
            ops.append(TfliteOp("ADD", [0, 0], [2], "AddOptions", {}))
        ops.append(TfliteOp("ASSIGN_VARIABLE", [1, 2 if init == "computed" else 0], []))
        index = w.add_subgraph("init", tensors, ops)
        w.add_op(TfliteOp("CALL_ONCE", [], [], "CallOnceOptions",
                          {"init_subgraph_index": index}))
    x = w.add_tensor(TfliteTensor("x", (1, 2), "FLOAT32"))
    handle = w.add_tensor(TfliteTensor("acc", (), "RESOURCE"))
    r = w.add_tensor(TfliteTensor("r", (1, 2), "FLOAT32"))
    y = w.add_tensor(TfliteTensor("y", (1, 2), "FLOAT32"))
    w.add_op(TfliteOp("VAR_HANDLE", [], [handle], "VarHandleOptions", shared))
    w.add_op(TfliteOp("READ_VARIABLE", [handle], [r]))
    w.add_op(TfliteOp("ADD", [x, r], [y], "AddOptions", {}))
    w.add_op(TfliteOp("ASSIGN_VARIABLE", [handle, y], []))
    # read again after the assignment: the new value (z = 2 * v)
    r2 = w.add_tensor(TfliteTensor("r2", (1, 2), "FLOAT32"))
    z = w.add_tensor(TfliteTensor("z", (1, 2), "FLOAT32"))
    w.add_op(TfliteOp("READ_VARIABLE", [handle], [r2]))
    w.add_op(TfliteOp("ADD", [r2, r2], [z], "AddOptions", {}))
    return w.build([x], [y, z])


def test_a_handwritten_accumulator_matches_tflm():
    data = _variable_model("const")
    graph = load_tflite(data)
    assert [n.op for n in graph.nodes] == ["READ_VARIABLE", "ADD", "ASSIGN_VARIABLE", "ADD"]
    xs = [np.full((1, 2), k, np.float32) for k in (1, 2, 3)]
    want = run_tflm_stream(data, [[x] for x in xs])
    np.testing.assert_array_equal(np.stack([o[0] for o in want]).reshape(3, 2),
                                  [[1, 1], [3, 3], [6, 6]])
    np.testing.assert_array_equal(np.stack([o[1] for o in want]).reshape(3, 2),
                                  [[2, 2], [6, 6], [12, 12]])
    state: dict = {}
    for x, (y, z) in zip(xs, want):
        got = interpret(graph, [x], state=state)
        np.testing.assert_array_equal(got[graph.outputs[0]], y)
        np.testing.assert_array_equal(got[graph.outputs[1]], z)


@pytest.mark.parametrize("init, message", [
    ("none", "never initialises"), ("computed", "computes an initial value")])
def test_variables_without_a_constant_initial_value_are_refused(tmp_path, init, message):
    data = _variable_model(init)
    with pytest.raises(EdgecError, match=message) as info:
        load_tflite(data)
    assert "stateful=True" in str(info.value) and "\n" not in str(info.value)
    path = tmp_path / "m.tflite"
    path.write_bytes(data)
    assert main(["build", str(path), "-o", str(tmp_path / "out")]) == 2


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
def test_verify_layers_compares_each_tensor_along_the_stream(capsys):
    """``--layers`` dumps every tensor of every sample; the reference it compares with runs
    the samples as one stream too (from the second sample on, the read variable is the
    previous sample's state, not the initial value)."""
    assert main(["verify", str(_path("keras3_gru_stateful_int8")), "-n", "3", "--layers"]) == 0
    assert "intermediate tensors equal the reference on 3 inputs" in capsys.readouterr().out
