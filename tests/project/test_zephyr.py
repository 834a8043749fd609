"""Generated applications built against a real Zephyr tree, run where an emulator exists
(native_sim, QEMU: bounded replay runs end the program), the sensor apps of every board
compiled, and the Zephyr memory overheads recorded in targets/*.yaml checked against the
builds.

Runs when ZEPHYR_BASE is set (with Zephyr's Python requirements, device-tree-compiler,
gcc-multilib, gcc-arm-none-eabi and picolibc-arm-none-eabi installed); each board needs its
HAL modules (tests/project/zephyr_tools.py says where they are looked for).
"""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from edgec.project import APP_DIR, parse_app_config, render_app
from edgec.targets import load_target
from tests.project.zephyr_tools import (ENABLE, ZEPHYR_BASE, needs_modules, zephyr_build,
                                        zephyr_overhead)

pytestmark = pytest.mark.skipif(not ZEPHYR_BASE, reason=ENABLE)
needs_qemu = pytest.mark.skipif(shutil.which("qemu-system-arm") is None,
                                reason="needs qemu-system-arm")


def make_app(tmp_path, build, target, config=None) -> Path:
    app = tmp_path / "app"
    shutil.copytree(build.out_dir, app / "model")
    render_app(parse_app_config(config), load_target(target), build, app)
    return app


def expected_labels(tmp_path, build) -> list[str]:
    """The EDGEC lines the host shim prints for one pass of the replay: the device must
    agree."""
    app = make_app(tmp_path / "host", build, "native_sim")
    exe = tmp_path / "host_app"
    sources = [str(p) for p in sorted((app / "src").glob(f"{build.name}_*.c"))]
    subprocess.run(["gcc", "-std=c99", "-I", str(app / "src"), "-I", str(app / "model"),
                    str(app / "host/main.c"), *sources, str(app / f"model/{build.name}.c"),
                    "-lm", "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    return device_labels(out)


def device_labels(output: str) -> list[str]:
    """EDGEC lines without the cycle count (which differs by machine)."""
    return [line.rsplit(",", 1)[0] for line in output.splitlines() if line.startswith("EDGEC,")]


def check_overhead(build: Path, target: str, kind: str, stack_bytes: int = 4096) -> None:
    """The recorded Zephyr overhead must cover this build and not be a stale guess."""
    measured = zephyr_overhead(build, target == "native_sim", stack_bytes)
    recorded = load_target(target)["zephyr_overhead"][kind]
    for key in ("flash", "ram"):
        assert measured[key] <= recorded[key] <= measured[key] * 1.25 + 1024, (key, measured)


def test_native_sim_replay_exits(tmp_path, digits_build):
    """Two runs over the replay, then posix_exit(0): no timeout involved."""
    app = make_app(tmp_path, digits_build, "native_sim", {"replay": {"runs": 2}})
    zephyr = zephyr_build(app, "native_sim", tmp_path / "build")
    run = subprocess.run([str(zephyr / "zephyr.exe"), "-no-rt"], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.count("EDGEC DONE") == 1
    assert device_labels(run.stdout) == 2 * expected_labels(tmp_path, digits_build)
    check_overhead(tmp_path / "build", "native_sim", "replay")


@needs_qemu
@needs_modules("cmsis")
@pytest.mark.parametrize("target", ["qemu_cortex_m3", "mps2_an386"])
def test_qemu_replay_exits(tmp_path, digits_build, target):
    """One run over the replay, then a semihosting exit ends QEMU with status 0."""
    t = load_target(target)
    app = make_app(tmp_path, digits_build, target, {"replay": {"runs": 1}})
    elf = zephyr_build(app, t["zephyr_board"], tmp_path / "build") / "zephyr.elf"
    run = subprocess.run([*t["emulator"], "-kernel", str(elf)], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0 and "EDGEC DONE" in run.stdout
    assert device_labels(run.stdout) == expected_labels(tmp_path, digits_build)
    check_overhead(tmp_path / "build", target, "replay")


def test_reference_app_builds_by_hand(tmp_path, digits_build):
    """zephyr_app/ against a model folder from `edgec build --target host`, as its README
    says, for native_sim: it renders its own templates and prints what the host shim
    prints."""
    (tmp_path / "app.yaml").write_text(yaml.safe_dump({"replay": {"runs": 1}}))
    zephyr = zephyr_build(APP_DIR, "native_sim", tmp_path / "build",
                          f"-DEDGEC_MODEL_DIR={digits_build.out_dir}",
                          f"-DEDGEC_APP={tmp_path / 'app.yaml'}")
    run = subprocess.run([str(zephyr / "zephyr.exe"), "-no-rt"], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0 and "EDGEC DONE" in run.stdout
    assert device_labels(run.stdout) == expected_labels(tmp_path, digits_build)


# (target, app config, HAL modules, a symbol the sensor driver or loop puts in the image;
# {name} is the model prefix). Every app logs: the recorded overheads include logging.
SENSOR_APPS = [
    ("arduino_nano_33_ble", {"sensor": "imu", "window": 8}, ("cmsis", "nordic", "st"),
     "lsm9ds1_sample_fetch"),
    ("disco_l475_iot1", {"sensor": "accel", "window": 16,
                         "loop": {"mode": "event", "trigger": "data_ready"}},
     ("cmsis", "stm32", "st"), "lsm6dsl_trigger_set"),
    ("nucleo_l4r5zi", {"sensor": "adc", "window": 48,
                       "actions": [{"led": "led0", "log": True, "uart": True}]},
     ("cmsis", "stm32"), "adc_stm32_init"),
    ("rpi_pico", {"sensor": "temperature", "window": 48}, ("cmsis", "rpi_pico"),
     "rpi_pico_temp"),
    ("nrf52840dk", {"sensor": "adc", "window": 48, "hop": 16,
                    "preprocess": ["dc_remove", "zscore"],
                    "loop": {"mode": "event", "trigger": "button"},
                    "actions": [{"led": "led0", "log": True, "uart": True, "threshold": 0.5}]},
     ("cmsis", "nordic"), "{name}_button_cb"),
]


@pytest.mark.parametrize("target, config, hals, symbol", [
    pytest.param(*row, marks=needs_modules(*row[2]), id=row[0]) for row in SENSOR_APPS])
def test_sensor_app_builds(tmp_path, motion_build, target, config, hals, symbol):
    app = make_app(tmp_path, motion_build, target, config)
    elf = zephyr_build(app, load_target(target)["zephyr_board"], tmp_path / "build")
    symbols = subprocess.run(["arm-none-eabi-nm", str(elf / "zephyr.elf")],
                             capture_output=True, text=True, check=True).stdout
    assert symbol.format(name=motion_build.name) in symbols
    check_overhead(tmp_path / "build", target, "sensor")


# Boards without an emulator, with the HAL modules their replay app needs.
HARDWARE = [("nrf52840dk", ("cmsis", "nordic")), ("arduino_nano_33_ble", ("cmsis", "nordic")),
            ("disco_l475_iot1", ("cmsis", "stm32")), ("nucleo_l4r5zi", ("cmsis", "stm32")),
            ("rpi_pico", ("cmsis", "rpi_pico"))]


@pytest.mark.parametrize("target", [
    pytest.param(t, marks=needs_modules(*hals), id=t) for t, hals in HARDWARE])
def test_replay_app_builds(tmp_path, digits_build, target):
    """The default application (replayed samples, console and log actions) on hardware."""
    app = make_app(tmp_path, digits_build, target, {"replay": {"runs": 1}})
    zephyr_build(app, load_target(target)["zephyr_board"], tmp_path / "build")
    check_overhead(tmp_path / "build", target, "replay")
