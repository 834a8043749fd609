"""Fixtures for the lowering tests: one kernel cache shared by the whole session, so a kernel
shape lowered by one test is reused by every other test with the same shape."""

import pytest


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("edgec-kernel-cache")
