"""verify's latency estimate: measured instructions / board clock, for every board with the
emulated target's core, labelled as an estimate."""

import re

from edgec.targets import load_target
from edgec.verify.cortexm.run import DeviceStats


def test_latency_estimate_per_board_of_the_same_core():
    stats = DeviceStats("mps2_an386", [1, 64_000, 64_000], 0, None, (0, 0, 0))
    line = stats.latency_estimate()
    assert line.startswith("estimated latency (cortex-m4, 1 instruction per cycle, not measured")
    found = dict(re.findall(r"(\w+) ([0-9.]+) ms @", line))
    assert {"mps2_an386", "nrf52840dk", "arduino_nano_33_ble"} <= set(found)
    assert "qemu_cortex_m3" not in found and "rpi_pico" not in found
    for name, ms in found.items():
        assert float(ms) == round(64_000 / load_target(name)["clock_hz"] * 1e3, 2)
