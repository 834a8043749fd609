"""Application rendering: every board, determinism, Kconfig, and the portable core run on
the host against numpy preprocessing plus the reference interpreter."""

import shutil
import subprocess

import numpy as np
import pytest

from edgec.ir import interpret
from edgec.project import (ModelIO, parse_app_config, plan_app, render_app, render_files,
                           replay_samples)
from edgec.targets import load_target
from tests.project.test_targets import BOARDS


@pytest.mark.parametrize("board", BOARDS)
def test_every_board_renders_deterministically(board, digits_build):
    target, config = load_target(board), parse_app_config(None)
    first = render_files(plan_app(config, target, ModelIO.from_build(digits_build)))
    again = render_files(plan_app(config, target, ModelIO.from_build(digits_build)))
    assert first == again
    assert {"CMakeLists.txt", "prj.conf", "src/main.c", "README.md"} <= set(first)
    assert f"west build -b {target['zephyr_board']}" in first["README.md"]
    assert ("CONFIG_FPU=y" in first["prj.conf"]) == (target["fpu"] and target["cpu"] != "posix")


def test_sensor_kconfig_and_overlay(motion_build):
    config = parse_app_config({"sensor": "adc", "window": 48,
                               "actions": [{"led": "led0", "uart": True}]})
    files = render_files(plan_app(config, load_target("nrf52840"),
                                  ModelIO.from_build(motion_build)))
    conf = files["prj.conf"].splitlines()
    assert {"CONFIG_ADC=y", "CONFIG_GPIO=y"} <= set(conf) and "CONFIG_LOG=y" not in conf
    overlay = files["boards/nrf52840dk_nrf52840.overlay"]
    assert "io-channels = <&adc 1>;" in overlay and "ADC_DT_SPEC_GET" in files["src/main.c"]


def test_event_trigger_kconfig(motion_build):
    config = parse_app_config({"sensor": "accel", "loop": {"mode": "event",
                                                          "trigger": "data_ready"}})
    files = render_files(plan_app(config, load_target("disco_l475_iot1"),
                                  ModelIO.from_build(motion_build)))
    assert "CONFIG_LSM6DSL_TRIGGER_GLOBAL_THREAD=y" in files["prj.conf"]
    assert "SENSOR_TRIG_DATA_READY" in files["src/main.c"]


def numpy_chain(samples, window, hop, gain, offset):
    """scale -> windows, written independently of the generated C."""
    starts = range(0, len(samples) - window + 1, hop)
    return [samples[s:s + window] * np.float32(gain) + np.float32(offset) for s in starts]


def quantize(x, scale, zp):
    q = (x / np.float32(scale)).astype(np.float32)
    return np.clip(np.sign(q) * np.floor(np.abs(q) + np.float32(0.5)) + zp, -128, 127)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_host_shim_runs_the_loop_like_numpy(tmp_path, digits_build):
    """The generated core (ring buffer, hop, preprocessing, model, actions) on the host."""
    config = parse_app_config({
        "window": 64, "hop": 16, "preprocess": [{"scale": {"gain": 0.5, "offset": 0.25}}],
        "labels": [f"d{i}" for i in range(10)], "replay": {"windows": 4},
        "actions": [{"label": "any", "uart": True}, {"label": "d9", "log": True}]})
    out = tmp_path / "app"
    shutil.copytree(digits_build.out_dir, out / "model")
    render_app(config, load_target("native_sim"), digits_build, out)
    exe = tmp_path / "app_host"
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic",
                    "-I", str(out / "src"), "-I", str(out / "model"), str(out / "host/main.c"),
                    *(str(p) for p in sorted((out / "src").glob(f"{digits_build.name}_*.c"))),
                    str(out / "model" / f"{digits_build.name}.c"), "-lm", "-o", str(exe)],
                   check=True)
    lines = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    graph = digits_build.graph
    tensor = graph.tensors[graph.inputs[0]]
    samples = replay_samples(config, ModelIO.from_build(digits_build))[:, 0]
    outputs = [line.split()[1:] for line in lines.splitlines() if line.startswith("OUT")]
    windows = numpy_chain(samples, 64, 16, 0.5, 0.25)
    assert len(outputs) == len(windows) == 4
    for got, window in zip(outputs, windows):
        x = quantize(window, tensor.quant.s, tensor.quant.zp).astype(np.int8)
        expected = interpret(graph, {graph.inputs[0]: x.reshape(tensor.shape)})
        np.testing.assert_array_equal(np.array(got, int), next(iter(expected.values()))[0])
        label = int(np.argmax(np.array(got, int)))
        assert any(line.startswith(f"EDGEC,{label},d{label},") for line in lines.splitlines())
    logged = [line for line in lines.splitlines() if line.startswith("LOG ")]
    assert all(",d9," in line for line in logged)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_pwm_duty_per_label_and_ble_payload_on_the_host(tmp_path, digits_build):
    """The pwm and ble actions in the portable core (host shim): each PWM LED takes the duty
    of the first matching rule naming it (0 when none), ble gets label and permille."""
    duties = {2: 0.25, 9: 0.75}
    config = parse_app_config({"replay": {"windows": 6}, "actions": [
        {"uart": True, "ble": True},
        *({"label": f"class{k}", "pwm": "pwm-led0", "duty": d} for k, d in duties.items()),
        {"label": "any", "pwm": "pwm-led0", "duty": 0.5, "threshold": 0.99}]})
    out = tmp_path / "app"
    shutil.copytree(digits_build.out_dir, out / "model")
    render_app(config, load_target("nrf52840dk"), digits_build, out)
    exe = tmp_path / "app_host"
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic",
                    "-I", str(out / "src"), "-I", str(out / "model"), str(out / "host/main.c"),
                    *(str(p) for p in sorted((out / "src").glob(f"{digits_build.name}_*.c"))),
                    str(out / "model" / f"{digits_build.name}.c"), "-lm", "-o", str(exe)],
                   check=True)
    lines = subprocess.run([str(exe)], capture_output=True, text=True,
                           check=True).stdout.splitlines()
    results = [line.split(",") for line in lines if line.startswith("EDGEC,")]
    pwm = [int(line.split()[2]) for line in lines if line.startswith("PWM 0 ")]
    ble = [line.split()[1:] for line in lines if line.startswith("BLE ")]
    assert len(results) == len(pwm) == len(ble) == 6
    for (_, label, _, permille, _), duty, (ble_label, ble_permille) in zip(results, pwm, ble):
        want = duties.get(int(label), 0.5 if int(permille) >= 990 else 0.0)
        assert duty == round(want * 1000) and (ble_label, ble_permille) == (label, permille)
    assert {int(r[1]) for r in results} & set(duties)  # some window hits a pwm label
    main_c = (out / "src" / "main.c").read_text()
    assert "PWM_DT_SPEC_GET(DT_ALIAS(pwm_led0))" in main_c and "bt_le_adv_start" in main_c
    assert "CONFIG_BT_BROADCASTER=y" in (out / "prj.conf").read_text()


SEMIHOST_EXIT = "semihost_exec((enum semihost_instr)0x18, (void *)0x20026);"


@pytest.mark.parametrize("board, ending, kconfig", [
    ("native_sim", "posix_exit(0);", None),
    ("qemu_cortex_m3", SEMIHOST_EXIT, "CONFIG_SEMIHOST=y"),
    ("mps2_an386", SEMIHOST_EXIT, "CONFIG_SEMIHOST=y"),
])
def test_bounded_replay_ends_the_emulator(board, ending, kconfig, digits_build):
    model = ModelIO.from_build(digits_build)
    bounded = render_files(plan_app(parse_app_config({"replay": {"runs": 2}}),
                                    load_target(board), model))
    endless = render_files(plan_app(parse_app_config(None), load_target(board), model))
    assert ending in bounded["src/main.c"] and "runs_left = 2;" in bounded["src/main.c"]
    assert ending not in endless["src/main.c"] and "EDGEC DONE" not in endless["src/main.c"]
    if kconfig:
        assert kconfig in bounded["prj.conf"] and kconfig not in endless["prj.conf"]
    assert "-semihosting" in load_target(board)["emulator"] or board == "native_sim"


def test_bounded_replay_on_hardware_just_stops(digits_build):
    files = render_files(plan_app(parse_app_config({"replay": {"runs": 1}}),
                                  load_target("nrf52840dk"), ModelIO.from_build(digits_build)))
    main_c = files["src/main.c"]
    assert "EDGEC DONE" in main_c and "semihost" not in main_c and "posix_exit" not in main_c
    assert "CONFIG_SEMIHOST=y" not in files["prj.conf"]
