"""Session fixtures: each model is compiled once and its build result shared."""

import pytest

from tests.project.models import DIGITS, build_model, motion_model


@pytest.fixture(scope="session")
def digits_build(tmp_path_factory):
    return build_model(DIGITS, tmp_path_factory.mktemp("digits") / "model")


@pytest.fixture(scope="session")
def motion_file(tmp_path_factory):
    return motion_model(tmp_path_factory.mktemp("motion") / "motion.tflite")


@pytest.fixture(scope="session")
def motion_build(motion_file):
    return build_model(motion_file, motion_file.parent / "model")
