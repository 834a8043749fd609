"""DSP (Cortex-M4) variants of 16x8 CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED
(``edgec/lower/dsp/int16.py``).

The variants' C runs on the host through the plain-C intrinsics inside the emitted model and
must equal ``edgec.ir.interpret`` bit for bit, in both ``--optimize`` modes, on random
geometries and scales and on the corners of the requantization (the exact form: large
multipliers, huge biases) and of the accumulation (sums that leave int32: chunked). The
Cortex-M4 compile of the same C (real intrinsics and asm) is checked warning-free.
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from edgec.ir import QuantParams, Tensor
from edgec.ir.ops._window import window_output_shape
from edgec.lower.dsp import elementwise16, int16
from tests.lower.harness import needs_gcc, single_node_graph
from tests.lower.test_dsp_kernels import (ARM_FLAGS, CONV_GEOMETRIES, DEPTHWISE_GEOMETRIES,
                                          DSP_TARGET, FC_GEOMETRIES, MODES, _emit,
                                          check_dsp_on_host)

# "": random scales; "big": a real multiplier near 1 (total shift below 16: the exact
# form); "bias": int64 biases near 2**40 (exact form: the fast sum could leave int64 for
# some channels); "tiny": outputs saturate (a multiplier that big takes the exact form too);
# "huge": a real multiplier below 2**-17 (total shift above 32: the fast form's extra shift).
CORNERS = ["", "big", "bias", "tiny", "huge"]


def _q(scale: float) -> QuantParams:
    return QuantParams(np.float32(scale), 0)


def _scales(rng, corner: str, fan_in: int):
    x_s = float(10 ** rng.uniform(-4, -3))
    w_s = (10 ** rng.uniform(-3, -1.5, 1)).astype(np.float32)
    y_s = x_s * float(w_s[0]) * np.sqrt(fan_in) * 40 * float(rng.uniform(0.5, 2))
    if corner == "big":
        y_s = x_s * float(w_s[0]) * 0.7
    elif corner == "tiny":
        y_s *= 1e-3
    elif corner == "huge":
        y_s *= 1e4
    return x_s, y_s


def _weights(rng, shape, axis: int, w_s0: float, per_channel: bool = True) -> Tensor:
    n = shape[axis] if per_channel else 1
    scales = (w_s0 * rng.uniform(0.5, 2, n)).astype(np.float32)
    q = QuantParams(scales, np.zeros(n, np.int64), axis) if per_channel \
        else QuantParams(scales[0], 0)
    return Tensor("w", shape, "int8", rng.integers(-127, 128, shape).astype(np.int8), q)


def _bias(rng, n: int, corner: str, x_s: float, w: Tensor) -> Tensor:
    if corner == "bias":
        data = rng.choice([-1, 1], n) * (1 << 40) + rng.integers(-1000, 1000, n)
    else:
        data = rng.integers(-(1 << 24), 1 << 24, n)
    scale = np.float32(x_s) * np.resize(np.asarray(w.quant.scale, np.float32), n)
    return Tensor("b", (n,), "int64", data.astype(np.int64),
                  QuantParams(scale, np.zeros(n, np.int64), 0))


def window_graph(rng, geometry, depthwise: bool, corner: str, activation: str):
    """A 16x8 CONV_2D or DEPTHWISE_CONV_2D (``test_dsp_kernels`` geometries)."""
    if depthwise:
        h, w, c, kh, kw, strides, dilations, pads = geometry
        o, w_shape, axis = c, (1, kh, kw, c), 3
    else:
        h, w, c, o, kh, kw, strides, dilations, pads = geometry
        w_shape, axis = (o, kh, kw, c), 0
    x_s, y_s = _scales(rng, corner, kh * kw * (1 if depthwise else c))
    attrs = dict(strides=strides, dilations=dilations, pads=pads, activation=activation)
    if depthwise:
        attrs["depth_multiplier"] = 1
    y_shape = window_output_shape((1, h, w, c), (kh, kw), strides, dilations, pads, o)
    wt = _weights(rng, w_shape, axis, float(10 ** rng.uniform(-3, -1.5)))
    op = "DEPTHWISE_CONV_2D" if depthwise else "CONV_2D"
    return single_node_graph(op, [Tensor("x", (1, h, w, c), "int16", quant=_q(x_s)), wt,
                                  _bias(rng, o, corner, x_s, wt)],
                             [Tensor("y", y_shape, "int16", quant=_q(y_s))], attrs)


def fc_graph(rng, geometry, corner: str, per_channel: bool, activation: str):
    """A 16x8 FULLY_CONNECTED of ``(rows, K, O)``."""
    rows, k, o = geometry
    x_s, y_s = _scales(rng, corner, k)
    wt = _weights(rng, (o, k), 0, float(10 ** rng.uniform(-3, -1.5)), per_channel)
    return single_node_graph("FULLY_CONNECTED",
                             [Tensor("x", (rows, k), "int16", quant=_q(x_s)), wt,
                              _bias(rng, o, corner, x_s, wt)],
                             [Tensor("y", (rows, o), "int16", quant=_q(y_s))],
                             dict(activation=activation))


ACTIVATIONS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]


@needs_gcc
@pytest.mark.parametrize("corner", CORNERS)
@pytest.mark.parametrize("geometry", range(len(CONV_GEOMETRIES)))
@pytest.mark.parametrize("optimize", MODES)
def test_conv_matches_reference(tmp_path, cache_dir, geometry, corner, optimize):
    rng = np.random.default_rng([geometry, len(corner), 11])
    graph = window_graph(rng, CONV_GEOMETRIES[geometry], False, corner,
                         ACTIVATIONS[geometry % 4])
    check_dsp_on_host(graph, tmp_path, cache_dir, geometry, optimize)


@needs_gcc
@pytest.mark.parametrize("corner", CORNERS)
@pytest.mark.parametrize("geometry", range(len(DEPTHWISE_GEOMETRIES)))
@pytest.mark.parametrize("optimize", MODES)
def test_depthwise_matches_reference(tmp_path, cache_dir, geometry, corner, optimize):
    rng = np.random.default_rng([geometry, len(corner), 12])
    graph = window_graph(rng, DEPTHWISE_GEOMETRIES[geometry], True, corner,
                         ACTIVATIONS[(geometry + 1) % 4])
    check_dsp_on_host(graph, tmp_path, cache_dir, geometry, optimize)


# test_dsp_kernels' shapes plus K = 3000: sums beyond int32, three chunks of int32 sums.
FC16_GEOMETRIES = [*FC_GEOMETRIES, (2, 3000, 5)]


@needs_gcc
@pytest.mark.parametrize("per_channel", [True, False], ids=["per_channel", "per_tensor"])
@pytest.mark.parametrize("corner", CORNERS)
@pytest.mark.parametrize("geometry", range(len(FC16_GEOMETRIES)))
@pytest.mark.parametrize("optimize", MODES)
def test_fully_connected_matches_reference(tmp_path, cache_dir, geometry, corner, per_channel,
                                           optimize):
    rng = np.random.default_rng([geometry, len(corner), 13, per_channel])
    graph = fc_graph(rng, FC16_GEOMETRIES[geometry], corner, per_channel,
                     ACTIVATIONS[(geometry + 2) % 4])
    check_dsp_on_host(graph, tmp_path, cache_dir, geometry, optimize)


@needs_gcc
@pytest.mark.parametrize("optimize", MODES)
def test_fully_connected_with_zero_points(tmp_path, cache_dir, optimize):
    """A FULLY_CONNECTED input zero point (folded into the bias) and output zero point (the
    unpacked stores)."""
    rng = np.random.default_rng(21)
    graph = fc_graph(rng, (2, 37, 9), "", True, "RELU")
    graph.tensors["x"].quant = QuantParams(graph.tensors["x"].quant.s, -300)
    graph.tensors["y"].quant = QuantParams(graph.tensors["y"].quant.s, 1234)
    check_dsp_on_host(graph, tmp_path, cache_dir, 21, optimize)


def test_corners_choose_the_forms_they_are_meant_to():
    """The test corners reach what they are named for: "big" and "bias" the exact form,
    random scales the fast one; K = 3000 of int8 weights several int32 chunks."""
    from edgec.lower.registry import make_context

    def form(corner):
        graph = fc_graph(np.random.default_rng(0), (1, 64, 8), corner, True, "NONE")
        ctx = make_context(graph, graph.nodes[0], "k")
        return int16.requant(ctx, graph.tensors["w"].data)[2]

    assert form("") == "high" and form("huge") == "fast"
    assert form("big") == form("bias") == "exact"
    rows = np.full((2, 3000), -128, np.int8)
    assert int16.chunks(750, rows) == [(0, 126), (126, 126), (252, 126), (378, 126),
                                       (504, 126), (630, 120)]
    assert int16.chunks(16, rows[:, :64]) == [(0, 16)]


def test_fast_form_equals_reference_arithmetic():
    """``fast_rows`` against TFLite's int64 MultiplyByQuantizedMultiplier on random and
    extreme sums, multipliers and shifts (numbers, no C)."""
    from edgec.ir.int16 import multiply_by_quantized_multiplier_int64

    rng = np.random.default_rng(5)
    for _ in range(300):
        mult = int(rng.integers(1 << 30, 1 << 31))
        shift = int(rng.integers(-30, 0))
        reduced = min((mult + (1 << 15)) >> 16, 0x7FFF) if mult < 0x7FFF0000 else 0x7FFF
        total = 15 - shift
        bias = int(rng.integers(-(1 << 40), 1 << 40))
        bound = int(rng.integers(1, 1 << 31))
        table = int16.fast_rows([reduced], [total], [bias], [bound])
        if table is None:
            continue
        m, s, lo, hi = (int(v) for v in table[0])
        r = (hi << 32) | (lo & 0xFFFFFFFF)
        accs = np.array([0, 1, -1, bound, -bound, *rng.integers(-bound, bound, 20)], np.int64)
        got = [(((int(a) * m + r) >> 32) >> s) for a in accs]
        want = multiply_by_quantized_multiplier_int64(accs + bias, mult, shift)
        assert got == want.tolist()


@needs_gcc
@pytest.mark.parametrize("optimize", MODES)
def test_dsp16_c_compiles_for_cortex_m4(tmp_path, cache_dir, optimize):
    """The 16x8 kernels with the real intrinsics and asm: -Wall -Wextra -Werror clean."""
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    rng = np.random.default_rng(1)
    graphs = [window_graph(rng, CONV_GEOMETRIES[3], False, "", "RELU"),
              window_graph(rng, CONV_GEOMETRIES[0], False, "big", "NONE"),
              window_graph(rng, DEPTHWISE_GEOMETRIES[3], True, "", "RELU6"),
              fc_graph(rng, FC16_GEOMETRIES[-1], "", True, "NONE"),
              elementwise_graph(rng, "SUB", (3, 5), "huge", "RELU"),
              elementwise_graph(rng, "MUL", (3, 5), "", "NONE")]
    for i, graph in enumerate(graphs):
        out = tmp_path / str(i)
        out.mkdir()
        result = _emit(graph, DSP_TARGET, out, cache_dir, optimize)
        assert all("dsp_int16" in k.helpers for k in result.kernels)
        subprocess.run([gcc, *ARM_FLAGS, "-O2", "-I", str(out), str(out / "m.c"), "-o",
                        str(out / "m.o")], check=True)


# ADD / SUB / MUL operand shapes: an even element count or not.
ELEMENTWISE_SHAPES = [(1, 5, 7, 3), (1, 8, 8, 16), (13,)]


def elementwise_graph(rng, op: str, shape, corner: str, activation: str):
    """A 16x8 ADD, SUB or MUL of two ``shape`` tensors. ``corner`` "equal": both inputs share
    a scale (both multipliers exactly 1/2); "huge": an output scale so large that the output
    multiplier takes the step-by-step form (ADD, SUB); "zp": ADD/SUB zero points (TFLM's MUL
    requires 0)."""
    scales = 10 ** rng.uniform(-4, -2.5, 3)
    if corner == "equal":
        scales[1] = scales[0]
    elif corner == "huge" and op != "MUL":
        scales[2] = max(scales[:2]) * 2000
    zps = [0, 0, 0]
    if corner == "zp" and op != "MUL":
        zps = [int(v) for v in rng.integers(-200, 200, 3)]
    if op == "MUL":
        scales[2] = scales[0] * scales[1] * float(rng.uniform(2000, 20000))
    qa, qb, qy = (QuantParams(np.float32(s), z) for s, z in zip(scales, zps))
    return single_node_graph(op, [Tensor("a", shape, "int16", quant=qa),
                                  Tensor("b", shape, "int16", quant=qb)],
                             [Tensor("y", shape, "int16", quant=qy)],
                             dict(activation=activation))


@needs_gcc
@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL"])
@pytest.mark.parametrize("corner", ["", "equal", "huge", "zp"])
@pytest.mark.parametrize("shape", range(len(ELEMENTWISE_SHAPES)))
def test_elementwise_matches_reference(tmp_path, cache_dir, shape, corner, op):
    rng = np.random.default_rng([shape, len(corner), 14, len(op)])
    graph = elementwise_graph(rng, op, ELEMENTWISE_SHAPES[shape], corner,
                              ["NONE", "RELU", "RELU6"][shape % 3])
    check_dsp_on_host(graph, tmp_path, cache_dir, shape, "speed")


def test_elementwise_corners_reach_both_forms():
    """Every ADD has an input multiplier of exactly 1/2 (the larger scale's: "half"), the
    other input and the output take the fast form, except a huge output scale (the exact
    form)."""
    from edgec.lower.registry import make_context

    def forms(corner):
        graph = elementwise_graph(np.random.default_rng(3), "ADD", (2, 6), corner, "NONE")
        plan = elementwise16.add_dsp16(make_context(graph, graph.nodes[0], "k"))
        text = plan.c_template()
        return tuple(f"edgec_mbqm_{f}(" in text for f in ("fast", "half", "right"))

    assert forms("") == (True, True, False)
    assert forms("equal") == (True, True, False)
    assert forms("huge") == (True, True, True)


@needs_gcc
def test_size_conv_takes_the_pair_kernel_where_it_applies(tmp_path, cache_dir):
    """--optimize size: input channels a multiple of four (an odd pixel count and channel
    count here) take the two-pixel kernel, others the one-pixel one; both bit-exact."""
    rng = np.random.default_rng(8)
    for geometry, pair in ((CONV_GEOMETRIES[9], True), (CONV_GEOMETRIES[0], False)):
        graph = window_graph(rng, geometry, False, "", "RELU")
        out = tmp_path / str(pair)
        out.mkdir()
        (kernel,) = _emit(graph, DSP_TARGET, out, cache_dir, "size").kernels
        assert ("edgec_dot2x2_s8(" in kernel.c_source) == pair
        check_dsp_on_host(graph, out, cache_dir, 8, "size")


@needs_gcc
@pytest.mark.parametrize("op", ["CONV_2D", "FULLY_CONNECTED"])
def test_without_bias(tmp_path, cache_dir, op):
    """No bias input (TFLM then adds nothing): R holds the rounding alone."""
    rng = np.random.default_rng(31)
    graph = (window_graph(rng, CONV_GEOMETRIES[2], False, "", "NONE") if op == "CONV_2D"
             else fc_graph(rng, (2, 24, 5), "", True, "NONE"))
    node = graph.nodes[0]
    node.inputs = node.inputs[:2]
    del graph.tensors["b"]
    check_dsp_on_host(graph, tmp_path, cache_dir, 31, "speed")
