"""The op grid on emulated Cortex-M: single-op graphs for every lowering rule, built for each
core configuration, run in QEMU (many graphs per firmware image, ``edgec.verify.cortexm.batch``)
and compared with ``edgec.ir.interpret`` (integers bit for bit, floats as ``edgec verify``).

The graphs come from the op-level lowering tests' builders (``tests/lower``), so the grid
exercises the shapes, corners and variants those tests chose on the host. ``cases(full=False)``
is the CI subset: every rule at least once, and the shapes that pick each DSP kernel's
special paths; ``cases(full=True)`` takes every geometry, corner and three seeds
(``python benchmarks/run.py --ops --full``).
"""

from __future__ import annotations

import itertools
import tempfile
import zlib
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np

from edgec.verify.cortexm.batch import emit_graph, run_models
from edgec.ir import Graph, Node, QuantParams, Tensor, interpret
from edgec.verify import compare, random_inputs
from tests.lower import (test_conv, test_dsp_depthwise_plane, test_dsp_fc_split, test_dsp_int16,
                         test_dsp_kernels, test_elementwise, test_fully_connected, test_int4,
                         test_int16, test_lut,
                         test_mean, test_pool, test_softmax, test_space_batch, test_ternary,
                         test_unary)
from tests.lower import (test_batch_matmul, test_mirror_pad, test_prelu, test_resize,
                         test_strided_slice, test_transpose_conv)
from tests.lower import test_dsp_conv_plane
from tests.lower import test_reduce
from tests.lower.harness import single_node_graph
from edgec.ir.check import check_graph
from edgec.ir.graph import PLAIN_INT_KEYS, key_dtype
from edgec.ir.ops.pow_fmod import OTHER_FLOAT_DTYPES, INT_POW_DTYPES
from edgec.lower.select import supported
from tests.lower.quantgen import act_q


@dataclass(frozen=True)
class Config:
    """One core and build mode: ``optimize`` picks the DSP kernels' speed or size form."""

    target: str
    optimize: str = "speed"

    @property
    def label(self) -> str:
        return f"{self.target}-{self.optimize}" if self.target == "mps2_an386" else self.target


# The Cortex-M4F with its DSP kernels in both forms, and the portable kernels on the M3.
CONFIGS = [Config("mps2_an386", "speed"), Config("mps2_an386", "size"),
           Config("qemu_cortex_m3")]
SAMPLES = 3  # random inputs per graph


@dataclass(frozen=True)
class Case:
    """One graph: the rule it exercises (``OP/dtype`` as ``supported()`` names it), what sets
    it apart, and how to build it from a seeded generator."""

    rule: str
    label: str
    make: Callable[[np.random.Generator], Graph]
    seed: int = 0

    @property
    def id(self) -> str:
        return f"{self.rule}[{self.label}]#{self.seed}"

    def graph(self) -> Graph:
        return self.make(np.random.default_rng([zlib.crc32(self.id.encode())]))


@dataclass
class Outcome:
    """One case on one configuration: the comparison and whether a DSP kernel ran."""

    case: Case
    ok: bool
    message: str
    dsp: bool


# ---- builders the lowering tests write inline --------------------------------------------

LAYOUT_DTYPES = ["int8", "uint8", "int16", "int32", "float32"]


def _q(rng, dtype: str):
    return act_q(rng) if dtype == "int8" else None


def _unary(op: str, in_dtype: str, out_dtype: str, corner: str, rng) -> Graph:
    return test_unary._graph(rng, op, in_dtype, out_dtype, corner)


def _leaky_relu_int8(corner: str, alpha: float, rng) -> Graph:
    shape = test_lut._shape(rng)
    scale = test_lut.SCALES[corner] or float(np.exp(rng.uniform(np.log(1e-3), np.log(1.0))))
    x = Tensor("x", shape, "int8", quant=QuantParams(np.float32(scale), int(rng.integers(-128, 128))))
    y = Tensor("y", shape, "int8", quant=QuantParams(np.float32(scale * 0.8), 17))
    return single_node_graph("LEAKY_RELU", [x], [y], {"alpha": alpha})


def _leaky_relu_float(rng) -> Graph:
    return single_node_graph("LEAKY_RELU", [Tensor("x", (3, 11), "float32")],
                             [Tensor("y", (3, 11), "float32")], {"alpha": 0.25})


def _max_min(op: str, dtype: str, rng) -> Graph:
    """MAXIMUM / MINIMUM with broadcasting; int8 shares one quantization (as TFLM needs)."""
    quant = QuantParams(np.float32(0.05), -3) if dtype == "int8" else None
    return single_node_graph(op, [Tensor("a", (2, 3, 7), dtype, quant=quant),
                                  Tensor("b", (1, 3, 1), dtype, quant=quant)],
                             [Tensor("y", (2, 3, 7), dtype, quant=quant)])


def _quantize_float(rng) -> Graph:
    x = Tensor("x", (3, 11), "float32")
    y = Tensor("y", (3, 11), "int8", quant=QuantParams(np.float32(rng.uniform(0.005, 0.05)),
                                                      int(rng.integers(-128, 128))))
    return single_node_graph("QUANTIZE", [x], [y])


def _mean(case: int, dtype: str, rng) -> Graph:
    shape, axes, keep = test_mean.CASES[case]
    norm = {a % len(shape) for a in axes}
    out = tuple(1 if d in norm else s for d, s in enumerate(shape)) if keep else \
        tuple(s for d, s in enumerate(shape) if d not in norm)
    x = Tensor("x", shape, dtype, quant=_q(rng, dtype))
    y = Tensor("y", out, dtype, quant=_q(rng, dtype))
    return single_node_graph("MEAN", [x], [y], {"axes": axes, "keep_dims": keep})


def _pad(dtype: str, value, rng) -> Graph:
    q = _q(rng, dtype)
    x = Tensor("x", (1, 3, 2, 2), dtype, quant=q)
    y = Tensor("y", (1, 6, 5, 4), dtype, quant=q)
    return single_node_graph("PAD", [x], [y], {"pads": ((0, 0), (1, 2), (0, 3), (2, 0)),
                                               "value": value})


def _transpose(dtype: str, perm, rng) -> Graph:
    shape, q = (2, 3, 4, 5), _q(rng, dtype)
    x = Tensor("x", shape, dtype, quant=q)
    y = Tensor("y", tuple(shape[p] for p in perm), dtype, quant=q)
    return single_node_graph("TRANSPOSE", [x], [y], {"perm": perm})


def _concatenation(dtype: str, axis: int, rng) -> Graph:
    q = _q(rng, dtype)
    shapes = [(1, 2, 3, 2), (1, 2, 3, 1), (1, 2, 3, 3)] if axis == -1 else \
        [(1, 1, 3, 2), (1, 3, 3, 2), (1, 2, 3, 2)]
    xs = [Tensor(f"x{k}", s, dtype, quant=q) for k, s in enumerate(shapes)]
    out = list(shapes[0])
    out[axis] = sum(s[axis] for s in shapes)
    activation = "RELU6" if dtype in ("int8", "float32") else "NONE"
    return single_node_graph("CONCATENATION", xs, [Tensor("y", tuple(out), dtype, quant=q)],
                             {"axis": axis, "activation": activation})


def _reshape(dtype: str, rng) -> Graph:
    q = _q(rng, dtype)
    return single_node_graph("RESHAPE", [Tensor("x", (1, 2, 3, 4), dtype, quant=q)],
                             [Tensor("y", (1, 24), dtype, quant=q)], {"shape": (1, 24)})


def _space_to_batch(dtype: str, rng) -> Graph:
    sb = test_space_batch
    (bh, bw), (oh, ow), n, c = sb._geometry(rng)
    (t, b), (l, r) = sb._pair(rng, oh * bh), sb._pair(rng, ow * bw)
    x = sb._tensor(rng, "x", (n, oh * bh - t - b, ow * bw - l - r, c), dtype)
    y = sb._tensor(rng, "y", (n * bh * bw, oh, ow, c), dtype)
    return single_node_graph("SPACE_TO_BATCH_ND", [x], [y],
                             {"block_shape": (bh, bw), "paddings": ((t, b), (l, r))})


def _batch_to_space(dtype: str, rng) -> Graph:
    sb = test_space_batch
    (bh, bw), (h, w), n, c = sb._geometry(rng)
    (t, b), (l, r) = sb._pair(rng, h * bh), sb._pair(rng, w * bw)
    x = sb._tensor(rng, "x", (n * bh * bw, h, w, c), dtype)
    y = sb._tensor(rng, "y", (n, h * bh - t - b, w * bw - l - r, c), dtype)
    return single_node_graph("BATCH_TO_SPACE_ND", [x], [y],
                             {"block_shape": (bh, bw), "crops": ((t, b), (l, r))})


# ---- the grid ------------------------------------------------------------------------------

def _pick(full: bool, everything, subset):
    return list(everything) if full else list(subset)


def _window_cases(full: bool):
    """CONV_2D and DEPTHWISE_CONV_2D: the DSP geometries (padding, dilation, C % 4 == 0 in
    place, the pair kernel's odd pixel and channel tails, the rolled depthwise tap loop), depth multipliers the DSP kernel declines, float,
    int4 weights (the M4's int4 depthwise kernel's group pairs, odd group, tail, rolled taps)."""
    dsp, corners = test_dsp_kernels, _pick(full, test_dsp_kernels.CORNERS, [""])
    acts = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]
    for g, corner in itertools.product(_pick(full, range(len(dsp.CONV_GEOMETRIES)), [0, 6, 9, 10, 11, 17]),
                                       corners):
        yield Case("CONV_2D/int8", f"dsp{g}{corner}", partial(
            lambda g, c, rng: dsp._window_graph(rng, dsp.CONV_GEOMETRIES[g], False, c,
                                                acts[g % 4]), g, corner))
    for g, corner in itertools.product(
            _pick(full, range(len(dsp.DEPTHWISE_GEOMETRIES)), [0, 4]), corners):
        yield Case("DEPTHWISE_CONV_2D/int8", f"dsp{g}{corner}", partial(
            lambda g, c, rng: dsp._window_graph(rng, dsp.DEPTHWISE_GEOMETRIES[g], True, c,
                                                acts[(g + 1) % 4]), g, corner))
    plane = test_dsp_depthwise_plane  # the 3x3 plane kernel: stride 1 and 2, wide rows
    for g in _pick(full, range(len(plane.PLANE_GEOMETRIES)), [0, 1, 3, 6]):
        yield Case("DEPTHWISE_CONV_2D/int8", f"plane{g}", partial(
            lambda g, rng: plane.depthwise_graph(rng, plane.PLANE_GEOMETRIES[g], "",
                                                 acts[g % 4]), g))
    conv_plane = test_dsp_conv_plane  # size mode's one-input-channel kernel (asm on the M4)
    for g in _pick(full, range(len(conv_plane.PLANE_GEOMETRIES)), [0, 1, 2, 4, 6, 7]):
        yield Case("CONV_2D/int8", f"conv-plane{g}", partial(
            lambda g, rng: conv_plane.plane_graph(rng, g), g))
    for depthwise in (False, True):
        op = "DEPTHWISE_CONV_2D" if depthwise else "CONV_2D"
        for g in _pick(full, range(len(test_conv.GEOMETRIES)), [2]):
            for dtype in ("int8", "float32"):
                yield Case(f"{op}/{dtype}", f"geometry{g}", partial(
                    lambda g, d, t, rng: test_conv._conv_graph(
                        rng, test_conv.GEOMETRIES[g], d, t, "", acts[g]), g, depthwise, dtype))
        for g in _pick(full, range(len(test_int4.CONV_GEOMETRIES)),
                       [1] if depthwise else [0, 4]):
            yield Case(f"{op}/int8", f"int4-{g}", partial(
                lambda g, d, rng: test_int4.conv_graph(rng, test_int4.CONV_GEOMETRIES[g], d),
                g, depthwise))
        if not depthwise:
            rows4 = test_int4.DSP_CONV_GEOMETRIES
            for g in _pick(full, range(len(rows4)), [0, 2]):
                yield Case(f"{op}/int8", f"int4-rows{g}", partial(
                    lambda g, rng: test_int4.conv_graph(rng, rows4[g], False), g))
        if depthwise:
            dsp4 = test_int4.DSP_DEPTHWISE_GEOMETRIES
            for g in _pick(full, range(len(dsp4)), [0, 1]):
                yield Case(f"{op}/int8", f"int4-dsp{g}", partial(
                    lambda g, rng: test_int4.conv_graph(rng, dsp4[g], True), g))
        for g in _pick(full, range(len(test_int4.CONV_GEOMETRIES)), [2 + int(depthwise)]):
            yield Case(f"{op}/int8", f"ternary-{g}", partial(
                lambda g, d, rng: test_ternary.conv_graph(rng, test_int4.CONV_GEOMETRIES[g], d),
                g, depthwise))


def _fully_connected_cases(full: bool):
    """The DSP geometries per channel and per tensor, a weight zero point (DSP declines),
    float, int4 weights (the portable shapes and the M4's int4 kernel's)."""
    dsp, acts = test_dsp_kernels, ["RELU", "NONE", "RELU6", "RELU_N1_TO_1"]
    for g, corner, per_channel in itertools.product(
            _pick(full, range(len(dsp.FC_GEOMETRIES)), [1, 4]),
            _pick(full, dsp.CORNERS, [""]), _pick(full, [True, False], [True])):
        yield Case("FULLY_CONNECTED/int8", f"dsp{g}{corner}{'' if per_channel else '-pt'}",
                   partial(lambda g, c, p, rng: dsp._fc_graph(rng, dsp.FC_GEOMETRIES[g], c, p,
                                                              acts[g % 4]),
                           g, corner, per_channel))
    split = test_dsp_fc_split  # --optimize size: split weight words, both forms, long runs
    for g, kind in itertools.product(_pick(full, range(len(split.GEOMETRIES)), [4, 11]),
                                     _pick(full, ["", "min", "max", "mixed"], ["mixed"])):
        yield Case("FULLY_CONNECTED/int8", f"split{g}{kind}", partial(
            lambda g, k, rng: split.fc_graph(rng, split.GEOMETRIES[g], k), g, kind))
    fc = test_fully_connected
    for s in _pick(full, range(len(fc.SHAPES)), [1]):
        yield Case("FULLY_CONNECTED/int8", f"offset{s}",
                   partial(lambda s, rng: fc._fc_graph(rng, *fc.SHAPES[s], "int8", "", "offset"),
                           s))
        yield Case("FULLY_CONNECTED/float32", f"shape{s}",
                   partial(lambda s, rng: fc._fc_graph(rng, *fc.SHAPES[s], "float32"), s))
    for s in _pick(full, range(len(test_int4.FC_SHAPES)), [0]):
        yield Case("FULLY_CONNECTED/int8", f"int4-{s}", partial(
            lambda s, rng: test_int4.fc_graph(rng, *test_int4.FC_SHAPES[s], per_channel=s % 2),
            s))
    for s in _pick(full, range(len(test_int4.DSP_FC_SHAPES)), [1, 2]):
        yield Case("FULLY_CONNECTED/int8", f"int4-dsp{s}", partial(
            lambda s, rng: test_int4.fc_graph(rng, *test_int4.DSP_FC_SHAPES[s],
                                              per_channel=s % 2), s))
    for s in _pick(full, range(len(test_int4.FC_SHAPES)), [1]):
        yield Case("FULLY_CONNECTED/int8", f"ternary-{s}", partial(
            lambda s, rng: test_ternary.fc_graph(rng, *test_int4.FC_SHAPES[s], per_channel=True),
            s))


def _elementwise_cases(full: bool):
    """ADD, SUB (same shape: the DSP table kernel; broadcast: portable), MUL."""
    shapes = _pick(full, range(len(test_elementwise.SHAPES)), [0, 1])
    for op, s in itertools.product(["ADD", "SUB", "MUL"], shapes):
        for corner in _pick(full, ["", "tiny", "scales"], [""]):
            yield Case(f"{op}/int8", f"shapes{s}{corner}", partial(
                lambda o, s, c, rng: test_elementwise._binary_graph(
                    rng, o, test_elementwise.SHAPES[s], "int8", c), op, s, corner))
        yield Case(f"{op}/float32", f"shapes{s}", partial(
            lambda o, s, rng: test_elementwise._binary_graph(
                rng, o, test_elementwise.SHAPES[s], "float32"), op, s))


def _activation_cases(full: bool):
    """Pooling, SOFTMAX (int8 and int16 outputs), LOGISTIC, TANH and HARD_SWISH (tables and float),
    RELU, RELU6, QUANTIZE, DEQUANTIZE, MEAN, SUM, REDUCE_MAX."""
    for op, dtype in itertools.product(["AVERAGE_POOL_2D", "MAX_POOL_2D"], ["int8", "float32"]):
        for g in _pick(full, range(len(test_pool.GEOMETRIES)), [2]):
            yield Case(f"{op}/{dtype}", f"geometry{g}", partial(
                lambda o, d, g, rng: test_pool._pool_graph(rng, o, test_pool.GEOMETRIES[g], d),
                op, dtype, g))
    dsp = test_dsp_kernels  # the DSP pools (four channels a word) and their fallbacks
    for op, g in itertools.product(["AVERAGE_POOL_2D", "MAX_POOL_2D"],
                                   _pick(full, range(len(dsp.POOL_GEOMETRIES)), [0, 2, 3, 6])):
        _, _, c, kh, kw, _, _ = dsp.POOL_GEOMETRIES[g]
        takes_dsp = c % 4 == 0 and (kh * kw <= 255 or op == "MAX_POOL_2D")  # sums fit int16
        yield Case(f"{op}/int8", f"{'dsp' if takes_dsp else 'fallback'}{g}", partial(
            lambda o, g, rng: dsp._pool_graph(rng, dsp.POOL_GEOMETRIES[g],
                                              ["NONE", "RELU6"][g % 2], o), op, g))
    sm = test_softmax
    for s in _pick(full, range(len(sm.SHAPES)), [1]):
        for scale in _pick(full, [0.0039, 0.05, 0.25, 2.0], [0.05]):
            yield Case("SOFTMAX/int8", f"shape{s}-scale{scale}", partial(
                lambda s, sc, rng: sm._softmax_graph(rng, sm.SHAPES[s], "int8", 1.0, sc),
                s, scale))
            yield Case("SOFTMAX/int8", f"int16-shape{s}-scale{scale}", partial(
                lambda s, sc, rng: sm._int16_output_graph(rng, sm.SHAPES[s], sc), s, scale))
        yield Case("SOFTMAX/float32", f"shape{s}", partial(
            lambda s, rng: sm._softmax_graph(rng, sm.SHAPES[s], "float32", 0.5, 0), s))
    if not full:  # arm-none-eabi-gcc 12.2 -O2 deleted this kernel's call (see model.c.j2)
        yield Case("SOFTMAX/int8", "int16-shape0-scale0.05", partial(
            lambda sc, rng: sm._int16_output_graph(rng, sm.SHAPES[0], sc), 0.05))
    for op in ("LOGISTIC", "TANH"):
        for corner in _pick(full, sorted(test_lut.SCALES), ["random"]):
            yield Case(f"{op}/int8", corner, partial(
                lambda o, c, rng: test_lut._graph(rng, o, c), op, corner))
    for corner in _pick(full, sorted(test_lut.SCALES), ["random"]):
        yield Case("HARD_SWISH/int8", corner, partial(
            lambda c, rng: test_lut.hard_swish_graph(rng, c), corner))
    for corner, alpha in itertools.product(_pick(full, sorted(test_lut.SCALES), ["random"]),
                                           _pick(full, [0.01, 0.3, -0.5], [0.3])):
        yield Case("LEAKY_RELU/int8", f"{corner}-alpha{alpha}",
                   partial(_leaky_relu_int8, corner, alpha))
    yield Case("LEAKY_RELU/float32", "alpha0.25", _leaky_relu_float)
    for op, dtype in itertools.product(["MAXIMUM", "MINIMUM"], ["int8", "float32"]):
        yield Case(f"{op}/{dtype}", "broadcast", partial(_max_min, op, dtype))
    unary = [("RELU", "int8", "int8"), ("RELU6", "int8", "int8"), ("QUANTIZE", "int8", "int8"),
             ("DEQUANTIZE", "int8", "float32"), ("RELU", "float32", "float32"),
             ("RELU6", "float32", "float32"), ("LOGISTIC", "float32", "float32"),
             ("TANH", "float32", "float32"), ("HARD_SWISH", "float32", "float32")]
    for (op, src, dst), corner in itertools.product(unary, _pick(full, ["", "tiny"], [""])):
        yield Case(f"{op}/{src}", f"{dst}{corner}", partial(_unary, op, src, dst, corner))
    yield Case("QUANTIZE/float32", "int8", _quantize_float)
    for case, dtype in itertools.product(_pick(full, range(len(test_mean.CASES)), [0]),
                                         ["int8", "float32"]):
        yield Case(f"MEAN/{dtype}", f"case{case}", partial(_mean, case, dtype))
    for op, case, dtype in itertools.product(["SUM", "REDUCE_MAX"],
                                             _pick(full, range(len(test_reduce.CASES)), [0, 3]),
                                             ["int8", "float32"]):
        yield Case(f"{op}/{dtype}", f"case{case}", partial(
            lambda o, c, d, rng: test_reduce.reduce_graph(o, c, d, rng), op, case, dtype))
    for case in _pick(full, range(len(test_reduce.CASES)), [0]):
        yield Case("REDUCE_ANY/bool", f"case{case}", partial(
            lambda c, rng: test_reduce.reduce_graph("REDUCE_ANY", c, "bool", rng), case))


def _layout_cases(full: bool):
    """PAD, TRANSPOSE, CONCATENATION, RESHAPE, SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND on every
    dtype they have a rule for."""
    for dtype in LAYOUT_DTYPES:
        for value in _pick(full, [None, 5], [5 if dtype == "int8" else None]):
            yield Case(f"PAD/{dtype}", f"value{value}", partial(_pad, dtype, value))
        for perm in _pick(full, [(0, 3, 1, 2), (2, 0, 3, 1)], [(2, 0, 3, 1)]):
            yield Case(f"TRANSPOSE/{dtype}", "perm" + "".join(map(str, perm)),
                       partial(_transpose, dtype, perm))
        for axis in _pick(full, [1, -1], [-1]):
            yield Case(f"CONCATENATION/{dtype}", f"axis{axis}",
                       partial(_concatenation, dtype, axis))
        yield Case(f"RESHAPE/{dtype}", "flatten", partial(_reshape, dtype))
        yield Case(f"SPACE_TO_BATCH_ND/{dtype}", "random", partial(_space_to_batch, dtype))
        yield Case(f"BATCH_TO_SPACE_ND/{dtype}", "random", partial(_batch_to_space, dtype))


def _issue11_cases(full: bool):
    """The ops of issue 11's missing-ops list: TRANSPOSE_CONV, PRELU, MIRROR_PAD, the two
    resizes, BATCH_MATMUL, grouped CONV_2D (portable on the M4F too), dilated pools,
    STRIDED_SLICE."""
    tc = test_transpose_conv
    for g, dtype in itertools.product(_pick(full, range(len(tc.GEOMETRIES)), [0, 4]),
                                      ["int8", "float32"]):
        yield Case(f"TRANSPOSE_CONV/{dtype}", f"geometry{g}", partial(
            lambda g, d, rng: tc.transpose_conv_graph(rng, g, d, "", ("NONE", "RELU")[g % 2]),
            g, dtype))
    for c, dtype in itertools.product(_pick(full, range(len(test_prelu.CASES)), [0]),
                                      ["int8", "float32"]):
        yield Case(f"PRELU/{dtype}", f"case{c}", partial(
            lambda c, d, rng: test_prelu.prelu_graph(rng, c, d), c, dtype))
    for dtype in LAYOUT_DTYPES:
        for mode in _pick(full, ["REFLECT", "SYMMETRIC", "EDGE"],
                          ["EDGE" if dtype == "int16" else "REFLECT"]):
            yield Case(f"MIRROR_PAD/{dtype}", mode, partial(
                lambda m, d, rng: test_mirror_pad.mirror_pad_graph(1, m, d), mode, dtype))
    for op, dtype in itertools.product(["RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR"],
                                       ["int8", "float32"]):
        for c in _pick(full, range(len(test_resize.CASES) - 1), [2 if dtype == "int8" else 1]):
            yield Case(f"{op}/{dtype}", f"case{c}", partial(
                lambda o, c, d, rng: test_resize.resize_graph(o, c, d), op, c, dtype))
    for c, dtype in itertools.product(_pick(full, range(4), [2]), ["int8", "float32"]):
        yield Case(f"BATCH_MATMUL/{dtype}", f"case{c}", partial(
            lambda c, d, rng: test_batch_matmul.batch_matmul_graph(rng, c, d), c, dtype))
    for dtype in ("int8", "float32"):
        yield Case(f"CONV_2D/{dtype}", "grouped3", partial(
            lambda d, rng: test_conv.grouped_conv_graph(rng, d, 3), dtype))
        for op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
            yield Case(f"{op}/{dtype}", "dilated", partial(
                lambda o, d, rng: test_pool.dilated_pool_graph(rng, o, d), op, dtype))
    for dtype in LAYOUT_DTYPES:
        yield Case(f"STRIDED_SLICE/{dtype}", "negative-steps", partial(
            lambda d, rng: test_strided_slice.strided_slice_graph(0, d), dtype))


def _int16_cases(full: bool):
    """16x8: every int16 rule once (``tests/lower/test_int16.py``'s graphs); the 16x8 DSP
    kernels on ``tests/lower/test_dsp_int16.py``'s geometries and requantization corners
    (several int32 chunks: FULLY_CONNECTED geometry 5), ADD, SUB and MUL."""
    for rule, label in test_int16.CASES:
        yield Case(rule, f"16x8-{label}", test_int16.GRAPHS[rule][label])
    dsp, acts = test_dsp_int16, test_dsp_int16.ACTIVATIONS
    corners = _pick(full, dsp.CORNERS, ["", "huge"])
    for g, corner in itertools.product(_pick(full, range(len(dsp.CONV_GEOMETRIES)), [0, 6, 9]),
                                       corners):
        yield Case("CONV_2D/int16", f"dsp16-{g}{corner}", partial(
            lambda g, c, rng: dsp.window_graph(rng, dsp.CONV_GEOMETRIES[g], False, c,
                                               acts[g % 4]), g, corner))
    for g, corner in itertools.product(
            _pick(full, range(len(dsp.DEPTHWISE_GEOMETRIES)), [0, 4]), corners):
        yield Case("DEPTHWISE_CONV_2D/int16", f"dsp16-{g}{corner}", partial(
            lambda g, c, rng: dsp.window_graph(rng, dsp.DEPTHWISE_GEOMETRIES[g], True, c,
                                               acts[(g + 1) % 4]), g, corner))
    for g, corner in itertools.product(
            _pick(full, range(len(dsp.FC16_GEOMETRIES)), [1, 5]),
            _pick(full, dsp.CORNERS, ["big"])):
        yield Case("FULLY_CONNECTED/int16", f"dsp16-{g}{corner}", partial(
            lambda g, c, rng: dsp.fc_graph(rng, dsp.FC16_GEOMETRIES[g], c, True,
                                           acts[(g + 2) % 4]), g, corner))
    for op, g, corner in itertools.product(
            ("ADD", "SUB", "MUL"), _pick(full, range(len(dsp.ELEMENTWISE_SHAPES)), [0]),
            _pick(full, ["", "equal", "huge", "zp"], ["huge"])):
        yield Case(f"{op}/int16", f"dsp16-{g}{corner}", partial(
            lambda o, g, c, rng: dsp.elementwise_graph(rng, o, dsp.ELEMENTWISE_SHAPES[g], c,
                                                       "RELU"), op, g, corner))


def _lstm(case: dict, rng) -> Graph:
    from edgec.frontends.tflite import load_tflite
    from tests.ops.test_lstm import build_lstm

    return load_tflite(build_lstm(rng, **case))


def _gru(linear: bool, rng) -> Graph:
    """A float GRU, time-major [5, 2, 3] -> hidden 4, with biases and an initial state."""
    steps, batch, features, hidden = 5, 2, 3, 4
    consts = {"w": (3 * hidden, features), "r": (3 * hidden, hidden), "wb": (3 * hidden,),
              "rb": (3 * hidden,), "h0": (batch, hidden)}
    x = Tensor("x", (steps, batch, features), "float32")
    ins = [x] + [Tensor(k, shape, "float32", rng.uniform(-0.7, 0.7, shape).astype(np.float32))
                 for k, shape in consts.items()]
    y = Tensor("y", (steps, batch, hidden), "float32")
    return single_node_graph("GRU", ins, [y], {"time_major": True,
                                               "linear_before_reset": linear})


def _svdf(case: dict, rng) -> Graph:
    from edgec.frontends.tflite import load_tflite
    from tests.ops.test_svdf import build_svdf

    return load_tflite(build_svdf(rng, **case))


def _recurrent_cases(full: bool):
    """UNIDIRECTIONAL_SEQUENCE_LSTM: the hand-built int8 and 16x8 models of tests/ops/test_lstm.py
    (all of them in the full grid, with odd sizes for the DSP kernel) and a float one; GRU (float); SVDF, whose state carries
    from sample to sample (``run_grid`` compares with a reference that carries it too)."""
    from tests.ops.test_lstm import BUILT, BUILT_16X8

    for i in _pick(full, range(len(BUILT)), [1]):
        yield Case("UNIDIRECTIONAL_SEQUENCE_LSTM/int8", f"built{i}", partial(_lstm, BUILT[i]))
    for i in _pick(full, range(len(BUILT_16X8)), [1]):
        yield Case("UNIDIRECTIONAL_SEQUENCE_LSTM/int16", f"built{i}",
                   partial(_lstm, dict(dtype="int16", **BUILT_16X8[i])))
    # the DSP kernel's padded reductions and gate rows crossing blocks of four (hidden 7)
    odd = dict(features=9, hidden=7, batch=2, steps=4)
    for dtype in _pick(full, ["int8", "int16"], []):
        zp = dict(h_zp=17) if dtype == "int8" else dict(x_scale=3e-4, h_scale=1 / 32768)
        yield Case(f"UNIDIRECTIONAL_SEQUENCE_LSTM/{dtype}", "odd_sizes",
                   partial(_lstm, dict(dtype=dtype, **odd, **zp)))
    yield Case("UNIDIRECTIONAL_SEQUENCE_LSTM/float32", "time_major_clip",
               partial(_lstm, dict(dtype="float32", time_major=True, batch=2, cell_clip=0.8)))
    from tests.test_onnx_lstm_state import y_c_node

    for dtype in _pick(full, ["float32", "int8", "int16"], ["int16"]):
        # an ONNX LSTM's Y_c node reading run-time initial states (tests/test_onnx_lstm_state)
        yield Case(f"UNIDIRECTIONAL_SEQUENCE_LSTM/{dtype}", "run_time_state_y_c",
                   partial(lambda d, rng: y_c_node(d), dtype))
    for linear in _pick(full, [False, True], [True]):
        yield Case("GRU/float32", f"linear_before_reset{int(linear)}", partial(_gru, linear))
    from tests.ops.test_svdf import CASES as SVDF_CASES

    for i in _pick(full, range(len(SVDF_CASES)), [1]):
        yield Case("SVDF/int8", f"case{i}", partial(_svdf, SVDF_CASES[i]))
    yield Case("SVDF/float32", "relu", partial(_svdf, dict(dtype="float32", activation="RELU")))


def _delay_line(dtype: str, rng) -> Graph:
    """A variable as a delay line: y = the variable (READ_VARIABLE), then the variable = x
    (ASSIGN_VARIABLE, its output a second graph output): each sample's y is the previous
    sample's x, the first one's the variable's random initial value."""
    from edgec.ir import Node, QuantParams, check_graph

    shape = (1, 5)
    quant = None if dtype == "float32" else QuantParams(0.05, 3)
    info = None if dtype == "float32" else np.iinfo(dtype)
    initial = rng.uniform(-2, 2, shape).astype(np.float32) if info is None else \
        rng.integers(info.min, info.max + 1, shape).astype(dtype)
    g = Graph(name="delay")
    g.add_tensor(Tensor("v", shape, dtype, initial, quant))
    for name in ("x", "y", "v_assigned"):
        g.add_tensor(Tensor(name, shape, dtype, None, quant))
    g.nodes = [Node("READ_VARIABLE", ["v"], ["y"], name="read"),
               Node("ASSIGN_VARIABLE", ["v", "x"], ["v_assigned"], name="assign")]
    g.inputs, g.outputs = ["x"], ["y", "v_assigned"]
    return check_graph(g)


def _variable_cases(full: bool):
    """READ_VARIABLE and ASSIGN_VARIABLE: a delay line per dtype, its state carried from
    sample to sample (``run_grid``'s reference carries it too)."""
    from edgec.ir.ops.variable import DTYPES

    for dtype in DTYPES:
        for op in ("READ_VARIABLE", "ASSIGN_VARIABLE"):
            yield Case(f"{op}/{dtype}", "delay_line", partial(_delay_line, dtype))


def _plain(make, key: str, rng) -> Graph:
    """``make``'s graph on plain integers of dispatch key ``key`` (``plain_int8`` ...): built
    for the key's dtype, then every quantization and fused activation removed."""
    graph = make(key_dtype(key), rng)
    for tensor in graph.tensors.values():
        tensor.quant = None
    for node in graph.nodes:
        if "activation" in node.attrs:
            node.attrs["activation"] = "NONE"
    return check_graph(graph)


def _cast(src: str, dst: str, rng) -> Graph:
    return single_node_graph("CAST", [Tensor("x", (3, 11), src)], [Tensor("y", (3, 11), dst)])


def _unary_float(op: str, rng) -> Graph:
    return single_node_graph(op, [Tensor("x", (3, 11), "float32")],
                             [Tensor("y", (3, 11), "float32")])


def _max_pool_indices(storage_order: int, rng) -> Graph:
    attrs = dict(filter=(3, 2), strides=(2, 1), pads=(1, 0, 1, 1), storage_order=storage_order)
    return single_node_graph("MAX_POOL_2D_INDICES", [Tensor("x", (1, 7, 6, 3), "float32")],
                             [Tensor("y", (1, 3, 4, 6), "int32")], attrs)


def _plain_int_cases(full: bool):
    """Plain (unquantized) integers on every integer dtype: the arithmetic (wrap-around,
    DIV truncating with x / 0 = 0), MAXIMUM / MINIMUM, the byte movers, MAX_POOL_2D, CAST
    both ways, int32 / int64 POW; and the float-only DIV, SQRT, POW, FMOD and
    MAX_POOL_2D_INDICES."""
    supported_rules = set(supported())
    movers = {
        "PAD": lambda d, rng: _pad(d, 5, rng),
        "TRANSPOSE": lambda d, rng: _transpose(d, (2, 0, 3, 1), rng),
        "CONCATENATION": lambda d, rng: _concatenation(d, -1, rng),
        "RESHAPE": _reshape, "SPACE_TO_BATCH_ND": _space_to_batch,
        "BATCH_TO_SPACE_ND": _batch_to_space,
        "STRIDED_SLICE": lambda d, rng: test_strided_slice.strided_slice_graph(0, d),
        "MIRROR_PAD": lambda d, rng: test_mirror_pad.mirror_pad_graph(1, "REFLECT", d),
        "MAX_POOL_2D": lambda d, rng: test_pool.dilated_pool_graph(rng, "MAX_POOL_2D", d)}
    for key in PLAIN_INT_KEYS:
        for op in ("ADD", "SUB", "MUL", "DIV", "MAXIMUM", "MINIMUM"):
            yield Case(f"{op}/{key}", "broadcast", partial(
                _plain, lambda d, rng, o=op: _max_min(o, d, rng), key))
        for op, make in movers.items():
            if f"{op}/{key}" in supported_rules:
                yield Case(f"{op}/{key}", "plain", partial(_plain, make, key))
        dtype = key_dtype(key)
        yield Case(f"CAST/{key}", "to_float32", partial(_plain, lambda d, rng: _cast(
            d, "float32", rng), key))
        yield Case("CAST/float32", f"to_{key}", partial(_cast, "float32", dtype))
    for src, dst in (("bool", "float32"), ("bool", "int32"), ("float32", "bool"),
                     ("int32", "bool")):
        yield Case(f"CAST/{src}", f"to_{dst}", partial(_cast, src, dst))
    yield Case("DIV/float32", "broadcast", partial(_max_min, "DIV", "float32"))
    yield Case("SQRT/float32", "normal", partial(_unary_float, "SQRT"))
    for op in ("POW", "FMOD"):  # powf / fmodf
        yield Case(f"{op}/float32", "broadcast", partial(_max_min, op, "float32"))
    for dtype in INT_POW_DTYPES:  # the ipow helper: wrapping, negative exponents
        yield Case(f"POW/{dtype}", "broadcast", partial(
            _plain, lambda d, rng: _max_min("POW", d, rng), dtype))
    for order in _pick(full, [0, 1], [1]):
        yield Case("MAX_POOL_2D_INDICES/float32", f"storage_order{order}",
                   partial(_max_pool_indices, order))


COMPARISONS = ("EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL")


def _e8m0_round_trip(round_mode: str, rng) -> Graph:
    """float32 -> float8 E8M0 (``round_mode``) -> float32: the E8M0 encoder, then its decoder
    (the rule ``CAST/float8_e8m0fnu``) on its codes."""
    graph = Graph()
    for name, dtype in (("x", "float32"), ("scale", "float8_e8m0fnu"), ("y", "float32")):
        graph.add_tensor(Tensor(name, (3, 11), dtype))
    graph.inputs, graph.outputs = ["x"], ["y"]
    graph.nodes = [Node("CAST", ["x"], ["scale"], {"round_mode": round_mode}, "encode"),
                   Node("CAST", ["scale"], ["y"], {}, "decode")]
    return check_graph(graph)


def _float_format_cases_2(full: bool):
    """FMOD and POW on float64 / float16 / bfloat16 (fmod / pow on doubles; fmodf between the
    minifloat helpers) and float8 E8M0's encoder (every round_mode) and decoder."""
    for op in ("FMOD", "POW"):
        for dtype in OTHER_FLOAT_DTYPES:
            yield Case(f"{op}/{dtype}", "broadcast", partial(_max_min, op, dtype))
    for mode in _pick(full, ["up", "down", "nearest"], ["nearest"]):
        yield Case("CAST/float8_e8m0fnu", f"round_trip_{mode}", partial(_e8m0_round_trip, mode))


def _compare(op: str, key: str, rng) -> Graph:
    """A comparison with broadcasting into bool; quantized int8 inputs at two scales below 1
    (TFLM rescales both before comparing)."""
    dtype = key_dtype(key)
    qa = QuantParams(np.float32(0.0371), -7) if key == "int8" else None
    qb = QuantParams(np.float32(0.0123), 20) if key == "int8" else None
    ins = [Tensor("a", (2, 3, 4), dtype, quant=qa), Tensor("b", (3, 1), dtype, quant=qb)]
    if op == "LOGICAL_NOT":
        ins = ins[:1]
    return single_node_graph(op, ins, [Tensor("y", (2, 3, 4), "bool")])


def _select(dtype: str, rng) -> Graph:
    q = QuantParams(np.float32(0.05), -3) if dtype == "int8" else None
    return single_node_graph("SELECT_V2", [Tensor("c", (2, 3, 1), "bool"),
                                           Tensor("x", (1, 3, 5), dtype, quant=q),
                                           Tensor("y", (2, 1, 5), dtype, quant=q)],
                             [Tensor("out", (2, 3, 5), dtype, quant=q)])


def _log_softmax_int8(scale: float, depth: int, rng) -> Graph:
    """int8 LOG_SOFTMAX (output fixed at scale 16/256, zero point 127, as TFLM requires)."""
    return single_node_graph(
        "LOG_SOFTMAX", [Tensor("x", (3, depth), "int8", quant=QuantParams(np.float32(scale), 9))],
        [Tensor("y", (3, depth), "int8", quant=QuantParams(np.float32(16 / 256), 127))])


# (a, b, output) quantizations: the final rounding shift passing 31 (TFLM's x86 semantics),
# a clamped RELU6 output, a large quotient.
_DIV_QUANTS = [((0.388, 43), (0.289, 67), (9.75, -30), "NONE"),
               ((0.0035, -29), (0.77, 88), (0.0174, 6), "RELU6"),
               ((8.38, -31), (0.4, 47), (0.567, 52), "NONE")]


def _div_int8(k: int, rng) -> Graph:
    """int8 DIV with broadcasting (zero divisors included when b's code equals its zero
    point)."""
    (s1, z1), (s2, z2), (so, zo), act = _DIV_QUANTS[k]
    return single_node_graph(
        "DIV", [Tensor("a", (3, 16), "int8", quant=QuantParams(np.float32(s1), z1)),
                Tensor("b", (16,), "int8", quant=QuantParams(np.float32(s2), z2))],
        [Tensor("y", (3, 16), "int8", quant=QuantParams(np.float32(so), zo))],
        {"activation": act})


def _logic_cases(full: bool):
    """Comparisons (float32, quantized int8, every plain integer, bool for (NOT_)EQUAL),
    LOGICAL_NOT/AND/OR, SELECT_V2 (its rule is keyed by the bool condition), EXP, LOG, ERF
    and LOG_SOFTMAX (float32; int8 at input scales whose cut-offs differ)."""
    supported_rules = set(supported())
    for op in (*COMPARISONS, "LOGICAL_NOT", "LOGICAL_AND", "LOGICAL_OR"):
        for key in ("float32", "int8", "bool", *PLAIN_INT_KEYS):
            if f"{op}/{key}" in supported_rules:
                yield Case(f"{op}/{key}", "broadcast", partial(_compare, op, key))
    for dtype in _pick(full, ["float32", "int8", "uint16", "int64"], ["float32", "int8"]):
        yield Case("SELECT_V2/bool", dtype, partial(_select, dtype))
    for op in ("EXP", "LOG", "ERF", "LOG_SOFTMAX"):
        yield Case(f"{op}/float32", "normal", partial(_unary_float, op))
    for k in _pick(full, range(3), [0]):
        yield Case("DIV/int8", f"quant{k}", partial(_div_int8, k))
    for scale, depth in _pick(full, [(0.01, 11), (0.25, 40), (3.0, 7)], [(0.25, 40)]):
        yield Case("LOG_SOFTMAX/int8", f"scale{scale}-depth{depth}",
                   partial(_log_softmax_int8, scale, depth))


def _float_format_cases(full: bool):
    """The other float formats (float64 and the minifloats) and the narrow integers: CAST to and
    from float32 (the minifloat helpers, wrapping to 2 and 4 bits), MAXIMUM / MINIMUM on the
    float formats that have them."""
    from edgec.ir.floats import OTHER_FLOATS
    from edgec.ir.graph import NARROW_INT_DTYPES

    supported_rules = set(supported())
    for src, dst in (("float16", "int4"), ("float64", "int32"), ("bfloat16", "bool")):
        yield Case(f"CAST/{src}", f"to_{dst}", partial(_cast, src, dst))  # through a double
    for dtype in (*OTHER_FLOATS, *NARROW_INT_DTYPES):
        if f"CAST/{dtype}" in supported_rules:
            yield Case(f"CAST/{dtype}", "to_float32", partial(_cast, dtype, "float32"))
            yield Case("CAST/float32", f"to_{dtype}", partial(_cast, "float32", dtype))
        for op in ("MAXIMUM", "MINIMUM"):
            if f"{op}/{dtype}" in supported_rules:
                yield Case(f"{op}/{dtype}", "broadcast", partial(_max_min, op, dtype))


def cases(full: bool = False) -> list[Case]:
    """The CI subset, or (``full``) every geometry and corner with three seeds."""
    one = [*_window_cases(full), *_fully_connected_cases(full), *_elementwise_cases(full),
           *_activation_cases(full), *_layout_cases(full), *_issue11_cases(full),
           *_int16_cases(full), *_recurrent_cases(full), *_variable_cases(full),
           *_plain_int_cases(full), *_logic_cases(full), *_float_format_cases(full),
           *_float_format_cases_2(full)]
    seeds = range(3) if full else [0]
    return [Case(c.rule, c.label, c.make, seed) for seed in seeds for c in one]


# ---- running -------------------------------------------------------------------------------

def _is_dsp(kernels) -> bool:
    return any("dsp" in k.helpers for k in kernels)


def run_grid(grid: list[Case], config: Config, cache_dir=None,
             work: Path | None = None) -> list[Outcome]:
    """Every case of ``grid`` built for ``config``, run in QEMU, compared with the reference."""
    with tempfile.TemporaryDirectory(prefix="edgec-ops-") as tmp:
        folder = Path(work or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        graphs = [case.graph() for case in grid]
        results = [emit_graph(g, folder, f"g{i}", config.target, optimize=config.optimize,
                              cache_dir=cache_dir) for i, g in enumerate(graphs)]
        samples = [random_inputs(g, SAMPLES, seed=i) for i, g in enumerate(graphs)]
        actual = run_models(results, samples)
    outcomes = []
    for case, graph, result, inputs, got in zip(grid, graphs, results, samples, actual):
        state: dict = {}  # stateful ops (SVDF, variables) carry their state sample to sample
        expected = [[interpret(graph, dict(zip(graph.inputs, s)), state=state)[n]
                     for n in graph.outputs] for s in inputs]
        verdict = compare(graph, expected, got)
        outcomes.append(Outcome(case, verdict.ok, verdict.message, _is_dsp(result.kernels)))
    return outcomes


def failures(outcomes: list[Outcome], config: Config) -> list[str]:
    """One line per case that did not match: configuration, case, first difference."""
    return [f"{config.label} {o.case.id}: {o.message}" for o in outcomes if not o.ok]
