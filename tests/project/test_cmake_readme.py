"""The README's CMake example, as written, in a project outside the tree: it configures, builds
and runs; and a configure where no Python has edgec's dependencies stops with one message."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgec.frontends import load_model
from edgec.ir import interpret
from tests.project.models import DIGITS, EXAMPLES

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not (shutil.which("cmake") and shutil.which("ninja")),
                                reason="needs cmake and ninja")


def readme_project(where: Path) -> Path:
    """The README's cmake-example block, with path/to/edgec pointing at this tree."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- cmake-example -->\s*```cmake\n(.*?)```", text, re.S).group(1)
    block = "\n".join(line.strip() for line in block.splitlines())
    where.mkdir()
    (where / "CMakeLists.txt").write_text(block.replace("path/to/edgec", ROOT.as_posix()))
    shutil.copy(DIGITS, where / "digits_int8.tflite")
    shutil.copy(ROOT / "tests" / "cmake_project" / "main.c", where / "main.c")
    return where


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("EDGEC_PYTHON", "PYTHONPATH")}
    env.update(extra)
    return env


def test_readme_cmake_example_builds_and_runs(tmp_path):
    project = readme_project(tmp_path / "myapp")
    build = project / "build"
    python_bin = str(Path(sys.executable).parent)
    env = _env(PATH=python_bin + os.pathsep + os.environ["PATH"])
    configure = subprocess.run(["cmake", "-G", "Ninja", "-S", str(project), "-B", str(build)],
                               cwd=project, env=env, capture_output=True, text=True)
    assert configure.returncode == 0, configure.stderr
    assert "edgec: running edgec with" in configure.stdout
    done = subprocess.run(["cmake", "--build", str(build)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    digit = np.load(EXAMPLES / "digit0.npy")
    digit.astype(np.int8).tofile(tmp_path / "in.bin")
    out = subprocess.run([str(build / "myapp"), str(tmp_path / "in.bin")], check=True,
                         capture_output=True, text=True).stdout.split()
    graph = load_model(DIGITS)
    expected = next(iter(interpret(graph, {graph.inputs[0]: digit}).values()))
    np.testing.assert_array_equal(np.array(out, int), expected.reshape(-1))


def test_configure_fails_once_when_no_python_has_edgec(tmp_path):
    project = readme_project(tmp_path / "myapp")
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    tools = "/usr/bin:/bin"  # the system's tools: no edgec, a python without edgec's dependencies
    assert not shutil.which("edgec", path=tools)
    result = subprocess.run(
        ["cmake", "-G", "Ninja", "-S", str(project), "-B", str(project / "build"),
         f"-DPython3_EXECUTABLE={bare / 'bin' / 'python'}"],
        env=_env(PATH=tools), capture_output=True, text=True)
    assert result.returncode != 0
    assert "edgec: no Python that can run edgec" in result.stderr
    assert "No module named" in result.stderr and "-DEDGEC_PYTHON" in result.stderr
    assert "Traceback" not in result.stderr
    # The same with EDGEC_PYTHON naming the Python that has the dependencies: it configures.
    ok = subprocess.run(
        ["cmake", "-G", "Ninja", "-S", str(project), "-B", str(project / "build2"),
         f"-DPython3_EXECUTABLE={bare / 'bin' / 'python'}", f"-DEDGEC_PYTHON={sys.executable}"],
        env=_env(PATH=tools), capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert f"running edgec with {sys.executable} (EDGEC_PYTHON)" in ok.stdout
