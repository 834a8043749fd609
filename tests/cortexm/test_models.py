"""The MLPerf Tiny int8 models bit-exact on the emulated Cortex-M4F, with measurements."""

import dataclasses

import numpy as np
import pytest

from edgec.build import build
from edgec.options import BuildOptions
from edgec.verify.cortexm.firmware import compile_objects
from edgec.errors import EdgecError
from edgec.verify import verify
from tests.cortexm.toolchain import needs_arm_gcc, needs_qemu
from tests.shared_models import INT8_MODELS, LOWER_BOUNDS, model_path


@needs_qemu
@pytest.mark.parametrize("model", INT8_MODELS)
def test_shared_model_bit_exact_on_mps2_an386(cache_dir, model):
    result = verify(model_path(model), BuildOptions(target="mps2_an386", cache_dir=cache_dir),
                    count=3, seed=2)
    assert result.ok, result.message
    assert result.message == "bit-exact on 3 inputs"
    device = result.device
    assert len(device.instructions) == 3 and device.median_instructions > 0
    assert device.stack_bytes > 0
    # The static arena is the model's .bss; in-place and trailing writes take it below the
    # op-by-op bound, never below half of it on these models (the live peak of a chain).
    assert LOWER_BOUNDS[model] // 2 <= device.footprint.bss
    # The model's part, from the map, within the whole image as arm-none-eabi-size reads it.
    text, data, bss = device.firmware
    assert device.footprint.text + device.footprint.rodata <= text
    assert device.footprint.data <= data and device.footprint.bss <= bss


@needs_qemu
def test_instruction_counts_repeat_exactly_on_one_input(cache_dir):
    """-icount shift=0 makes the count a property of the code and the input alone."""
    path = model_path("ad_fc_autoencoder_int8")
    x = np.random.default_rng(3).integers(-128, 128, (1, 640)).astype(np.int8)
    result = verify(path, BuildOptions(target="mps2_an386", cache_dir=cache_dir), count=0,
                    extra_inputs=[{"input_1": x}] * 3)
    assert result.ok, result.message
    assert len(set(result.device.instructions)) == 1


@needs_arm_gcc
@pytest.mark.parametrize("target", ["qemu_cortex_m3", "rpi_pico"])
@pytest.mark.parametrize("model", INT8_MODELS)
def test_generated_c_builds_warning_free_without_dsp(tmp_path, cache_dir, model, target):
    """The portable kernels for the M3 and the M0+ (no DSP, no FPU): the targets' flags include
    -Wall -Wextra -Werror. This compiles without linking (the AD model's weights exceed the
    M3's flash)."""
    result = build(model_path(model), tmp_path, BuildOptions(target=target, cache_dir=cache_dir))
    assert "-Werror" in result.target["cflags"]
    [source] = list(tmp_path.rglob(f"{result.name}.c"))
    [obj] = compile_objects([source], result.target, source.parent)
    assert obj.stat().st_size > 0


@needs_qemu
def test_a_model_too_big_for_the_target_says_so(cache_dir):
    with pytest.raises(EdgecError, match="does not fit qemu_cortex_m3's memory"):
        verify(model_path("ad_fc_autoencoder_int8"),
               BuildOptions(target="qemu_cortex_m3", cache_dir=cache_dir), count=1)


@needs_qemu
def test_a_stack_overflow_stops_the_firmware(monkeypatch, cache_dir):
    """The stack sits at the bottom of RAM: running off it faults instead of corrupting data."""
    from edgec.verify.cortexm import machines

    # 200 B: the harness opens its files, then a kernel runs off the bottom of RAM (with 128 B
    # an early overflow lands in memory QEMU maps below RAM and the core spins, not faults)
    tiny = dataclasses.replace(machines.MACHINES["mps2-an386"], stack_bytes=200)
    monkeypatch.setitem(machines.MACHINES, "mps2-an386", tiny)
    with pytest.raises(EdgecError, match="status 3 .a processor fault or a stack overflow"):
        verify(model_path("kws_dscnn_int8"),
               BuildOptions(target="mps2_an386", cache_dir=cache_dir), count=1)


@needs_qemu
@pytest.mark.parametrize("name", ["lstm_classifier_int8", "lstm_seq_float"])
def test_converter_lstm_model_on_mps2_an386(cache_dir, name):
    """The TensorFlow converter's LSTM models (tests/models/recurrent) on the emulated M4F:
    int8 bit-exact, float within tolerance."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "models" / "recurrent" / f"{name}.tflite"
    result = verify(path, BuildOptions(target="mps2_an386", cache_dir=cache_dir), count=3,
                    seed=2)
    assert result.ok, result.message
    assert result.device.median_instructions > 0


@needs_qemu
@pytest.mark.slow
@pytest.mark.parametrize("name", ["keras3_lstm_unroll_int8", "keras3_gru_unroll_seq_int8",
                                  "keras3_lstm_loop_float", "keras3_gru_loop_seq_float"])
def test_keras3_recurrent_model_on_mps2_an386(cache_dir, name):
    """Keras 3 LSTM / GRU as the converter writes them (unrolled steps, int8; WHILE loops
    unrolled at import, float) on the emulated M4F: int8 bit-exact, float within tolerance."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "models" / "recurrent" / f"{name}.tflite"
    result = verify(path, BuildOptions(target="mps2_an386", cache_dir=cache_dir), count=2,
                    seed=2)
    assert result.ok, result.message
    assert ("bit-exact" if "int8" in name else "within") in result.message
    assert result.device.median_instructions > 0
