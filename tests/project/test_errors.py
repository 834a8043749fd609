"""Bad input for a firmware build: one line `edgec: error: ...`, exit 2."""

import pytest
import yaml

from edgec.cli import main
from tests.project.models import DIGITS


def run(tmp_path, capsys, target, app=None, model=DIGITS):
    args = ["build", str(model), "--target", target, "-o", str(tmp_path / "out")]
    if app is not None:
        (tmp_path / "app.yaml").write_text(yaml.safe_dump(app))
        args += ["--app", str(tmp_path / "app.yaml")]
    code = main(args)
    err = capsys.readouterr().err.strip().splitlines()
    return code, err[-1]


@pytest.mark.parametrize("target, app, words", [
    ("nrf52840dx", None, "unknown target 'nrf52840dx'"),
    ("nrf52840", {"sensor": "lidar"}, "unknown sensor 'lidar'"),
    ("nrf52840", {"sensor": "mic"}, "has: adc, temperature, replay"),
    ("disco_l475_iot1", {"sensor": "mic"}, "no DMIC driver for the STM32 DFSDM"),
    ("rpi_pico", {"actions": [{"led": "led3"}]}, "LED alias 'led3' does not exist"),
    ("qemu_cortex_m3", {"loop": {"mode": "event", "trigger": "button"}}, "has no button"),
    # its buttons have no interrupts (test_zephyr.py pins the devicetree fact)
    ("mps2_an386", {"loop": {"mode": "event", "trigger": "button"}}, "has no button"),
    ("nrf52840", {"sensor": "adc", "window": 50}, "50x1 = 50 values after preprocessing"),
    ("nrf52840", {"windw": 50}, "unknown key 'windw'"),
    ("native_sim", {"replay": {"runs": 0}}, "'replay.runs' must be positive"),
    ("native_sim", {"replay": {"loops": 2}}, "unknown key 'replay.loops'"),
    ("disco_l475_iot1", {"actions": [{"ble": True}]}, "has no Bluetooth LE radio"),
    ("qemu_cortex_m3", {"actions": [{"ble": True}]}, "has no Bluetooth LE radio"),
    ("nucleo_l4r5zi", {"actions": [{"pwm": "pwm-led0"}]}, "has no PWM LED for the pwm action"),
    ("arduino_nano_33_ble", {"actions": [{"pwm": "pwm-led3"}]},
     "PWM LEDs: pwm-led0, pwm-led1, pwm-led2, pwm-led4"),
    ("nrf52840dk", {"actions": [{"pwm": "pwm-led0", "duty": 1.5}]}, "duty 1.5 is above 1"),
])
def test_bad_firmware_input(tmp_path, capsys, target, app, words):
    code, line = run(tmp_path, capsys, target, app)
    assert code == 2 and line.startswith("edgec: error:") and words in line


def test_model_too_big_for_the_board(tmp_path, capsys):
    from tests.project.models import motion_model

    big = motion_model(tmp_path / "big.tflite", inputs=48, classes=6000)  # 288,000 B weights
    code, line = run(tmp_path, capsys, "qemu_cortex_m3", {"window": 48}, model=big)
    assert code == 2 and "B of flash" in line and "qemu_cortex_m3 has 262,144 B" in line
