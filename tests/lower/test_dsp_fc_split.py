"""The split-word int8-weight FULLY_CONNECTED (``edgec.lower.dsp.fc_split``, ``--optimize
size``): one weight word holds two output channels' weights for two reduction values, one
SMLAD accumulates both (256 * o1 + o2), SXTB16 or UXTB16 isolates o2's for a second.

The C runs on the host through the intrinsics' plain-C stand-ins and must equal
``edgec.ir.interpret`` bit for bit: odd and small K (the stack tail), odd output counts
(padded blocks), per-channel and per-tensor scales, input zero points (folded into the
bias), both forms (signed; biased where a -128 weight meets a negative partner), long
reductions cut into runs, and inputs and weights at -128 / 127 with output scales that keep
the largest sums in range (so a wrong accumulator could not hide behind saturation). Both
the kernel widening the row into scratch and the memory variant reading it in place
(``no_scratch``). The M4 build (GCC at -O0/-O2/-Os, clang) is warning-free, and GCC at -O2
takes the asm micro-kernel.
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from edgec.ir import QuantParams, Tensor, interpret
from edgec.lower.dsp import fc_split
from edgec.verify import compile_host, random_inputs, run_harness
from tests.lower.harness import needs_gcc, single_node_graph
from tests.lower.test_dsp_kernels import ARM_FLAGS, ARM_SYSROOT, DSP_TARGET, _emit

# (rows, K, O): K odd / not a multiple of 4 / below 4, O odd / below 4, K needing several
# loop turns and runs (640: AD's first layer), one-group rows; then outputs longer than the
# widened row (in place, it borrows the output row: AD's last layer 128 -> 640, an odd K and
# O, rows of 41 outputs not word-aligned after the first).
GEOMETRIES = [(1, 64, 12), (1, 13, 7), (3, 5, 1), (2, 8, 9), (1, 640, 20), (1, 3, 5),
              (1, 131, 6), (2, 36, 4), (1, 128, 18), (1, 1000, 3),
              (2, 8, 40), (1, 13, 39), (1, 128, 640), (3, 6, 41)]


def _weights(rng, shape, kind: str) -> np.ndarray:
    if kind == "min":  # all -128: the biased form, the largest positive sums
        return np.full(shape, -128, np.int8)
    if kind == "max":
        return np.full(shape, 127, np.int8)
    if kind == "mixed":  # -128 next to negatives: the biased form
        return rng.choice(np.array([-128, 127, -1, 0], np.int8), shape)
    return rng.integers(-127, 128, shape).astype(np.int8)


def fc_graph(rng, geometry, kind: str = "", per_channel: bool = True, x_zp: int | None = None,
             activation: str = "NONE", bias_scale: int = 5000):
    rows, k, o = geometry
    data = _weights(rng, (o, k), kind)
    n = o if per_channel else 1
    w_s = rng.uniform(0.001, 0.05, n).astype(np.float32)
    w = Tensor("w", (o, k), "int8", data,
               QuantParams(w_s, np.zeros(n, np.int64), 0 if per_channel else None))
    x_s = float(rng.uniform(0.005, 0.2))
    zp = int(rng.integers(-128, 128)) if x_zp is None else x_zp
    x = Tensor("x", (rows, k), "int8", quant=QuantParams(np.float32(x_s), zp))
    b = Tensor("b", (o,), "int32", rng.integers(-bias_scale, bias_scale, o).astype(np.int32),
               QuantParams(1e-4, 0))
    # output scale: the largest |sum| (inputs minus zp within 255) maps to about 100
    largest = 255 * 128 * k * float(w_s.max()) * x_s
    y = Tensor("y", (rows, o), "int8", quant=QuantParams(np.float32(largest / 100), 0))
    return single_node_graph("FULLY_CONNECTED", [x, w, b], [y], dict(activation=activation))


def _samples(graph, seed):
    shape = graph.tensors["x"].shape
    return random_inputs(graph, 2, seed) + [[np.full(shape, -128, np.int8)],
                                           [np.full(shape, 127, np.int8)]]


def _check(graph, tmp_path, cache_dir, seed: int, wide: bool):
    prefer = () if wide else ("no_scratch",)
    result = _emit(graph, DSP_TARGET, tmp_path, cache_dir, "size", prefer=prefer)
    (kernel,) = result.kernels
    assert "dsp_split" in kernel.helpers
    o, k = graph.tensors["w"].shape
    assert kernel.scratch_bytes == (8 * -(-k // 4) if wide else 0)
    assert ("int32_t *wide" in kernel.c_source) == (not wide and 8 * -(-k // 4) < o)
    samples = _samples(graph, seed)
    for sample, (got,) in zip(samples, run_harness(compile_host(result), graph, samples)):
        np.testing.assert_array_equal(got, interpret(graph, {"x": sample[0]})["y"])
    return kernel


@needs_gcc
@pytest.mark.parametrize("wide", [True, False], ids=["scratch", "in_place"])
@pytest.mark.parametrize("per_channel", [True, False], ids=["per_channel", "per_tensor"])
@pytest.mark.parametrize("geometry", range(len(GEOMETRIES)))
def test_matches_reference(tmp_path, cache_dir, geometry, per_channel, wide):
    rng = np.random.default_rng([geometry, per_channel, wide, 15])
    activation = ["RELU", "NONE", "RELU6", "RELU_N1_TO_1"][geometry % 4]
    graph = fc_graph(rng, GEOMETRIES[geometry], per_channel=per_channel, activation=activation)
    kernel = _check(graph, tmp_path, cache_dir, geometry, wide)
    # random weights in [-127, 127]: the signed form, no input sum
    assert "uxtb16" not in kernel.c_source and "edgec_sum_s8" not in kernel.c_source


@needs_gcc
@pytest.mark.parametrize("wide", [True, False], ids=["scratch", "in_place"])
@pytest.mark.parametrize("kind", ["min", "max", "mixed"])
@pytest.mark.parametrize("geometry", [(1, 640, 6), (1, 13, 7), (2, 1021, 5)])
def test_extreme_values_are_exact(tmp_path, cache_dir, geometry, kind, wide):
    """Weights and inputs at -128 / 127, output scales keeping the sums in range: the
    largest sums (128 * 128 * K) need several runs; -128 weights take the biased form."""
    rng = np.random.default_rng([geometry[1], len(kind), wide])
    for zp in (-128, 0, 127):
        graph = fc_graph(rng, geometry, kind, per_channel=zp != 0, x_zp=zp)
        kernel = _check(graph, tmp_path, cache_dir, zp & 0xFF, wide)
        biased = kind != "max"
        assert ('("uxtb16")' in kernel.c_source) == biased
        assert ("edgec_sum_s8" in kernel.c_source) == biased


@needs_gcc
def test_large_bias_is_not_folded(tmp_path, cache_dir):
    """A bias too large to ride in the accumulator (256 times it) is added after."""
    rng = np.random.default_rng(3)
    graph = fc_graph(rng, (1, 40, 8), bias_scale=1 << 30)
    kernel = _check(graph, tmp_path, cache_dir, 3, True)
    assert "a2 = bias[o]" in kernel.c_source


def _split_sums(words: np.ndarray, x: np.ndarray, cout_padded: int, groups: int, signed: bool):
    """The micro-kernel's arithmetic in numpy: per channel pair (a - b) / 256 and b."""
    w = words.view(np.uint32).astype(np.int64).reshape(cout_padded // 4, groups, 2, 2)
    xs = np.zeros(4 * groups, np.int64)
    xs[:x.size] = x
    xg = xs.reshape(groups, 4)
    e = np.stack([xg[:, 0], xg[:, 2]], -1)  # SXTB16: {x0 low, x2 high}
    o = np.stack([xg[:, 1], xg[:, 3]], -1)  # SXTB16 ROR #8: {x1, x3}
    halves = np.stack([w & 0xFFFF, w >> 16], -1)  # [..., lo, hi]
    h16 = (halves ^ 0x8000) - 0x8000
    low = (halves & 0xFF) if not signed else ((halves & 0xFF) ^ 0x80) - 0x80
    xx = np.stack([e, o], 1)[None, :, None]  # [1, group, 1, word, half]
    a = (h16 * xx).sum(axis=(1, 3, 4))
    b = (low * xx).sum(axis=(1, 3, 4))
    return ((a - b) // 256).reshape(-1), b.reshape(-1)


@pytest.mark.parametrize("kind", ["", "min", "max", "mixed"])
def test_split_words_hold_both_channels(kind):
    """The words' layout, checked against the SMLAD arithmetic it is built for."""
    rng = np.random.default_rng(len(kind))
    for o, k in [(8, 16), (5, 13), (4, 4)]:
        w = _weights(rng, (o, k), kind)
        cout_padded, groups = -(-o // 4) * 4, -(-k // 4)
        signed = fc_split.signed_form(w, cout_padded)
        assert signed == (kind in ("", "max"))
        x = rng.integers(-128, 128, k)
        s1, b = _split_sums(fc_split.split_words(w, cout_padded, groups, signed), x,
                            cout_padded, groups, signed)
        full = np.zeros((cout_padded, k), np.int64)
        full[:o] = w
        expected = full @ x
        np.testing.assert_array_equal(s1, expected[0::2])
        np.testing.assert_array_equal(b - (0 if signed else 128 * x.sum()), expected[1::2])


def test_runs_keep_sums_within_the_limit():
    w = np.full((4, 1000), -128, np.int8)
    runs = fc_split.runs(w, 250, np.zeros(2, np.int64))
    assert sum(n for _, n in runs) == 250 and [s for s, _ in runs] == [0, 127]
    assert all(n * 4 * 128 * 128 <= fc_split.LIMIT for _, n in runs)
    small = np.ones((4, 1000), np.int8)
    assert fc_split.runs(small, 250, np.full(2, fc_split.LIMIT // 2)) == [(0, 250)]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="no Arm toolchain")
def test_cortex_m4_builds(tmp_path, cache_dir):
    """GCC at -O0/-O2/-Os and clang build the kernel warning-free in both forms, scratch
    and in place (the output row borrowed too); GCC at -O2 takes the asm (LDM of the weight
    words, of the widened row)."""
    rng = np.random.default_rng(11)
    graphs = [fc_graph(rng, (1, 131, 6)), fc_graph(rng, (1, 640, 9), "mixed"),
              fc_graph(rng, (1, 13, 39))]  # in place: the output row borrowed
    clang = shutil.which("clang") and (ARM_SYSROOT / "include").is_dir()
    clang_flags = ["--target=arm-none-eabi", "-isystem", str(ARM_SYSROOT / "include"), "-O2",
                   *[f for f in ARM_FLAGS if not f.startswith("-mfpu")], "-mfpu=fpv4-sp-d16"]
    for index, graph in enumerate(graphs):
        for prefer in ((), ("no_scratch",)):
            out = tmp_path / f"{index}{len(prefer)}"
            out.mkdir()
            _emit(graph, DSP_TARGET, out, cache_dir, "size", prefer=prefer)
            for opt in ("-O0", "-O2", "-Os"):
                done = subprocess.run(["arm-none-eabi-gcc", *ARM_FLAGS, opt, "-I", str(out),
                                       str(out / "m.c"), "-o", str(out / "m.o")],
                                      capture_output=True, text=True)
                assert done.returncode == 0 and done.stderr == "", done.stderr
            asm = subprocess.run(["arm-none-eabi-gcc", *ARM_FLAGS[:-1], "-O2", "-S", "-I",
                                  str(out), str(out / "m.c"), "-o", "-"],
                                 capture_output=True, text=True, check=True).stdout
            assert "ldm lr!, {r0-r3}" in asm
            assert ("ldm ip!, {r4-r7}" in asm) == (not prefer or graph.tensors["w"].shape[0] == 39)
            if clang:
                done = subprocess.run(["clang", *clang_flags, "-I", str(out), str(out / "m.c"),
                                       "-o", str(out / "m.o")], capture_output=True, text=True)
                assert done.returncode == 0 and done.stderr == "", done.stderr


def test_default_size_build_keeps_the_arena_bound(tmp_path):
    """Where the default build chooses size (AD's speed weights exceed half of the
    nRF52840's 1 MB flash), the split kernel's row scratch would raise AD's 768 B arena on
    the first and last layers: those take the in-place variant (the last one widening its
    row into its longer output row), the others keep the faster widened row."""
    from edgec.build import build
    from edgec.options import BuildOptions
    from tests.shared_models import MODELS_DIR

    path = MODELS_DIR / "ad_fc_autoencoder_int8.tflite"
    if not path.is_file():
        pytest.skip(f"{path} not available")
    result = build(path, tmp_path, BuildOptions(target="nrf52840dk"))
    assert result.plan.arena_bytes == 768
    assert all("dsp_split" in k.helpers for k in result.kernels)
    assert [k.scratch_bytes > 0 for k in result.kernels] == [False] + [True] * 8 + [False]
    assert "int32_t *wide" in result.kernels[-1].c_source
