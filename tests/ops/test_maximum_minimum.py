"""MAXIMUM and MINIMUM end to end: int8 (one shared quantization) bit-exact with TFLite Micro
under broadcasting, float against LiteRT, different int8 quantizations refused, the export
round trip, PTQ (inputs and output share one quantization) against TFLM, and the C kernels
against the reference."""

import numpy as np
import pytest

from edgec.errors import EdgecError
from edgec.export import to_tflite_bytes
from edgec.frontends.tflite import load_tflite
from edgec.ir import Tensor, QuantParams, interpret
from tests.lower.harness import check_against_reference, needs_gcc, single_node_graph
from tests.ops import assert_float_matches_litert, float_data
from tests.refs import assert_matches_tflm
from tests.tflite_builder import TFLiteBuilder

OPS = ["MAXIMUM", "MINIMUM"]


def _model(op, a_shape, b_shape, out_shape, q=(0.05, -3), b_q=None):
    b = TFLiteBuilder()

    def t(name, shape, quant):
        if quant is None:
            return b.tensor(name, shape, "float32")
        return b.tensor(name, shape, "int8", scale=quant[0], zero_point=quant[1])
    x, y = t("a", a_shape, q), t("b", b_shape, b_q or q)
    out = t("out", out_shape, q)
    b.op(op, [x, y], [out])
    return b.build(inputs=[x, y], outputs=[out])


def _codes(rng, shape):
    return rng.integers(-128, 128, shape).astype(np.int8)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("shapes", [((2, 3, 8), (2, 3, 8)), ((2, 3, 8), (1, 1, 8)),
                                    ((1, 4, 4, 3), (3,))])
def test_int8_matches_tflm(op, shapes):
    rng = np.random.default_rng(len(shapes[1]))
    a, b = shapes
    out = tuple(np.broadcast_shapes(a, b))
    assert_matches_tflm(_model(op, a, b, out), [_codes(rng, a), _codes(rng, b)])


@pytest.mark.parametrize("op", OPS)
def test_float_matches_litert(op):
    rng = np.random.default_rng(3)
    model = _model(op, (2, 5, 6), (1, 5, 1), (2, 5, 6), q=None)
    assert_float_matches_litert(model, [float_data(rng, (2, 5, 6)), float_data(rng, (1, 5, 1))])


def test_int8_with_different_quantizations_is_refused():
    graph = load_tflite(_model("MAXIMUM", (4,), (4,), (4,), b_q=(0.1, 0)))
    with pytest.raises(EdgecError, match="share one quantization"):
        interpret(graph, [np.zeros(4, np.int8), np.zeros(4, np.int8)])


@pytest.mark.parametrize("op", OPS)
def test_export_round_trips(op):
    graph = load_tflite(_model(op, (2, 8), (2, 8), (2, 8)))
    again = load_tflite(to_tflite_bytes(graph))
    rng = np.random.default_rng(1)
    xs = [_codes(rng, (2, 8)), _codes(rng, (2, 8))]
    assert [n.op for n in again.nodes] == [op]
    np.testing.assert_array_equal(interpret(again, xs)[again.outputs[0]],
                                  interpret(graph, xs)[graph.outputs[0]])


def test_post_training_quantization_shares_one_quantization_and_tflm_agrees():
    from edgec.quantize import quantize_graph

    graph = load_tflite(_model("MAXIMUM", (1, 32), (1, 32), (1, 32), q=None))
    rng = np.random.default_rng(4)
    samples = {n: (rng.standard_normal((8, 1, 32)) * 2).astype(np.float32)
               for n in graph.inputs}
    q = quantize_graph(graph, samples, io="int8")
    node = next(n for n in q.nodes if n.op == "MAXIMUM")
    quants = {(float(q.tensors[t].quant.s), q.tensors[t].quant.zp)
              for t in [*node.inputs, *node.outputs]}
    assert len(quants) == 1
    assert_matches_tflm(to_tflite_bytes(q), [_codes(rng, (1, 32)), _codes(rng, (1, 32))])


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("kernel-cache")


@needs_gcc
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_c_kernel_matches_reference(cache_dir, op, dtype):
    rng = np.random.default_rng(len(op) + len(dtype))
    quant = QuantParams(np.float32(0.05), -3) if dtype == "int8" else None
    graph = single_node_graph(op, [Tensor("a", (2, 3, 7), dtype, quant=quant),
                                   Tensor("b", (1, 3, 1), dtype, quant=quant)],
                              [Tensor("y", (2, 3, 7), dtype, quant=quant)])
    check_against_reference(graph, cache_dir, rng, sanitize=True)
