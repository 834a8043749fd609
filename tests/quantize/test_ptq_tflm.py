"""TFLite Micro judges the quantizer: edgec's PTQ output, exported to .tflite, must run in
TFLM with exactly the outputs edgec's interpreter computes on the same graph."""

import numpy as np
import pytest

from edgec.errors import EdgecError
from edgec.export import to_tflite_bytes
from edgec.frontends.tflite import load_tflite
from edgec.ir import interpret
from edgec.quantize import quantize_graph
from edgec.quantize.params import quantize_array
from tests.quantize.float_graphs import FloatGraphBuilder, calibration_inputs, many_ops_graph
from tests.refs import describe_mismatch, run_tflm


@pytest.fixture(scope="module")
def float_graph():
    return many_ops_graph()


def assert_tflm_agrees(graph, samples: np.ndarray) -> None:
    """Every output of ``graph`` equals TFLM's on the exported bytes, for every sample."""
    exported = to_tflite_bytes(graph)
    in_q = graph.tensors[graph.inputs[0]].quant
    for x in samples:
        x = x if in_q is None else quantize_array(x, in_q)
        expected = interpret(graph, x)
        for name, actual in zip(graph.outputs, run_tflm(exported, [x])):
            assert describe_mismatch(expected[name], actual, name) is None


@pytest.mark.parametrize("io", ["float", "int8"])
@pytest.mark.parametrize("observer", ["minmax", "percentile"])
def test_int8_ptq_is_bit_exact_in_tflm(float_graph, io, observer):
    graph = quantize_graph(float_graph, calibration_inputs(float_graph, 24, seed=0),
                           observer=observer, percentile=99.9, io=io)
    assert_tflm_agrees(graph, calibration_inputs(float_graph, 6, seed=1)["x"])


def test_int4_weights_are_bit_exact_in_tflm(float_graph):
    graph = quantize_graph(float_graph, calibration_inputs(float_graph, 24, seed=0),
                           weights="int4")
    weights = [graph.tensors[n.inputs[1]] for n in graph.nodes
               if n.op in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")]
    assert {w.dtype for w in weights} == {"int4"}
    assert all(-7 <= w.data.min() and w.data.max() <= 7 for w in weights)
    assert_tflm_agrees(graph, calibration_inputs(float_graph, 6, seed=1)["x"])


def test_int4_weights_halve_the_weight_bytes_in_the_file(float_graph):
    calibration = calibration_inputs(float_graph, 8, seed=0)
    int8 = quantize_graph(float_graph, calibration)
    int4 = quantize_graph(float_graph, calibration, weights="int4")
    names = [n.inputs[1] for n in int8.nodes if n.op in ("CONV_2D", "DEPTHWISE_CONV_2D",
                                                         "FULLY_CONNECTED")]
    before = sum(int8.tensors[n].nbytes for n in names)
    after = sum(int4.tensors[n].nbytes for n in names)
    assert after == sum((int8.tensors[n].size + 1) // 2 for n in names)
    assert len(to_tflite_bytes(int8)) - len(to_tflite_bytes(int4)) >= before - after


def test_int4_export_reads_back_as_packed_int4_in_tflm_order(float_graph):
    graph = quantize_graph(float_graph, calibration_inputs(float_graph, 8, seed=0),
                           weights="int4", int4_ops=["CONV_2D"])
    from edgec.frontends.tflite_schema import read_model

    exported = to_tflite_bytes(graph)
    tensors = {t.name: t for t in read_model(exported).tensors}
    assert tensors["w1"].type_name == "INT4" and tensors["wd"].type_name == "INT8"
    reloaded = load_tflite(exported)
    assert reloaded.tensors["w1"].dtype == "int4"
    assert np.array_equal(reloaded.tensors["w1"].data, graph.tensors["w1"].data)


def test_fixed_and_shared_output_quantization(float_graph):
    graph = quantize_graph(float_graph, calibration_inputs(float_graph, 8, seed=0), io="int8")
    t = graph.tensors
    assert (t["out"].quant.s, t["out"].quant.zp) == (1 / 256, -128)
    assert (t["lg"].quant.s, t["lg"].quant.zp) == (1 / 256, -128)
    assert (t["th"].quant.s, t["th"].quant.zp) == (1 / 128, 0)
    for same in ("p", "xp", "flat"):
        producer = graph.producers()[same]
        assert t[same].quant == t[producer.inputs[0]].quant
    for concat in ("cat", "cat2"):
        node = graph.producers()[concat]
        assert all(t[i].quant == t[concat].quant for i in node.inputs)
    # The bias scale is input scale x weight scale, per channel.
    conv = graph.producers()["c1"]
    np.testing.assert_allclose(t[conv.inputs[2]].quant.scale,
                               t[conv.inputs[0]].quant.s * t[conv.inputs[1]].quant.scale,
                               rtol=1e-6)


def test_float_io_keeps_the_model_interface(float_graph):
    graph = quantize_graph(float_graph, calibration_inputs(float_graph, 8, seed=0))
    assert graph.inputs == float_graph.inputs and graph.outputs == float_graph.outputs
    assert [graph.tensors[n].dtype for n in graph.inputs + graph.outputs] == ["float32"] * 3
    assert (graph.nodes[0].op, graph.nodes[-1].op) == ("QUANTIZE", "DEQUANTIZE")


def test_quantized_export_round_trips_through_the_frontend(float_graph):
    graph = quantize_graph(float_graph, calibration_inputs(float_graph, 8, seed=0), io="int8")
    reloaded = load_tflite(to_tflite_bytes(graph))
    x = quantize_array(calibration_inputs(float_graph, 1, seed=3)["x"][0],
                       graph.tensors["x"].quant)
    for name in graph.outputs:
        assert np.array_equal(interpret(graph, x)[name], interpret(reloaded, x)[name])


def test_pad_value_is_quantized():
    b = FloatGraphBuilder("pad")
    x = b.input("x", (1, 3, 3, 1))
    y = b.node("PAD", [x], "y", pads=((0, 0), (1, 1), (1, 1), (0, 0)), value=0.5)
    graph = quantize_graph(b.finish(y), {"x": np.linspace(-1, 1, 18).reshape(2, 1, 3, 3, 1)
                                         .astype(np.float32)}, io="int8")
    q = graph.tensors["x"].quant
    assert graph.nodes[0].attrs["value"] == round(0.5 / q.s) + q.zp
    assert_tflm_agrees(graph, np.zeros((1, 1, 3, 3, 1), np.float32))


def test_already_quantized_model_is_refused(float_graph):
    graph = quantize_graph(float_graph, calibration_inputs(float_graph, 4, seed=0))
    with pytest.raises(EdgecError, match="already"):
        quantize_graph(graph, calibration_inputs(float_graph, 4, seed=0))


def test_int4_for_an_op_without_int4_kernel_is_refused(float_graph):
    with pytest.raises(EdgecError, match=r"no int4 kernel for op\(s\) \['ADD'\]"):
        quantize_graph(float_graph, calibration_inputs(float_graph, 2, seed=0),
                       weights="int4", int4_ops=["CONV_2D", "ADD"])


def test_unknown_observer_is_refused(float_graph):
    with pytest.raises(EdgecError, match="unknown observer 'kl'"):
        quantize_graph(float_graph, calibration_inputs(float_graph, 2, seed=0), observer="kl")


@pytest.mark.parametrize("io", ["float", "int8"])
def test_int16_ptq_is_16x8_and_bit_exact_in_tflm(float_graph, io):
    """--activations int16: TFLite's 16x8 model (int16 activations with zero point 0, int8
    weights, int64 biases), bit-exact in TFLM like the int8 one."""
    graph = quantize_graph(float_graph, calibration_inputs(float_graph, 24, seed=0), io=io,
                           activations="int16")
    for node in graph.nodes:
        y = graph.tensors[node.outputs[0]]
        if y.dtype != "float32":
            assert (y.dtype, y.quant.zp) == ("int16", 0), node.name
        if node.op in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED") and node.inputs[2:3] \
                and node.inputs[2]:
            assert graph.tensors[node.inputs[2]].dtype == "int64"
            assert graph.tensors[node.inputs[1]].dtype == "int8"
    samples = calibration_inputs(float_graph, 6, seed=1)["x"]
    if io == "int8":  # integer I/O: the int16 tensors themselves
        samples = [quantize_array(x, graph.tensors[graph.inputs[0]].quant, "int16")
                   for x in samples]
        exported = to_tflite_bytes(graph)
        for x in samples:
            expected = interpret(graph, x)
            for name, actual in zip(graph.outputs, run_tflm(exported, [x])):
                assert describe_mismatch(expected[name], actual, name) is None
        return
    assert_tflm_agrees(graph, samples)


def test_int16_activations_need_int8_weights(float_graph):
    with pytest.raises(EdgecError, match="16x8"):
        quantize_graph(float_graph, calibration_inputs(float_graph, 4, seed=0), weights="int4",
                       activations="int16")
