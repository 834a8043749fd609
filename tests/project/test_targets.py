"""targets/*.yaml: the schema, aliases and `edgec targets`."""

import pytest

from edgec.cli import main
from edgec.errors import EdgecError
from edgec.targets import is_board, load_target, target_names, validate_target

BOARDS = ["arduino_nano_33_ble", "disco_l475_iot1", "mps2_an386", "native_sim", "nrf52840dk",
          "nucleo_l4r5zi", "qemu_cortex_m3", "qemu_riscv32", "rpi_pico"]


def test_every_board_is_described():
    assert set(BOARDS) <= set(target_names())
    for name in BOARDS:
        t = load_target(name)
        assert is_board(t) and t["flash_bytes"] > 0 and t["ram_bytes"] > 0 and t["clock_hz"]


def test_every_board_records_measured_zephyr_overheads():
    """Budgets use them: replay apps on every board, sensor apps where a sensor is usable,
    the Bluetooth stack where the board has a radio."""
    for name in BOARDS:
        t = load_target(name)
        usable = [k for k, s in t["sensors"].items() if not s["unsupported"]]
        kinds = {"replay"} | ({"sensor"} if usable else set()) | (
            {"ble"} if t["bluetooth"] else set())
        assert set(t["zephyr_overhead"]) == kinds


def test_pwm_and_ble_only_where_the_board_has_them():
    """The nRF52840 boards have Bluetooth and enabled pwm-leds nodes; nucleo_l4r5zi and
    disco_l475_iot1 ship theirs disabled (test_zephyr.py reads the real devicetrees)."""
    assert [n for n in BOARDS if load_target(n)["bluetooth"]] == [
        "arduino_nano_33_ble", "nrf52840dk"]
    assert {n: load_target(n)["pwm_leds"] for n in BOARDS if load_target(n)["pwm_leds"]} == {
        "arduino_nano_33_ble": ["pwm-led0", "pwm-led1", "pwm-led2", "pwm-led4"],
        "nrf52840dk": ["pwm-led0"]}


def test_board_facts():
    assert load_target("nrf52840")["zephyr_board"] == "nrf52840dk/nrf52840"
    assert load_target("mps2_an386")["zephyr_board"] == "mps2/an386"
    pico = load_target("rpi_pico")
    assert (pico["cpu"], pico["fpu"], pico["dsp"]) == ("cortex-m0plus", False, False)
    assert "-mfloat-abi=hard" in load_target("nrf52840dk")["cflags"]
    assert {"imu", "mic"} <= set(load_target("arduino_nano_33_ble")["sensors"])
    assert {"accel", "mic"} <= set(load_target("disco_l475_iot1")["sensors"])
    assert not is_board(load_target("host"))


def test_unknown_target_lists_valid_ones():
    with pytest.raises(EdgecError) as exc:
        load_target("esp32")
    assert "esp32" in exc.value.message and "nrf52840dk" in exc.value.hint


@pytest.mark.parametrize("change, words", [
    ({"flashh": 1}, "unknown key(s) flashh"),
    ({"fpu": "yes"}, "'fpu' must be a bool"),
    ({"ram_bytes": True}, "'ram_bytes' must be a int"),
    ({"sensors": {"lidar": {"api": "sensor", "node": "x"}}}, "unknown sensor kind 'lidar'"),
    ({"sensors": {"adc": {"api": "spi"}}}, "unknown api 'spi'"),
    ({"zephyr_overhead": {"sensor": {"flash": 1, "ram": 1}}}, "needs 'replay'"),
    ({"zephyr_overhead": {"replay": {"flash": 1}}}, "must be {flash: B, ram: B}"),
])
def test_schema_refuses(change, words):
    data = {**load_target("nrf52840dk"), **change}
    with pytest.raises(EdgecError) as exc:
        validate_target(data, "t.yaml")
    assert words in exc.value.message


def test_schema_requires_compiler():
    data = load_target("host")
    del data["compiler"]
    with pytest.raises(EdgecError, match="missing key 'compiler'"):
        validate_target(data, "t.yaml")


def test_targets_command_lists_boards(capsys):
    assert main(["targets"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("rpi_pico"))
    assert "cortex-m0plus" in row and "125 MHz" in row and "2096896" in row and "264K" in row
    row = next(line for line in out.splitlines() if line.startswith("nrf52840dk (nrf52840)"))
    assert "adc, temperature, replay" in row and "fpu+dsp" in row
