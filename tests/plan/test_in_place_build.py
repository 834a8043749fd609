"""In place end to end: a model whose TANH and ADD overwrite their dying inputs builds with a
smaller arena and stays bit-exact with the reference, on the host (under the sanitizers)
and on the emulated Cortex-M4 (the DSP ADD variant)."""

import dataclasses
import shutil

import numpy as np
import pytest

from edgec.build import build
from edgec.options import BuildOptions
from edgec.plan import plan_memory
from edgec.verify import verify
from tests.cortexm.toolchain import needs_qemu
from tests.plan.replay import replay
from tests.tflite_builder import TFLiteBuilder

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
SANITIZE = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-g")
HW, WIDE = 8, 16  # a, t, b, d: 8x8x16 = 1 KB each; x and y: 128 B


def _conv(b, rng, name, x, y, cin, cout, in_scale):
    w_scale = rng.uniform(0.005, 0.02, cout)
    w = b.tensor(f"{name}_w", (cout, 1, 1, cin), "int8",
                 data=rng.integers(-127, 128, (cout, 1, 1, cin)), scale=w_scale)
    bias = b.tensor(f"{name}_b", (cout,), "int32", data=rng.integers(-300, 300, cout),
                    scale=in_scale * w_scale)
    b.op("CONV_2D", [x, w, bias], [y], padding="SAME", stride_w=1, stride_h=1,
         fused_activation_function="NONE")


def residual_tanh_model(path):
    """x -> conv -> a -> TANH -> t -> conv -> b; d = ADD(t, b) -> conv -> y."""
    rng = np.random.default_rng(5)
    b = TFLiteBuilder()
    wide = (1, HW, HW, WIDE)
    x = b.tensor("x", (1, HW, HW, 2), "int8", scale=0.05, zero_point=-3)
    a = b.tensor("a", wide, "int8", scale=0.02, zero_point=4)
    t = b.tensor("t", wide, "int8", scale=1 / 128, zero_point=0)
    c = b.tensor("b", wide, "int8", scale=0.03, zero_point=-7)
    d = b.tensor("d", wide, "int8", scale=0.04, zero_point=2)
    y = b.tensor("y", (1, HW, HW, 2), "int8", scale=0.1, zero_point=1)
    _conv(b, rng, "c0", x, a, 2, WIDE, 0.05)
    b.op("TANH", [a], [t])
    _conv(b, rng, "c1", t, c, WIDE, WIDE, 1 / 128)
    b.op("ADD", [t, c], [d], fused_activation_function="NONE")
    _conv(b, rng, "c2", d, y, WIDE, 2, 0.04)
    path.write_bytes(b.build(inputs=[x], outputs=[y]))
    return path


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return residual_tanh_model(tmp_path_factory.mktemp("in-place") / "residual_tanh.tflite")


@pytest.mark.parametrize("target", ["host", "mps2_an386"])
def test_in_place_shrinks_the_arena(tmp_path, model, target):
    result = build(model, tmp_path, BuildOptions(target=target))
    plan, kernels = result.plan, result.kernels
    ops = [n.op for n in result.graph.nodes]
    assert plan.in_place == {ops.index("TANH"): "a", ops.index("ADD"): "t"}
    assert replay(result.graph, plan, kernels) == (plan.in_place, [])
    undeclared = [dataclasses.replace(k, in_place=[]) for k in kernels]
    before = plan_memory(result.graph, undeclared).arena_bytes
    # Three wide tensors live at the ADD without in place, two with it (plus kernel scratch).
    scratch = max(k.scratch_bytes for k in kernels)
    assert before >= 3 * 1024 and plan.arena_bytes <= 2 * 1024 + scratch


@needs_gcc
def test_in_place_bit_exact_on_host_under_sanitizers(model):
    outcome = verify(model, count=3, extra_flags=SANITIZE)
    assert outcome.ok, outcome.message


@needs_qemu
def test_in_place_bit_exact_on_mps2_an386(model):
    outcome = verify(model, BuildOptions(target="mps2_an386"), count=3)
    assert outcome.ok, outcome.message
