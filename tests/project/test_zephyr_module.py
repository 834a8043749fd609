"""zephyr/module.yml for real: tests/project/zephyr_module_app lists the repository in
ZEPHYR_EXTRA_MODULES and compiles a model with edgec_add_model from its CMakeLists.txt; the
app's output must equal the reference interpreter's."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgec.frontends import load_model
from edgec.ir import interpret
from edgec.targets import load_target
from tests.project.models import DIGITS
from tests.project.zephyr_tools import needs_modules, zephyr, zephyr_build

APP = Path(__file__).resolve().parent / "zephyr_module_app"
pytestmark = zephyr


def expected_output() -> list[int]:
    """The interpreter on the app's ramp input, (i * 7) % 256 - 128."""
    graph = load_model(DIGITS)
    tensor = graph.tensors[graph.inputs[0]]
    ramp = (np.arange(tensor.size) * 7 % 256 - 128).astype(np.int8).reshape(tensor.shape)
    return next(iter(interpret(graph, {graph.inputs[0]: ramp}).values())).reshape(-1).tolist()


def printed_output(stdout: str) -> list[int]:
    assert "STATUS 0" in stdout, stdout
    return [int(v) for v in next(line for line in stdout.splitlines()
                                 if line.startswith("OUT")).split()[1:]]


def build(tmp_path, board: str, target: str) -> Path:
    return zephyr_build(APP, board, tmp_path / "build", f"-DEDGEC_MODEL={DIGITS}",
                        f"-DEDGEC_TARGET={target}")


def test_module_app_on_native_sim(tmp_path):
    exe = build(tmp_path, "native_sim", "host") / "zephyr.exe"
    run = subprocess.run([str(exe), "-no-rt"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and printed_output(run.stdout) == expected_output()
    assert (tmp_path / "build" / "edgec_digits" / "digits.c").is_file()


@needs_modules("cmsis")
@pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="needs qemu-system-arm")
def test_module_app_with_board_kernels_in_qemu(tmp_path):
    """TARGET mps2_an386: the Cortex-M4 DSP kernels, compiled with Zephyr's flags."""
    elf = build(tmp_path, "mps2/an386", "mps2_an386") / "zephyr.elf"
    run = subprocess.run([*load_target("mps2_an386")["emulator"], "-kernel", str(elf)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and printed_output(run.stdout) == expected_output()
    assert (tmp_path / "build" / "edgec_digits" / "model" / "digits.c").is_file()
