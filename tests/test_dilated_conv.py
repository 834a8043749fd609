"""The dilated-convolution pass: SPACE_TO_BATCH_ND -> conv -> BATCH_TO_SPACE_ND becomes one
convolution with dilations, computing the same numbers as the three ops it replaces."""

import numpy as np
import pytest

from edgec.frontends.tflite import load_tflite
from edgec.ir import interpret
from edgec.passes import PIPELINE, run_passes
from edgec.passes.dilated_conv import fold_dilated_conv
from tests.refs import describe_mismatch, run_litert, run_tflm
from tests.tflite_builder import TFLiteBuilder

BLOCK = 2


def _pattern(h, w, pads, crops, conv_pad="VALID", depthwise=False, zero_point=-20, seed=0):
    """x -> SPACE_TO_BATCH_ND(2x2, pads) -> 3x3 conv -> BATCH_TO_SPACE_ND(2x2, crops) -> y."""
    rng = np.random.default_rng(seed)
    b = TFLiteBuilder()
    x = b.tensor("x", (1, h, w, 3), "int8", scale=0.05, zero_point=zero_point)
    hp, wp = h + sum(pads[0]), w + sum(pads[1])
    s = b.tensor("s", (BLOCK * BLOCK, hp // 2, wp // 2, 3), "int8", scale=0.05,
                 zero_point=zero_point)
    oc = 3 if depthwise else 4
    ph, pw = (hp // 2 - 2, wp // 2 - 2) if conv_pad == "VALID" else (hp // 2, wp // 2)
    c = b.tensor("c", (BLOCK * BLOCK, ph, pw, oc), "int8", scale=0.1, zero_point=5)
    y = b.tensor("y", (1, 2 * ph - sum(crops[0]), 2 * pw - sum(crops[1]), oc), "int8",
                 scale=0.1, zero_point=5)
    w_shape = (1, 3, 3, oc) if depthwise else (oc, 3, 3, 3)
    w_scales = rng.uniform(0.01, 0.02, oc)
    wt = b.tensor("w", w_shape, "int8", data=rng.integers(-127, 128, w_shape), scale=w_scales,
                  quantized_dimension=3 if depthwise else 0)
    bias = b.tensor("b", (oc,), "int32", data=rng.integers(-500, 500, oc),
                    scale=0.05 * w_scales)
    b.op("SPACE_TO_BATCH_ND", [x, b.const("block", [BLOCK, BLOCK]), b.const("pads", pads)], [s])
    if depthwise:
        b.op("DEPTHWISE_CONV_2D", [s, wt, bias], [c], padding=conv_pad, stride_w=1, stride_h=1,
             depth_multiplier=1, fused_activation_function="RELU")
    else:
        b.op("CONV_2D", [s, wt, bias], [c], padding=conv_pad, stride_w=1, stride_h=1,
             fused_activation_function="NONE")
    b.op("BATCH_TO_SPACE_ND", [c, b.const("block2", [BLOCK, BLOCK]), b.const("crops", crops)],
         [y])
    return b.build(inputs=[x], outputs=[y])


CASES = {
    # TF's SAME dilated 3x3 on 12x12: pad 2 each side, no crops.
    "same_12x12": dict(h=12, w=12, pads=[[2, 2], [2, 2]], crops=[[0, 0], [0, 0]]),
    # Odd sizes: extra padding at the end, cropped off again.
    "odd_11x9": dict(h=11, w=9, pads=[[2, 3], [2, 3]], crops=[[0, 1], [0, 1]]),
    # Depthwise whose own padding is SAME: the conv pads scale with the block.
    "depthwise_conv_pads": dict(h=12, w=12, pads=[[2, 2], [2, 2]], crops=[[0, 0], [0, 0]],
                                conv_pad="SAME", depthwise=True),
}


def _folded(model: bytes):
    """The model as imported (the frontend keeps the pattern), then the pass."""
    return run_passes(load_tflite(model), ["dilated_conv"])


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_pass_folds_the_pattern_and_keeps_the_numbers(case):
    model = _pattern(**CASES[case])
    before = load_tflite(model)
    after = _folded(model)
    assert [n.op for n in before.nodes][0] == "SPACE_TO_BATCH_ND"
    assert len(after.nodes) == 1 and after.nodes[0].attrs["dilations"] == (BLOCK, BLOCK)
    assert after.nodes[0].attrs["strides"] == (1, 1)
    rng = np.random.default_rng(7)
    for _ in range(3):
        x = rng.integers(-128, 128, before.tensors["x"].shape).astype(np.int8)
        expected = interpret(before, [x])["y"]
        assert describe_mismatch(expected, interpret(after, [x])["y"], case) is None
        # LiteRT's reference kernels pad space-to-batch with the zero point, as TFLite means.
        assert describe_mismatch(run_litert(model, [x])[0], expected, "litert") is None


def test_expected_pads_of_tf_same_dilated_conv():
    after = _folded(_pattern(**CASES["same_12x12"]))
    assert after.nodes[0].attrs["pads"] == (2, 2, 2, 2)
    after = _folded(_pattern(**CASES["depthwise_conv_pads"]))
    assert after.nodes[0].attrs["pads"] == (4, 4, 4, 4)
    assert after.nodes[0].op == "DEPTHWISE_CONV_2D"


def _interior(graph, shape):
    """Output positions of the folded convolution whose taps all read real input pixels."""
    node = graph.nodes[0]
    top, left, _, _ = node.attrs["pads"]
    kh, kw = graph.tensors[node.inputs[1]].shape[1:3]
    dh, dw = node.attrs["dilations"]
    _, h, w, _ = graph.tensors[node.inputs[0]].shape
    rows = np.arange(shape[1])
    cols = np.arange(shape[2])
    ok_r = (rows - top >= 0) & (rows - top + (kh - 1) * dh < h)
    ok_c = (cols - left >= 0) & (cols - left + (kw - 1) * dw < w)
    return ok_r[:, None] & ok_c[None, :]


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_matches_tflm_away_from_the_padding(case):
    # TFLM's int8 SPACE_TO_BATCH_ND leaves padded elements unwritten (arena garbage), so it is
    # the reference only where no tap reads padding; LiteRT decides the rest (test above).
    model = _pattern(**CASES[case])
    graph = _folded(model)
    rng = np.random.default_rng(8)
    x = rng.integers(-128, 128, graph.tensors["x"].shape).astype(np.int8)
    (tflm,) = run_tflm(model, [x])
    ours = interpret(graph, [x])["y"]
    mask = _interior(graph, ours.shape)
    assert mask.any()
    assert describe_mismatch(tflm[:, mask], ours[:, mask], case) is None


def test_pass_does_not_mutate_its_input_and_is_idempotent():
    before = load_tflite(_pattern(**CASES["odd_11x9"]))
    ops = [n.op for n in before.nodes]
    once = fold_dilated_conv(before)
    assert [n.op for n in before.nodes] == ops
    twice = fold_dilated_conv(once)
    assert [(n.op, n.inputs, n.outputs, n.attrs) for n in twice.nodes] == \
        [(n.op, n.inputs, n.outputs, n.attrs) for n in once.nodes]


def test_strided_conv_between_is_left_alone():
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 8, 8, 1), "float32")
    s = b.tensor("s", (4, 4, 4, 1), "float32")
    c = b.tensor("c", (4, 2, 2, 1), "float32")
    y = b.tensor("y", (1, 4, 4, 1), "float32")
    w = b.tensor("w", (1, 1, 1, 1), "float32", data=[[[[2.0]]]])
    bias = b.tensor("bias", (1,), "float32", data=[0.5])
    b.op("SPACE_TO_BATCH_ND", [x, b.const("bs", [2, 2]), b.const("p", [[0, 0], [0, 0]])], [s])
    b.op("CONV_2D", [s, w, bias], [c], padding="VALID", stride_w=2, stride_h=2)
    b.op("BATCH_TO_SPACE_ND", [c, b.const("bs2", [2, 2]), b.const("cr", [[0, 0], [0, 0]])], [y])
    model = b.build(inputs=[x], outputs=[y])
    graph = _folded(model)
    assert [n.op for n in graph.nodes] == ["SPACE_TO_BATCH_ND", "CONV_2D", "BATCH_TO_SPACE_ND"]
    xv = np.random.default_rng(9).standard_normal((1, 8, 8, 1)).astype(np.float32)
    np.testing.assert_allclose(interpret(graph, [xv])["y"], run_litert(model, [xv])[0],
                               rtol=1e-5)


def test_run_passes_by_name():
    graph = load_tflite(_pattern(**CASES["same_12x12"]))
    assert [name for name, _ in PIPELINE][0] == "dilated_conv"
    assert len(run_passes(graph).nodes) == 1
    assert len(run_passes(graph, ["dilated_conv"]).nodes) == 1
    assert len(run_passes(graph, []).nodes) == 3
    from edgec.errors import EdgecError
    with pytest.raises(EdgecError, match="unknown pass"):
        run_passes(graph, ["no_such_pass"])
