"""The "does not fit" hint names emulated targets with more memory, never the one that failed."""

from edgec.targets import load_target
from edgec.verify.cortexm.firmware import _larger_targets_hint


def test_hint_never_names_the_target_that_failed():
    for name in ("mps2_an386", "qemu_cortex_m3"):
        assert name not in _larger_targets_hint(load_target(name))


def test_hint_names_a_larger_emulated_target():
    assert "mps2_an386" in _larger_targets_hint(load_target("qemu_cortex_m3"))
