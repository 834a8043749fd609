"""Fixtures for the Cortex-M tests: one kernel cache for the session, and the two targets."""

import pytest

from edgec.build import load_target


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("edgec-kernel-cache")


@pytest.fixture(params=["mps2_an386", "qemu_cortex_m3"])
def target(request):
    return load_target(request.param)
