"""Flash and RAM attribution from GNU ld maps, and the harness's independence from libc."""

import subprocess
from pathlib import Path

import pytest

from edgec.build import build
from edgec.options import BuildOptions
from edgec.verify.cortexm import is_emulated
from edgec.verify.cortexm.firmware import build_firmware
from edgec.verify.cortexm.footprint import Footprint, input_sections, model_footprint
from edgec.verify import harness_context
from tests.cortexm.toolchain import needs_arm_gcc

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# A trimmed map in GNU ld's layout: long input-section names wrap onto a second line.
MAP = """\
Archive member included to satisfy reference by file (symbol)

lib/libc_nano.a(lib_a-memcpy.o)
                              /w/m.o (memcpy)

Linker script and memory map

.vectors        0x00000000       0x40
 *(.vectors)
 .vectors       0x00000000       0x40 /w/edgec_startup.o

.text           0x00000040      0x300
 *(.text .text.*)
 .text.m_run    0x00000040      0x120 /w/m.o
                0x00000040                m_run
 .text.k0_conv_2d
                0x00000160       0x88 /w/m.o
 .text.edgec_reset
                0x000001e8       0x2c /w/edgec_startup.o
 *fill*         0x00000214        0x4 
 .text          0x00000218       0x34 lib/libc_nano.a(lib_a-memcpy.o)

.rodata         0x00000400      0x210
 .rodata.m_w0   0x00000400      0x200 /w/m.o
 .rodata.main.str1.1
                0x00000600       0x10 /w/m_harness.o

.stack          0x20000000    0x10000
 *fill*         0x20000000    0x10000 

.data           0x20010000        0x8 load address 0x00000610
 .data.impure   0x20010000        0x8 lib/libm.a(lib_a-errno.o)

.bss            0x20010008      0x104 load address 0x00000618
 .bss.m_arena   0x20010008      0x100 /w/m.o
 .bss.systick_wraps
                0x20010108        0x4 /w/edgec_runtime.o

.comment        0x00000000       0x26
 .comment       0x00000000       0x26 /w/m.o
"""
HARNESS = ["m_harness.o", "edgec_startup.o", "edgec_runtime.o"]


def test_input_sections_read_one_and_two_line_entries():
    sections = list(input_sections(MAP))
    assert (".text", ".text.k0_conv_2d", 0x88, "/w/m.o") in sections
    assert (".bss", ".bss.systick_wraps", 4, "/w/edgec_runtime.o") in sections
    assert not any(name == "*fill*" or out == ".comment" for out, name, _, _ in sections)


def test_model_footprint_leaves_out_the_harness(tmp_path):
    path = tmp_path / "fw.map"
    path.write_text(MAP)
    footprint = model_footprint(path, HARNESS)
    assert footprint == Footprint(text=0x120 + 0x88 + 0x34, rodata=0x200, data=8, bss=0x100)
    assert footprint.flash_bytes == 0x1dc + 0x200 + 8
    assert footprint.static_ram_bytes == 0x108


def test_only_qemu_machines_are_emulated():
    from edgec.build import load_target

    assert is_emulated(load_target("mps2_an386"))
    assert is_emulated(load_target("qemu_cortex_m3"))
    assert not is_emulated(load_target("host"))


@needs_arm_gcc
@pytest.mark.parametrize("target", ["mps2_an386", "qemu_cortex_m3"])
def test_harness_objects_need_nothing_from_the_c_library(tmp_path, cache_dir, target):
    """So every library routine in the image is the model's (see
    edgec.verify.cortexm.footprint)."""
    result = build(EXAMPLES / "digits_int8.tflite", tmp_path,
                   BuildOptions(target=target, cache_dir=cache_dir))
    firmware = build_firmware(result, harness_context(result))
    harness = [str(tmp_path / name) for name in firmware.harness_objects]
    listing = subprocess.run(["arm-none-eabi-nm", "-u", *harness], capture_output=True,
                             text=True, check=True).stdout
    undefined = {line.split()[-1] for line in listing.splitlines() if line.strip().startswith("U")}
    defined = subprocess.run(["arm-none-eabi-nm", "--defined-only", *harness],
                             capture_output=True, text=True, check=True).stdout
    provided = {line.split()[-1] for line in defined.splitlines() if len(line.split()) == 3}
    linker_symbols = {s for s in undefined if s.startswith("__")}
    assert undefined - provided - linker_symbols == {f"{result.name}_invoke"}
