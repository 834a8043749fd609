"""The generated C bare-metal on QEMU's RISC-V virt machine (rv32imc, picolibc): bit-exact with
the reference interpreter, timed by minstret (exact, repeatable instruction counts)."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from edgec.build import Quantization, load_target
from edgec.options import BuildOptions
from edgec.cli import main
from edgec.verify import verify
from edgec.verify.riscv import PICOLIBC, is_riscv
from tests.shared_models import INT8_MODELS, LOWER_BOUNDS, model_path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

pytestmark = pytest.mark.skipif(
    shutil.which("qemu-system-riscv32") is None or shutil.which("riscv64-unknown-elf-gcc") is None
    or not Path(PICOLIBC).is_dir(),
    reason="needs qemu-system-misc, gcc-riscv64-unknown-elf and picolibc-riscv64-unknown-elf")


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("edgec-kernel-cache")


def test_only_the_riscv_target_takes_this_path():
    assert is_riscv(load_target("qemu_riscv32"))
    assert not is_riscv(load_target("mps2_an386")) and not is_riscv(load_target("host"))


@pytest.mark.parametrize("model", INT8_MODELS)
def test_shared_model_bit_exact(cache_dir, model):
    result = verify(model_path(model), BuildOptions(target="qemu_riscv32", cache_dir=cache_dir),
                    count=2, seed=5)
    assert result.ok and result.message == "bit-exact on 2 inputs", result.message
    device = result.device
    assert len(device.instructions) == 2 and device.median_instructions > 0
    # the arena is the model's .bss; trailing writes and in-place kernels take it below the
    # op-by-op bound (docs/MEMORY_PLAN.md), never below half of it on these models
    assert device.footprint.bss >= LOWER_BOUNDS[model] // 2 and device.stack_bytes > 0
    text, data, bss = device.firmware
    assert device.footprint.text + device.footprint.rodata <= text
    assert device.footprint.bss <= bss and "riscv64-unknown-elf-size" in device.summary()


def test_instruction_counts_repeat_exactly_on_one_input(cache_dir):
    path = model_path("ad_fc_autoencoder_int8")
    x = np.random.default_rng(3).integers(-128, 128, (1, 640)).astype(np.int8)
    y = np.random.default_rng(4).integers(-128, 128, (1, 640)).astype(np.int8)
    result = verify(path, BuildOptions(target="qemu_riscv32", cache_dir=cache_dir), count=0,
                    extra_inputs=[{"input_1": x}] * 3 + [{"input_1": y}])
    assert result.ok, result.message
    counts = result.device.instructions
    assert len(set(counts[:3])) == 1  # minstret under -icount shift=0: a property of the input


def test_ternary_and_float_digits(cache_dir, tmp_path):
    sklearn = pytest.importorskip("sklearn")
    assert sklearn
    import sys

    sys.path.insert(0, str(EXAMPLES))
    try:
        from make_digits_model import load_split
    finally:
        sys.path.remove(str(EXAMPLES))
    np.savez(tmp_path / "cal.npz", image=load_split()[0][:50])
    quantization = Quantization(str(tmp_path / "cal.npz"), weights="ternary", io="int8")
    options = BuildOptions(target="qemu_riscv32", cache_dir=cache_dir, quantization=quantization)
    result = verify(EXAMPLES / "digits.onnx", options, count=3)
    assert result.ok, result.message
    assert result.message.startswith("vs the quantized graph: bit-exact on 3 inputs")
    # float32 on a core without an FPU: soft float, within the float tolerance
    result = verify(EXAMPLES / "digits.onnx",
                    BuildOptions(target="qemu_riscv32", cache_dir=cache_dir), count=2)
    assert result.ok, result.message


def test_cli_prints_the_instruction_count(cache_dir, capsys):
    assert main(["verify", str(model_path("ad_fc_autoencoder_int8")), "--target",
                 "qemu_riscv32", "--count", "2", "--cache-dir", str(cache_dir)]) == 0
    out = capsys.readouterr().out
    assert "bit-exact on 2 inputs" in out and "qemu_riscv32: " in out
    assert " instructions per inference" in out
