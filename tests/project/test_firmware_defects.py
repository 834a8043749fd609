"""What the generated firmware does on a board, read from the rendered sources: sensor rates,
checked driver calls, the app's own work queue, honest timing, run lines for emulated boards,
a clean stop after a bounded replay, one line per result, DMIC blocks in the RAM budget. The
same apps are built (and the emulated ones run) against Zephyr in test_zephyr.py."""

import re

import pytest

from edgec.project import ModelIO, parse_app_config, plan_app, render_files
from edgec.project.budget import app_ram_bytes
from edgec.targets import load_target
from tests.project.test_targets import BOARDS


def files(build, target, config=None):
    return render_files(plan_app(parse_app_config(config), load_target(target),
                                 ModelIO.from_build(build)))


@pytest.mark.parametrize("target, kind, channels", [
    ("disco_l475_iot1", "imu", ["ACCEL_XYZ", "GYRO_XYZ"]),
    ("arduino_nano_33_ble", "accel", ["ACCEL_XYZ"]),
])
def test_imu_rate_is_set_and_checked(motion_build, target, kind, channels):
    main_c = files(motion_build, target, {"sensor": kind, "window": 48 // (3 * len(channels)),
                                          "sample_rate": 104.5})["src/main.c"]
    calls = re.findall(r"sensor_attr_set\(\w+_dev, SENSOR_CHAN_(\w+),\s+"
                       r"SENSOR_ATTR_SAMPLING_FREQUENCY, &odr\);\n    if \(status != 0\)", main_c)
    assert calls == channels and ".val1 = 105," in main_c  # rounded up, never below


def test_temperature_sets_no_rate(motion_build):
    main_c = files(motion_build, "nrf52840dk", {"sensor": "temperature", "window": 48})
    assert "sensor_attr_set" not in main_c["src/main.c"]


def test_every_driver_call_is_checked(motion_build):
    main_c = files(motion_build, "nrf52840dk", {
        "sensor": "adc", "window": 48, "loop": {"mode": "event", "trigger": "button"},
        "actions": [{"led": "led0", "uart": True}]})["src/main.c"]
    assert not re.search(r"\(void\)\s*(gpio|k_work|adc|sensor|dmic)_", main_c)
    assert main_c.count("gpio_is_ready_dt(") == 2 and "adc_is_ready_dt" in main_c
    assert "status = gpio_pin_set_dt(" in main_c


def test_inference_leaves_the_system_work_queue(motion_build):
    """Timer and button loops submit to the app's own queue; presses are debounced and the
    system work queue keeps its default stack."""
    for config in ({"window": 48}, {"sensor": "adc", "window": 48,
                                    "loop": {"mode": "event", "trigger": "button"}}):
        out = files(motion_build, "nrf52840dk", config)
        main_c = out["src/main.c"]
        assert "k_work_submit(" not in main_c and "k_work_submit_to_queue(" in main_c
        assert "k_work_queue_start(" in main_c and "K_THREAD_STACK_DEFINE" in main_c
        assert "SYSTEM_WORKQUEUE" not in out["prj.conf"]
    assert "DEBOUNCE_MS" in main_c and "k_work_busy_get" in main_c


@pytest.mark.parametrize("board", BOARDS)
def test_timing_only_where_it_means_something(digits_build, board):
    main_c = files(digits_build, board)["src/main.c"]
    emulated = bool(load_target(board)["emulator"])
    assert ("k_cycle_get_32()" in main_c) != emulated
    assert ("time not measured on an emulated board" in main_c) == emulated


@pytest.mark.parametrize("board", BOARDS)
def test_readme_run_lines(digits_build, board):
    readme = files(digits_build, board, {"replay": {"runs": 1}})["README.md"]
    target = load_target(board)
    assert ("west flash" in readme) == (not target["emulator"])
    if board == "native_sim":
        assert "./build/zephyr/zephyr.exe -no-rt" in readme and "west build -t run" in readme
    elif target["emulator"]:
        assert " ".join(target["emulator"]) + " -kernel build/zephyr/zephyr.elf" in readme
        assert "-icount" in readme


def test_bounded_replay_stops_the_timer(digits_build):
    main_c = files(digits_build, "nrf52840dk", {"replay": {"runs": 1}})["src/main.c"]
    tick = main_c[main_c.index("_tick(struct k_timer *timer)"):]
    assert "k_timer_stop(timer);" in tick[:tick.index("k_work_submit_to_queue")]


def test_log_and_uart_print_one_line(digits_build):
    out = files(digits_build, "native_sim")
    app_c = next(text for path, text in out.items() if path.endswith("_app.c"))
    assert "if (a->log && !a->uart)" in app_c


def test_dmic_blocks_count_in_the_ram_budget(motion_build):
    def ram(hop):
        config = parse_app_config({"sensor": "mic", "window": 48, "hop": hop,
                                   "sample_rate": 16000})
        context = plan_app(config, load_target("arduino_nano_33_ble"),
                           ModelIO.from_build(motion_build))
        return context["dmic_block_bytes"], app_ram_bytes(context)
    (block16, ram16), (block48, ram48) = ram(16), ram(48)
    assert (block16, block48) == (32, 96) and ram48 - ram16 == 4 * (96 - 32)


def test_user_code_and_settings_without_editing(digits_build):
    """src/user/*.c is compiled in; period, threshold and log level are Kconfig symbols with
    prj.conf defaults; sample.yaml lets twister build and run the app."""
    out = files(digits_build, "qemu_cortex_m3", {"replay": {"runs": 1}, "sample_rate": 50})
    assert "src/user/*.c" in out["CMakeLists.txt"] and "src/user/README.md" in out
    for symbol in ("EDGEC_APP_SAMPLE_PERIOD_US", "EDGEC_APP_THRESHOLD_PERMILLE"):
        assert f"config {symbol}" in out["Kconfig"]
    assert "Kconfig.template.log_config" in out["Kconfig"]
    conf = out["prj.conf"].splitlines()
    assert {"CONFIG_EDGEC_APP_SAMPLE_PERIOD_US=20000", "CONFIG_EDGEC_APP_LOG_LEVEL_INF=y",
            "CONFIG_EDGEC_APP_THRESHOLD_PERMILLE=0"} <= set(conf)
    header = next(text for path, text in out.items() if path.endswith("_app.h"))
    assert "CONFIG_EDGEC_APP_SAMPLE_PERIOD_US" in header
    assert "platform_allow:\n    - qemu_cortex_m3" in out["sample.yaml"]
    assert '- "EDGEC DONE"' in out["sample.yaml"]
    hardware = files(digits_build, "nrf52840dk")["sample.yaml"]
    assert "build_only: true" in hardware and "EDGEC DONE" not in hardware


@pytest.mark.parametrize("board", BOARDS)
def test_board_overlay_always_written(digits_build, board):
    """A reused build folder caches the overlay list: the file must exist for every app."""
    name = load_target(board)["zephyr_board"].replace("/", "_")
    assert "Nothing beyond the board's devicetree" in files(digits_build, board)[
        f"boards/{name}.overlay"]
