"""The SysTick factor edgec multiplies ticks by, checked against loops of known length."""

import pytest

from edgec.verify.cortexm import calibrate, emulated_machine
from tests.cortexm.toolchain import needs_qemu

pytestmark = needs_qemu


def test_instructions_per_tick_match_the_machine_table(target):
    measured = calibrate(target)
    # ±1 tick of quantisation over ~2 million instructions: well inside 0.01 %.
    assert measured == pytest.approx(emulated_machine(target).instructions_per_tick, rel=1e-4)

