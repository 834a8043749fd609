"""Generated applications built against a real Zephyr tree (``$ZEPHYR_BASE`` or the shared
workspace, see zephyr_tools.py): every board with its replay app and every sensor kind it
offers; native_sim, qemu_cortex_m3, mps2/an386 and qemu_riscv32 run a bounded replay to the end
and print
what the reference interpreter computes. Driver and board facts the apps rely on are pinned
from each build's own ``.config`` and devicetree. One build folder per board for the whole
session (incremental rebuilds); ``-m 'not zephyr'`` deselects the group.
"""

import shutil
import subprocess
import time

import pytest

from edgec.project.budget import zephyr_overhead as budget_overhead
from tests.project.zephyr_apps import (BoardBuilds, printed_lines, reference_lines,
                                       run_emulated)
from tests.project.zephyr_tools import (devicetree, image_size, kconfig,
                                        needs_modules, zephyr, zephyr_overhead)

pytestmark = zephyr
needs_qemu = pytest.mark.skipif(shutil.which("qemu-system-arm") is None,
                                reason="needs qemu-system-arm")
needs_riscv = pytest.mark.skipif(
    shutil.which("qemu-system-riscv32") is None or shutil.which("riscv64-unknown-elf-gcc") is None,
    reason="needs qemu-system-riscv32 (qemu-system-misc) and gcc-riscv64-unknown-elf")


@pytest.fixture(scope="session")
def boards(tmp_path_factory):
    builds = BoardBuilds(tmp_path_factory.mktemp("zephyr-boards"))
    start = time.monotonic()
    yield builds
    print(f"\nzephyr: {len(builds.log)} app builds in {time.monotonic() - start:.0f} s: "
          + "; ".join(f"{t} {w}" for t, w in builds.log))


def check_memory(built: dict, kind: str, fresh: bool = False) -> None:
    """The budget edgec printed must cover what the link really used (flash and RAM), and the
    recorded Zephyr overhead must cover this build (``fresh``: and not be a stale guess)."""
    target = built["target"]
    image = image_size(built["build"], target)
    budget = built["budget"]
    assert image["flash"] <= budget["flash_bytes"] and image["ram"] <= budget["ram_bytes"], \
        (image, budget)
    stack = built["context"]["stack_bytes"]
    measured = zephyr_overhead(built["build"], target, stack)
    recorded = budget_overhead(target, built["context"])
    for key in ("flash", "ram"):
        assert measured[key] <= recorded[key], (kind, key, measured, recorded)
        if fresh:
            assert recorded[key] <= measured[key] * 1.25 + 1024, (key, measured)


def link_regions(build) -> tuple[int, int]:
    """(flash, RAM) bytes the link may use, from the build's .config and devicetree: the
    chosen code partition when the board links into it (CONFIG_USE_DT_CODE_PARTITION),
    otherwise the flash from the load offset on; the chosen SRAM."""
    conf, edt = kconfig(build), devicetree(build)
    if conf.get("CONFIG_USE_DT_CODE_PARTITION") == "y":
        flash = edt.chosen_node("zephyr,code-partition").regs[0].size
    else:
        flash = edt.chosen_node("zephyr,flash").regs[0].size - int(
            conf.get("CONFIG_FLASH_LOAD_OFFSET", "0"), 0)
    return flash, edt.chosen_node("zephyr,sram").regs[0].size


def check_partitions(built: dict) -> None:
    """Budgets come from the board's partition table and devicetree, not the chip's size."""
    target = built["target"]
    assert link_regions(built["build"]) == (target["flash_bytes"], target["ram_bytes"])


EMULATED = [("native_sim", (), []), ("qemu_cortex_m3", ("cmsis",), [needs_qemu]),
            ("mps2_an386", ("cmsis",), [needs_qemu]), ("qemu_riscv32", (), [needs_riscv])]


@pytest.mark.parametrize("target", [
    pytest.param(t, marks=[needs_modules(*hals), *marks], id=t) for t, hals, marks in EMULATED])
def test_emulated_replay_matches_reference(boards, digits_build, target):
    """Two passes over three replayed windows, then the program ends by itself (posix_exit,
    semihosting on Arm and RISC-V) with status 0; every printed result equals the reference
    interpreter's, one line per result: the same labels and scores on every board (Cortex-M3
    and RV32 alike)."""
    name = digits_build.name
    hook = (f'#include <zephyr/sys/printk.h>\n#include "{name}_app.h"\n'
            f"void {name}_on_result(int label, float score)\n"
            '{\n    (void)score;\n    printk("USER %d\\n", label);\n}\n')
    built = boards.build(target, digits_build, {"replay": {"runs": 2, "windows": 3}}, "replay",
                         user={"hook.c": hook})
    run = run_emulated(built)
    assert run.returncode == 0 and run.stdout.count("EDGEC DONE") == 1, run.stdout[-2000:]
    expected = reference_lines(digits_build, built["model"], built["config"],
                               built["context"]["labels"])
    assert len(expected) == 3 and printed_lines(run.stdout) == 2 * expected
    assert sum("EDGEC," in line for line in run.stdout.splitlines()) == 6  # no echo via log
    # src/user/hook.c replaced the weak callback; the Kconfig settings have prj.conf's values
    users = [line for line in run.stdout.splitlines() if line.startswith("USER ")]
    assert users == [f"USER {line.split(',')[1]}" for line in 2 * expected]
    conf = kconfig(built["build"])
    assert conf["CONFIG_EDGEC_APP_SAMPLE_PERIOD_US"] == "10000"
    assert conf["CONFIG_EDGEC_APP_THRESHOLD_PERMILLE"] == "0"
    check_memory(built, "replay", fresh=True)
    if target not in ("native_sim", "qemu_riscv32"):  # qemu_riscv32: all in RAM, no flash
        check_partitions(built)
    if target == "mps2_an386":  # its buttons sit on an FPGA register without interrupts
        edt = devicetree(built["build"])
        button = edt.get_node("/gpio_keys/button_0")
        assert button.props["gpios"].val[0].controller.compats == ["arm,mmio32-gpio"]
        assert built["target"]["buttons"] == []


# Every sensor kind each board offers (and can drive), with the HAL modules it needs, an app
# config and a symbol the sensor driver or loop puts in the image ({name}: model prefix).
SENSOR_APPS = [
    ("arduino_nano_33_ble", "imu", ("cmsis", "nordic", "st"), {"window": 8},
     "lsm9ds1_sample_fetch"),
    ("arduino_nano_33_ble", "accel", ("cmsis", "nordic", "st"), {"window": 16},
     "lsm9ds1_sample_fetch"),
    ("arduino_nano_33_ble", "temperature", ("cmsis", "nordic", "st"), {"window": 48},
     "hts221_sample_fetch"),
    ("arduino_nano_33_ble", "mic", ("cmsis", "nordic", "st"), {"window": 48, "hop": 48,
                                                               "sample_rate": 16000},
     "dmic_nrfx_pdm_read"),
    ("disco_l475_iot1", "accel", ("cmsis", "stm32", "st"),
     {"window": 16, "loop": {"mode": "event", "trigger": "data_ready"}},
     "lsm6dsl_trigger_set"),
    ("disco_l475_iot1", "imu", ("cmsis", "stm32", "st"), {"window": 8}, "lsm6dsl_sample_fetch"),
    ("disco_l475_iot1", "temperature", ("cmsis", "stm32", "st"), {"window": 48},
     "hts221_sample_fetch"),
    ("nucleo_l4r5zi", "adc", ("cmsis", "stm32"),
     {"window": 48, "actions": [{"led": "led0", "log": True, "uart": True}]}, "adc_stm32_init"),
    ("nucleo_l4r5zi", "temperature", ("cmsis", "stm32"), {"window": 48}, "stm32_temp"),
    ("rpi_pico", "temperature", ("cmsis", "rpi_pico"), {"window": 48}, "rpi_pico_temp"),
    ("rpi_pico", "adc", ("cmsis", "rpi_pico"), {"window": 48}, "adc_rpi"),
    ("nrf52840dk", "adc", ("cmsis", "nordic"),
     {"window": 48, "hop": 16, "preprocess": ["dc_remove", "zscore"],
      "loop": {"mode": "event", "trigger": "button"},
      "actions": [{"led": "led0", "log": True, "uart": True, "threshold": 0.5}]},
     "{name}_button_cb"),
    ("nrf52840dk", "temperature", ("cmsis", "nordic"), {"window": 48}, "temp_nrf5"),
]


def _driver_facts(board: str, kind: str, built: dict) -> None:
    """What the driver needs to deliver data, read back from the real build."""
    conf, main_c = kconfig(built["build"]), (built["app"] / "src" / "main.c").read_text()
    if kind in ("accel", "imu"):  # the IMU powers up at init with ODR 0 unless told a rate
        assert "SENSOR_ATTR_SAMPLING_FREQUENCY" in main_c
        if board == "disco_l475_iot1":
            assert conf["CONFIG_LSM6DSL_ACCEL_ODR"] == "0"  # 0: chosen at run time
        else:
            node = next(n for n in devicetree(built["build"]).nodes
                        if "st,lsm9ds1" in n.compats)
            assert node.status == "okay" and node.props["imu-odr"].val == 0
    if board == "arduino_nano_33_ble":  # vdd_env (sensors) and mic_pwr: fixed regulators
        assert conf.get("CONFIG_REGULATOR") == "y" and conf.get("CONFIG_REGULATOR_FIXED") == "y"
        edt = devicetree(built["build"])
        power = "mic_pwr" if kind == "mic" else "vdd-env"
        assert any("regulator-fixed" in n.compats and n.status == "okay"
                   and "regulator-boot-on" in n.props for n in edt.nodes if n.name == power)

@pytest.mark.parametrize("target, kind, hals, config, symbol", [
    pytest.param(*row, marks=needs_modules(*row[2]), id=f"{row[0]}-{row[1]}")
    for row in SENSOR_APPS])
def test_sensor_app_builds(boards, motion_build, target, kind, hals, config, symbol):
    built = boards.build(target, motion_build, {"sensor": kind, **config}, kind)
    symbols = subprocess.run(["arm-none-eabi-nm", str(built["zephyr"] / "zephyr.elf")],
                             capture_output=True, text=True, check=True).stdout
    assert symbol.format(name=motion_build.name) in symbols
    check_memory(built, "sensor")
    _driver_facts(target, kind, built)


# Boards without an emulator, with the HAL modules their replay app needs.
HARDWARE = [("nrf52840dk", ("cmsis", "nordic")), ("arduino_nano_33_ble", ("cmsis", "nordic")),
            ("disco_l475_iot1", ("cmsis", "stm32")), ("nucleo_l4r5zi", ("cmsis", "stm32")),
            ("rpi_pico", ("cmsis", "rpi_pico"))]


@pytest.mark.parametrize("target", [
    pytest.param(t, marks=needs_modules(*hals), id=t) for t, hals in HARDWARE])
def test_replay_app_builds(boards, digits_build, target):
    """The default application (replayed samples, console and log actions) on hardware; its
    budget comes from the board's partition table."""
    built = boards.build(target, digits_build, {"replay": {"runs": 1}}, "replay")
    check_memory(built, "replay", fresh=True)
    check_partitions(built)


def test_reference_app_builds_by_hand(tmp_path, digits_build):
    """zephyr_app/ against a model folder from `edgec build --target host`, as its README
    says, for native_sim: it renders its own templates and prints the reference results."""
    import yaml

    from edgec.project import APP_DIR, ModelIO, parse_app_config
    from tests.project.zephyr_tools import zephyr_build
    (tmp_path / "app.yaml").write_text(yaml.safe_dump({"replay": {"runs": 1}}))
    zephyr_dir = zephyr_build(APP_DIR, "native_sim", tmp_path / "build",
                              f"-DEDGEC_MODEL_DIR={digits_build.out_dir}",
                              f"-DEDGEC_APP={tmp_path / 'app.yaml'}")
    run = subprocess.run([str(zephyr_dir / "zephyr.exe"), "-no-rt"], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0 and "EDGEC DONE" in run.stdout
    config = parse_app_config({"replay": {"runs": 1}})
    labels = [f"class{i}" for i in range(10)]
    assert printed_lines(run.stdout) == reference_lines(
        digits_build, ModelIO.from_build(digits_build), config, labels)


# Actions only the nRF52840 boards offer: Bluetooth LE advertising (Zephyr's open-source
# controller) and PWM LEDs, with the uart action on the console UART; built last so that the
# Bluetooth build does not make the other apps of these boards rebuild.
ACTION_APPS = [("nrf52840dk", ["pwm-led0"]), ("arduino_nano_33_ble", ["pwm-led0", "pwm-led4"])]


@pytest.mark.parametrize("target, pwms", [
    pytest.param(t, p, marks=needs_modules("cmsis", "nordic"), id=t) for t, p in ACTION_APPS])
def test_ble_pwm_uart_app_builds(boards, digits_build, target, pwms):
    actions = [{"uart": True, "ble": True}] + [
        {"label": f"class{k}", "pwm": pwm, "duty": 0.25 * (k + 1)} for k, pwm in enumerate(pwms)]
    built = boards.build(target, digits_build, {"replay": {"runs": 1}, "actions": actions},
                         "ble+pwm+uart")
    symbols = subprocess.run(["arm-none-eabi-nm", str(built["zephyr"] / "zephyr.elf")],
                             capture_output=True, text=True, check=True).stdout
    name = digits_build.name
    for symbol in ("bt_enable", "bt_le_adv_start", "bt_le_adv_update_data", "pwm_nrfx_init0",
                   f"{name}_port_ble", f"{name}_port_pwm", f"{name}_port_uart"):
        assert f" {symbol}\n" in symbols, symbol
    conf = kconfig(built["build"])
    assert conf["CONFIG_BT_BROADCASTER"] == "y" and conf.get("CONFIG_BT_PERIPHERAL") is None
    assert conf["CONFIG_BT_LL_SW_SPLIT"] == "y"  # Zephyr's own controller, in the tree
    main_c = (built["app"] / "src" / "main.c").read_text()
    assert "uart_poll_out" in main_c and "DT_CHOSEN(zephyr_console)" in main_c
    edt = devicetree(built["build"])
    for pwm in pwms:  # the alias's LED and its PWM instance are enabled
        node = edt.get_node(pwm)
        assert node.status == "okay" and node.parent.status == "okay"
        assert node.props["pwms"].val[0].controller.status == "okay"
    check_memory(built, "ble", fresh=True)
