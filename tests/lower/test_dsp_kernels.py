"""DSP (Cortex-M4) variants of int8 CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD and SUB.

The variants' C runs on the host through the plain-C definitions of the intrinsics, inside
the emitted model (arena scratch included), and must equal ``edgec.ir.interpret`` bit for
bit; the same C must compile warning-free for the Cortex-M4 with the real intrinsics. Every
check runs for both ``--optimize`` modes: ``speed`` (int16 weights) and ``size`` (int8
weights, the compact kernels).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgec.build import BuildResult
from edgec.emit import EmitOptions, emit_model
from edgec.ir import Tensor, interpret
from edgec.ir.ops._window import window_output_shape
from edgec.lower import lower_graph, node_lowerer
from edgec.options import BuildOptions
from edgec.plan import plan_memory
from edgec.targets import load_target
from edgec.verify import compile_host, random_inputs, run_harness
from tests.lower.harness import needs_gcc, single_node_graph
from tests.lower.quantgen import act_q, bias_tensor, weight_tensor

DSP_TARGET = "mps2_an386"
ARM_FLAGS = ["-std=c99", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16",
             "-Wall", "-Wextra", "-Werror", "-c"]
CORNERS = ["", "tiny", "huge", "extreme"]
MODES = ["speed", "size"]

# (H, W, C, O, KH, KW, strides, dilations, pads): odd channel counts, sizes not divisible by
# four, 1x1 and KxK, strides, dilations, asymmetric paddings.
CONV_GEOMETRIES = [
    (6, 6, 3, 5, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1)),
    (7, 5, 2, 3, 3, 2, (2, 1), (1, 2), (0, 1, 2, 0)),
    (5, 5, 8, 9, 1, 1, (1, 1), (1, 1), (0, 0, 0, 0)),
    (9, 7, 16, 7, 3, 3, (2, 2), (1, 1), (0, 0, 1, 1)),
    (10, 4, 1, 6, 10, 4, (2, 2), (1, 1), (4, 1, 5, 1)),
    (5, 6, 12, 4, 1, 1, (2, 2), (1, 1), (0, 0, 0, 0)),
    # Input channels a multiple of four, windows clipped by the padding, dilated across, a
    # pixel wholly in the padding.
    (8, 9, 4, 5, 3, 3, (1, 2), (2, 2), (2, 3, 1, 2)),
    (6, 7, 8, 6, 5, 5, (1, 1), (1, 1), (2, 2, 2, 2)),
    (3, 3, 4, 5, 1, 1, (1, 1), (1, 1), (1, 1, 1, 1)),
    # The int8-weight pair kernel's tails: an odd pixel count (9), channels 4 + 2 + 1.
    (5, 5, 8, 7, 3, 3, (2, 2), (1, 1), (1, 1, 1, 1)),
    # The size-mode row kernel (conv_rows.c.j2): rows of 13 pixels (three triples and two
    # pairs, the weights widened per row), 12-group runs, an odd channel; three channels
    # padded to four, rows of 14 (four triples and a pair) with 3-group runs; rows of 8 (two
    # triples and a pair, in-kernel widening, a 6-group run: two groups before the loop);
    # one output column (the pair repeats its pixel); dilated across with triples.
    (12, 13, 16, 7, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1)),
    (7, 14, 3, 6, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1)),
    (9, 10, 8, 4, 3, 3, (1, 1), (1, 1), (0, 0, 1, 0)),
    (5, 3, 8, 2, 3, 3, (2, 2), (1, 1), (1, 0, 1, 0)),
    (6, 12, 16, 4, 3, 2, (1, 1), (1, 3), (1, 1, 1, 1)),
    # Channels not a multiple of four in window rows of whole groups (kw * cin % 4 == 0):
    # rows inside widened a word at a time, rows reaching the padding value by value.
    (9, 8, 2, 5, 3, 2, (2, 1), (1, 1), (1, 1, 1, 0)),
    (7, 7, 3, 4, 3, 4, (1, 1), (1, 1), (1, 2, 1, 1)),
    # A 1x1 conv read as rows of 30 pixels, 8-group runs unrolled whole, an even cout (the
    # size mode's one-run micro-kernels, EDGEC_DOT3X2_WIDE_ONE and EDGEC_DOT2X2_WIDE_BODY).
    (5, 6, 32, 6, 1, 1, (1, 1), (1, 1), (0, 0, 0, 0)),
]
# (H, W, C, KH, KW, strides, dilations, pads)
DEPTHWISE_GEOMETRIES = [
    (6, 6, 3, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1)),
    (7, 5, 5, 3, 2, (2, 1), (1, 2), (0, 1, 2, 0)),
    (25, 5, 16, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1)),
    (9, 7, 13, 5, 5, (2, 2), (1, 1), (2, 2, 2, 2)),
    (6, 5, 8, 5, 4, (1, 1), (1, 1), (1, 1, 1, 1)),  # 20 taps: the rolled tap loop
]
# (rows, K, O)
FC_GEOMETRIES = [(1, 64, 12), (1, 13, 7), (3, 5, 1), (2, 8, 9), (1, 640, 20)]
# The FULLY_CONNECTED without scratch: FC_GEOMETRIES (a row not a multiple of four values
# keeps the scratch) and outputs with room for the widened row (cout >= 2k; AD's last layer).
NO_SCRATCH_FC_GEOMETRIES = [FC_GEOMETRIES[i] for i in (0, 1, 3, 4)] + [(2, 16, 40),
                                                                      (1, 128, 640)]
# ADD / SUB operand shapes: a multiple of four elements or not.
ELEMENTWISE_SHAPES = [(1, 5, 7, 3), (1, 8, 8, 16), (13,)]


def _window_graph(rng, geometry, depthwise: bool, corner: str, activation: str):
    if depthwise:
        h, w, c, kh, kw, strides, dilations, pads = geometry
        o, w_shape = c, (1, kh, kw, c)
    else:
        h, w, c, o, kh, kw, strides, dilations, pads = geometry
        w_shape = (o, kh, kw, c)
    attrs = dict(strides=strides, dilations=dilations, pads=pads, activation=activation)
    if depthwise:
        attrs["depth_multiplier"] = 1
    y_shape = window_output_shape((1, h, w, c), (kh, kw), strides, dilations, pads, o)
    x = Tensor("x", (1, h, w, c), "int8", quant=act_q(rng))
    wt = weight_tensor(rng, "w", w_shape, 3 if depthwise else 0, per_channel=corner != "huge")
    b = bias_tensor(rng, "b", o, corner)
    y = Tensor("y", y_shape, "int8", quant=act_q(rng, corner))
    op = "DEPTHWISE_CONV_2D" if depthwise else "CONV_2D"
    return single_node_graph(op, [x, wt, b], [y], attrs)


def _fc_graph(rng, geometry, corner: str, per_channel: bool, activation: str):
    rows, k, o = geometry
    x = Tensor("x", (rows, k), "int8", quant=act_q(rng))
    w = weight_tensor(rng, "w", (o, k), 0, per_channel=per_channel)
    b = bias_tensor(rng, "b", o, corner)
    y = Tensor("y", (rows, o), "int8", quant=act_q(rng, corner))
    return single_node_graph("FULLY_CONNECTED", [x, w, b], [y], dict(activation=activation))


def _pool_graph(rng, geometry, activation: str = "NONE", op: str = "AVERAGE_POOL_2D"):
    h, w, c, kh, kw, strides, pads = geometry
    q = act_q(rng)
    y_shape = window_output_shape((1, h, w, c), (kh, kw), strides, (1, 1), pads, c)
    return single_node_graph(op, [Tensor("x", (1, h, w, c), "int8", quant=q)],
                             [Tensor("y", y_shape, "int8", quant=q)],
                             dict(filter=(kh, kw), strides=strides, pads=pads,
                                  activation=activation))


def _elementwise_graph(rng, op: str, a_shape, b_shape, corner: str, activation: str):
    a = Tensor("a", a_shape, "int8", quant=act_q(rng))
    b = Tensor("b", b_shape, "int8", quant=act_q(rng))
    y = Tensor("y", a_shape, "int8", quant=act_q(rng, corner))
    return single_node_graph(op, [a, b], [y], dict(activation=activation))


def _emit(graph, target: str, out_dir: Path, cache_dir, optimize: str = "speed",
          prefer: tuple[str, ...] = ()) -> BuildResult:
    options = BuildOptions(target=target, cache_dir=cache_dir, optimize=optimize)
    if prefer:  # the memory variants, as edgec.ram asks for them
        lower = node_lowerer(graph, options)
        kernels = [lower(step, prefer) for step in range(len(graph.nodes))]
    else:
        kernels = lower_graph(graph, options)
    plan = plan_memory(graph, kernels)
    files = emit_model(graph, kernels, plan, EmitOptions("m"))
    for name, text in files.items():
        (out_dir / name).write_text(text)
    return BuildResult(out_dir, "m", [out_dir / n for n in files], graph, kernels, plan, {},
                       load_target("host"))


def _is_dsp(kernel) -> bool:
    return "dsp" in kernel.helpers


def _is_compact(kernel) -> bool:
    return "dsp_compact" in kernel.helpers


def check_dsp_on_host(graph, tmp_path, cache_dir, seed: int, optimize: str) -> None:
    """Lower ``graph`` for the DSP target, run it on the host, compare with the reference."""
    result = _emit(graph, DSP_TARGET, tmp_path, cache_dir, optimize)
    # 3x3 depthwise takes the plane kernel (int8 weights) in every mode
    assert all(_is_compact(k) == (optimize == "size") or "dsp_plane" in k.helpers
               for k in result.kernels)
    assert all(_is_dsp(k) for k in result.kernels), "the DSP variant declined the node"
    samples = random_inputs(graph, 3, seed)
    actual = run_harness(compile_host(result), graph, samples)
    for sample, outputs in zip(samples, actual):
        expected = interpret(graph, dict(zip(graph.inputs, sample)))
        for name, got in zip(graph.outputs, outputs):
            np.testing.assert_array_equal(got, expected[name])


@needs_gcc
@pytest.mark.parametrize("geometry", [10, 11, 12, 14, 17])
def test_conv_rows_ring_matches_reference(tmp_path, monkeypatch, geometry):
    """The row kernel's ring of kh widened rows, as wide rows too big to widen whole take it
    (the test geometries are small enough for ``whole``: WHOLE_BYTES set to 0 here; a cache
    of its own, the kernel cache keys not covering the constant's value)."""
    from edgec.lower.dsp import conv

    monkeypatch.setattr(conv, "WHOLE_BYTES", 0)
    rng = np.random.default_rng([geometry, 0, 1])
    activation = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"][geometry % 4]
    graph = _window_graph(rng, CONV_GEOMETRIES[geometry], False, "", activation)
    cache = tmp_path / "cache"
    out = tmp_path / "out"
    out.mkdir()
    check_dsp_on_host(graph, out, cache, geometry, "size")
    assert "widened once for the row" in (out / "m.c").read_text()


@needs_gcc
@pytest.mark.parametrize("corner", CORNERS)
@pytest.mark.parametrize("geometry", range(len(CONV_GEOMETRIES)))
@pytest.mark.parametrize("optimize", MODES)
def test_conv_matches_reference(tmp_path, cache_dir, geometry, corner, optimize):
    rng = np.random.default_rng([geometry, len(corner), 1])
    activation = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"][geometry % 4]
    graph = _window_graph(rng, CONV_GEOMETRIES[geometry], False, corner, activation)
    check_dsp_on_host(graph, tmp_path, cache_dir, geometry, optimize)


@needs_gcc
@pytest.mark.parametrize("corner", CORNERS)
@pytest.mark.parametrize("geometry", range(len(DEPTHWISE_GEOMETRIES)))
@pytest.mark.parametrize("optimize", MODES)
def test_depthwise_matches_reference(tmp_path, cache_dir, geometry, corner, optimize):
    rng = np.random.default_rng([geometry, len(corner), 2])
    activation = ["RELU", "NONE", "RELU6", "RELU_N1_TO_1"][geometry % 4]
    graph = _window_graph(rng, DEPTHWISE_GEOMETRIES[geometry], True, corner, activation)
    check_dsp_on_host(graph, tmp_path, cache_dir, geometry, optimize)


@needs_gcc
@pytest.mark.parametrize("per_channel", [True, False], ids=["per_channel", "per_tensor"])
@pytest.mark.parametrize("corner", CORNERS)
@pytest.mark.parametrize("geometry", range(len(FC_GEOMETRIES)))
@pytest.mark.parametrize("optimize", MODES)
def test_fully_connected_matches_reference(tmp_path, cache_dir, geometry, corner, per_channel,
                                           optimize):
    rng = np.random.default_rng([geometry, len(corner), 3, per_channel])
    activation = ["RELU", "NONE", "RELU6", "RELU_N1_TO_1"][geometry % 4]
    graph = _fc_graph(rng, FC_GEOMETRIES[geometry], corner, per_channel, activation)
    check_dsp_on_host(graph, tmp_path, cache_dir, geometry, optimize)


@needs_gcc
@pytest.mark.parametrize("per_channel", [True, False], ids=["per_channel", "per_tensor"])
@pytest.mark.parametrize("corner", ["", "huge"])
@pytest.mark.parametrize("geometry", range(len(NO_SCRATCH_FC_GEOMETRIES)))
def test_fully_connected_without_scratch_matches_reference(tmp_path, cache_dir, geometry,
                                                           corner, per_channel):
    """The memory variant of the speed kernel (``no_scratch:dsp``): the row widened in
    registers, no arena scratch (where the output row has room, the widened row borrows its
    first 2k bytes for the channels after them); rows not a multiple of four values keep
    the scratch."""
    rng = np.random.default_rng([geometry, len(corner), 7, per_channel])
    activation = ["RELU", "NONE", "RELU6", "RELU_N1_TO_1"][geometry % 4]
    rows, k, cout = NO_SCRATCH_FC_GEOMETRIES[geometry]
    graph = _fc_graph(rng, (rows, k, cout), corner, per_channel, activation)
    result = _emit(graph, DSP_TARGET, tmp_path, cache_dir, "speed", prefer=("no_scratch",))
    (kernel,) = result.kernels
    assert ("int32_t *wide" in kernel.c_source) == (k % 4 == 0 and cout % 4 == 0
                                                    and cout >= 2 * k)
    assert _is_dsp(kernel) and not _is_compact(kernel)
    assert (kernel.scratch_bytes == 0) == (k % 4 == 0)
    assert ("edgec_dot4_x8(" in kernel.c_source) == (k % 4 == 0 and k >= 8)
    samples = random_inputs(graph, 3, geometry)
    for sample, (got,) in zip(samples, run_harness(compile_host(result), graph, samples)):
        np.testing.assert_array_equal(got, interpret(graph, {"x": sample[0]})["y"])


@needs_gcc
@pytest.mark.parametrize("geometry", [0, 3, 4])
@pytest.mark.parametrize("optimize", MODES)
def test_int4_conv_matches_reference(tmp_path, cache_dir, geometry, optimize):
    """W4A8 CONV_2D takes the DSP pair kernel (nibbles unpacked in registers) in both
    modes."""
    from tests.lower.test_int4 import CONV_GEOMETRIES as INT4_GEOMETRIES, conv_graph

    graph = conv_graph(np.random.default_rng(geometry), INT4_GEOMETRIES[geometry], False)
    result = _emit(graph, DSP_TARGET, tmp_path, cache_dir, optimize)
    (kernel,) = result.kernels
    assert _is_compact(kernel) and "edgec_dot2x2_s4" in kernel.c_source
    samples = random_inputs(graph, 3, geometry)
    for sample, (got,) in zip(samples, run_harness(compile_host(result), graph, samples)):
        np.testing.assert_array_equal(got, interpret(graph, {"x": sample[0]})["y"])


# AVERAGE_POOL_2D (H, W, C, KH, KW, strides, pads): KWS's and IC's global pools, padded
# windows (edges with fewer taps), and two the variant declines (C % 4, 256 taps).
POOL_GEOMETRIES = [(25, 5, 64, 25, 5, (1, 1), (0, 0, 0, 0)),
                   (8, 8, 16, 8, 8, (8, 8), (0, 0, 0, 0)),
                   (7, 9, 8, 3, 3, (2, 2), (1, 1, 1, 1)),
                   (6, 5, 12, 2, 3, (1, 2), (0, 1, 1, 1)),
                   (15, 15, 4, 15, 15, (1, 1), (0, 0, 0, 0)),
                   (5, 5, 6, 2, 2, (2, 2), (0, 0, 1, 1)),
                   (16, 16, 4, 16, 16, (1, 1), (0, 0, 0, 0))]


@needs_gcc
@pytest.mark.parametrize("op", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
@pytest.mark.parametrize("activation", ["NONE", "RELU6"])
@pytest.mark.parametrize("geometry", range(len(POOL_GEOMETRIES)))
def test_pool_matches_reference(tmp_path, cache_dir, geometry, activation, op):
    h, w, c, kh, kw, strides, pads = POOL_GEOMETRIES[geometry]
    rng = np.random.default_rng([geometry, 9, activation == "NONE"])
    graph = _pool_graph(rng, POOL_GEOMETRIES[geometry], activation, op)
    result = _emit(graph, DSP_TARGET, tmp_path, cache_dir)
    (kernel,) = result.kernels
    assert _is_dsp(kernel) == (c % 4 == 0 and (kh * kw <= 255 or op == "MAX_POOL_2D"))
    samples = random_inputs(graph, 3, geometry)
    for sample, (got,) in zip(samples, run_harness(compile_host(result), graph, samples)):
        np.testing.assert_array_equal(got, interpret(graph, {"x": sample[0]})["y"])


@needs_gcc
@pytest.mark.parametrize("geometry", range(3))
@pytest.mark.parametrize("optimize", MODES)
def test_int4_conv_on_rows_matches_reference(tmp_path, cache_dir, geometry, optimize):
    """W4A8 CONV_2D on wide rows takes the row kernel, its weights unpacked once per row."""
    from tests.lower.test_int4 import DSP_CONV_GEOMETRIES, conv_graph

    rng = np.random.default_rng([geometry, 43])
    graph = conv_graph(rng, DSP_CONV_GEOMETRIES[geometry], False,
                       ["RELU", "NONE", "RELU6"][geometry])
    _check_int4(graph, tmp_path, cache_dir, optimize, "edgec_widen_pair_s4", geometry)


@needs_gcc
@pytest.mark.parametrize("geometry", range(3))
@pytest.mark.parametrize("optimize", MODES)
def test_int4_depthwise_matches_reference(tmp_path, cache_dir, geometry, optimize):
    """W4A8 DEPTHWISE_CONV_2D takes its DSP kernel (two channel groups a word) in both
    modes."""
    from tests.lower.test_int4 import DSP_DEPTHWISE_GEOMETRIES, conv_graph

    rng = np.random.default_rng([geometry, 41])
    graph = conv_graph(rng, DSP_DEPTHWISE_GEOMETRIES[geometry], True,
                       ["RELU", "NONE", "RELU6"][geometry])
    _check_int4(graph, tmp_path, cache_dir, optimize, "edgec_dw_tap_s4lo", geometry)


@needs_gcc
@pytest.mark.parametrize("shape", range(3))
@pytest.mark.parametrize("per_channel", [False, True], ids=["per_tensor", "per_channel"])
@pytest.mark.parametrize("optimize", MODES)
def test_int4_fully_connected_matches_reference(tmp_path, cache_dir, shape, per_channel,
                                                optimize):
    """W4A8 FULLY_CONNECTED takes its DSP kernel (a pair of groups a word) in both modes."""
    from tests.lower.test_int4 import DSP_FC_SHAPES, fc_graph

    rng = np.random.default_rng([shape, per_channel, 42])
    graph = fc_graph(rng, *DSP_FC_SHAPES[shape], per_channel=per_channel)
    _check_int4(graph, tmp_path, cache_dir, optimize, "edgec_dot4_s4", shape)


def _check_int4(graph, tmp_path, cache_dir, optimize, helper, seed):
    """The graph's one kernel is the int4 DSP one calling ``helper``, and it matches the
    reference on the host bit for bit; weights take fewer bytes than int8 ones
    (``test_int4_layouts_unpack_to_the_weights`` checks the packing)."""
    result = _emit(graph, DSP_TARGET, tmp_path, cache_dir, optimize)
    (kernel,) = result.kernels
    assert _is_dsp(kernel) and helper in kernel.c_source
    weights = next(v for k, v in kernel.constants.items() if k.endswith("_w"))
    assert weights.nbytes < graph.tensors["w"].size
    samples = random_inputs(graph, 3, seed)
    for sample, (got,) in zip(samples, run_harness(compile_host(result), graph, samples)):
        np.testing.assert_array_equal(got, interpret(graph, {"x": sample[0]})["y"])


@needs_gcc
@pytest.mark.parametrize("op", ["ADD", "SUB"])
@pytest.mark.parametrize("corner", ["", "tiny", "huge"])
@pytest.mark.parametrize("shape", range(len(ELEMENTWISE_SHAPES)))
def test_add_and_sub_match_reference(tmp_path, cache_dir, shape, corner, op):
    rng = np.random.default_rng([shape, len(corner), 4, op == "ADD"])
    activation = ["NONE", "RELU", "RELU6"][shape % 3]
    dims = ELEMENTWISE_SHAPES[shape]
    graph = _elementwise_graph(rng, op, dims, dims, corner, activation)
    check_dsp_on_host(graph, tmp_path, cache_dir, shape, "speed")


def test_saturation_corners_take_the_exact_requantization(tmp_path, cache_dir):
    """Tiny and huge output scales give shifts outside the fast form: the exact one runs."""
    rng = np.random.default_rng(5)
    for corner, fast in [("", True), ("tiny", False)]:
        graph = _fc_graph(rng, FC_GEOMETRIES[0], corner, True, "NONE")
        (kernel,) = lower_graph(graph, BuildOptions(target=DSP_TARGET, cache_dir=cache_dir))
        assert ("edgec_scale4_fast(a0" in kernel.c_source) == fast


@pytest.mark.parametrize("target, dsp", [("mps2_an386", True), ("host", False),
                                         ("qemu_cortex_m3", False), ("rpi_pico", False)])
def test_variant_follows_the_target_features(cache_dir, target, dsp):
    graph = _window_graph(np.random.default_rng(6), CONV_GEOMETRIES[0], False, "", "RELU")
    (kernel,) = lower_graph(graph, BuildOptions(target=target, cache_dir=cache_dir))
    assert _is_dsp(kernel) == dsp
    assert (kernel.scratch_bytes > 0) == dsp


def test_narrow_variants_fall_back_to_the_portable_rule(cache_dir):
    rng = np.random.default_rng(7)
    x = Tensor("x", (1, 5, 5, 3), "int8", quant=act_q(rng))
    w = weight_tensor(rng, "w", (1, 3, 3, 6), 3)
    y = Tensor("y", (1, 3, 3, 6), "int8", quant=act_q(rng))
    multiplier = single_node_graph("DEPTHWISE_CONV_2D", [x, w], [y], dict(depth_multiplier=2))
    fc = _fc_graph(rng, FC_GEOMETRIES[1], "", False, "NONE")
    fc.tensors["w"].quant.zero_point[...] = 3  # TFLM subtracts a per-tensor weight offset
    broadcast = _elementwise_graph(rng, "ADD", (1, 4, 4, 8), (1, 1, 1, 8), "", "NONE")
    for graph in (multiplier, fc, broadcast):
        (kernel,) = lower_graph(graph, BuildOptions(target=DSP_TARGET, cache_dir=cache_dir))
        assert not _is_dsp(kernel)


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="no Arm toolchain")
@pytest.mark.parametrize("optimize", MODES)
@pytest.mark.parametrize("opt", ["-O0", "-O2", "-Os"])
def test_cortex_m4_build_is_warning_free(tmp_path, cache_dir, opt, optimize):
    """Every DSP kernel builds for the M4 without a warning, at -O0 too: GCC 12 finds no
    registers there for the large asm helpers, which give way to their C forms
    (``__OPTIMIZE__`` undefined)."""
    rng = np.random.default_rng(8)
    graphs = [_window_graph(rng, CONV_GEOMETRIES[-1], False, "", "RELU"),
              _window_graph(rng, CONV_GEOMETRIES[0], False, "", "RELU"),
              _window_graph(rng, CONV_GEOMETRIES[3], False, "tiny", "NONE"),
              _window_graph(rng, CONV_GEOMETRIES[6], False, "", "RELU"),
              _window_graph(rng, DEPTHWISE_GEOMETRIES[3], True, "", "RELU6"),
              _window_graph(rng, DEPTHWISE_GEOMETRIES[4], True, "", "NONE"),
              _fc_graph(rng, FC_GEOMETRIES[1], "", True, "RELU"),
              _elementwise_graph(rng, "ADD", (1, 5, 7, 3), (1, 5, 7, 3), "", "RELU"),
              _fc_graph(rng, (1, 16, 40), "", False, "NONE"),
              _pool_graph(rng, POOL_GEOMETRIES[2]),
              _pool_graph(rng, POOL_GEOMETRIES[0]),
              _pool_graph(rng, POOL_GEOMETRIES[3], "RELU6", "MAX_POOL_2D")]
    no_scratch_index = len(graphs) - 4  # the FULLY_CONNECTED without its row copy
    from tests.lower import test_dsp_conv_plane, test_dsp_depthwise_plane as dw_plane, test_int4

    # the one-channel plane conv (size mode), the plane depthwise whole and as a ring of rows
    graphs += [test_dsp_conv_plane.plane_graph(rng, 0), test_dsp_conv_plane.plane_graph(rng, 2),
               dw_plane.depthwise_graph(rng, dw_plane.PLANE_GEOMETRIES[0], "", "RELU"),
               dw_plane.depthwise_graph(rng, dw_plane.PLANE_GEOMETRIES[3], "", "NONE")]
    graphs += [test_int4.conv_graph(rng, test_int4.CONV_GEOMETRIES[4], False),
               test_int4.conv_graph(rng, test_int4.DSP_DEPTHWISE_GEOMETRIES[0], True),
               test_int4.conv_graph(rng, test_int4.DSP_DEPTHWISE_GEOMETRIES[1], True),
               test_int4.fc_graph(rng, *test_int4.DSP_FC_SHAPES[1], per_channel=True)]
    for index, graph in enumerate(graphs):
        out = tmp_path / str(index)
        out.mkdir()
        prefer = ("no_scratch",) if index == no_scratch_index else ()
        _emit(graph, DSP_TARGET, out, cache_dir, optimize, prefer=prefer)
        done = subprocess.run(["arm-none-eabi-gcc", *ARM_FLAGS, opt, "-I", str(out),
                               str(out / "m.c"), "-o", str(out / "m.o")],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""


ARM_SYSROOT = Path("/usr/lib/arm-none-eabi")


@pytest.mark.skipif(shutil.which("clang") is None or not (ARM_SYSROOT / "include").is_dir(),
                    reason="no clang or no Arm C library headers")
@pytest.mark.parametrize("optimize", MODES)
def test_cortex_m4_build_with_clang(tmp_path, cache_dir, optimize):
    """clang allocates fewer registers to one asm statement than GCC: the 14-register
    micro-kernels (the row kernel's triples, the int4 fully connected loop) must fall back
    to their C forms under clang, warning-free."""
    from tests.lower import test_int4

    rng = np.random.default_rng(9)
    from tests.lower import test_dsp_conv_plane, test_dsp_depthwise_plane as dw_plane

    graphs = [_window_graph(rng, CONV_GEOMETRIES[10], False, "", "RELU"),
              test_dsp_conv_plane.plane_graph(rng, 0),
              dw_plane.depthwise_graph(rng, dw_plane.PLANE_GEOMETRIES[0], "", "RELU"),
              test_int4.conv_graph(rng, test_int4.DSP_CONV_GEOMETRIES[0], False),
              test_int4.fc_graph(rng, *test_int4.DSP_FC_SHAPES[1], per_channel=True)]
    flags = ["--target=arm-none-eabi", "-isystem", str(ARM_SYSROOT / "include"), "-O2",
             *[f for f in ARM_FLAGS if not f.startswith("-mfpu")], "-mfpu=fpv4-sp-d16"]
    for index, graph in enumerate(graphs):
        out = tmp_path / str(index)
        out.mkdir()
        _emit(graph, DSP_TARGET, out, cache_dir, optimize)
        done = subprocess.run(["clang", *flags, "-I", str(out), str(out / "m.c"), "-o",
                               str(out / "m.o")], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
