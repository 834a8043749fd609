"""A 16x8 model (int16 activations, from ``edgec quantize --activations int16``) in a generated
Zephyr application: the replay app quantizes its windows to int16, runs the model on
native_sim and prints what the reference interpreter computes."""

import numpy as np
import pytest

from edgec.export import save_tflite
from edgec.frontends import load_model
from edgec.quantize import quantize_graph
from tests.project.models import DIGITS, build_model
from tests.project.test_zephyr import boards  # noqa: F401  (the session's board builds)
from tests.project.zephyr_apps import printed_lines, reference_lines, run_emulated
from tests.project.zephyr_tools import zephyr

pytestmark = zephyr
FLOAT_DIGITS = DIGITS.parent / "digits.onnx"


@pytest.fixture(scope="module")
def digits_16x8_build(tmp_path_factory):
    folder = tmp_path_factory.mktemp("digits16")
    calibration = np.random.default_rng(0).uniform(0, 1, (30, 8, 8, 1)).astype(np.float32)
    graph = quantize_graph(load_model(FLOAT_DIGITS), {"image": calibration}, io="int8",
                           activations="int16")
    save_tflite(graph, folder / "digits16.tflite")
    return build_model(folder / "digits16.tflite", folder / "model")


def test_16x8_replay_on_native_sim_matches_reference(boards, digits_16x8_build):  # noqa: F811
    built = boards.build("native_sim", digits_16x8_build, {"replay": {"runs": 1, "windows": 3}},
                         "replay")
    run = run_emulated(built)
    assert run.returncode == 0 and run.stdout.count("EDGEC DONE") == 1, run.stdout[-2000:]
    expected = reference_lines(digits_16x8_build, built["model"], built["config"],
                               built["context"]["labels"])
    assert len(expected) == 3 and printed_lines(run.stdout) == expected
