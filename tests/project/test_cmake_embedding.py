"""tests/cmake_project: a CMake project that compiles a model with edgec_add_model."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgec.frontends import load_model
from edgec.ir import interpret
from tests.project.models import DIGITS, EXAMPLES

PROJECT = Path(__file__).resolve().parents[1] / "cmake_project"
pytestmark = pytest.mark.skipif(not (shutil.which("cmake") and shutil.which("ninja")),
                                reason="needs cmake and ninja")


def test_cmake_project_prints_the_reference_output(tmp_path):
    build = tmp_path / "build"
    subprocess.run(["cmake", "-G", "Ninja", "-S", str(PROJECT), "-B", str(build),
                    f"-DEDGEC_MODEL={DIGITS}"], check=True, capture_output=True)
    subprocess.run(["ninja", "-C", str(build)], check=True, capture_output=True)
    digit = np.load(EXAMPLES / "digit0.npy")
    digit.astype(np.int8).tofile(tmp_path / "in.bin")
    out = subprocess.run([str(build / "classify"), str(tmp_path / "in.bin")], check=True,
                         capture_output=True, text=True).stdout.split()
    graph = load_model(DIGITS)
    expected = next(iter(interpret(graph, {graph.inputs[0]: digit}).values()))
    np.testing.assert_array_equal(np.array(out, int), expected.reshape(-1))
    again = subprocess.run(["ninja", "-C", str(build)], check=True, capture_output=True,
                           text=True).stdout
    assert "no work to do" in again  # the model is compiled again only when it changes
