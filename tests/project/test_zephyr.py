"""Generated applications built against a real Zephyr tree and run where an emulator exists.

Runs when ZEPHYR_BASE is set (with Zephyr's Python requirements, device-tree-compiler,
gcc-multilib, gcc-arm-none-eabi and picolibc-arm-none-eabi installed); Arm builds need
hal/cmsis and nRF builds hal/nordic, given as EDGEC_ZEPHYR_MODULES="path1;path2" or found in
$ZEPHYR_BASE/../modules/hal/.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from edgec.project import parse_app_config, render_app
from edgec.targets import load_target

ZEPHYR_BASE = os.environ.get("ZEPHYR_BASE")
pytestmark = pytest.mark.skipif(
    not ZEPHYR_BASE, reason="set ZEPHYR_BASE to a Zephyr 4.x tree to build the generated apps")


def modules() -> list[str]:
    given = os.environ.get("EDGEC_ZEPHYR_MODULES")
    if given:
        return given.split(";")
    if not ZEPHYR_BASE:
        return []
    hal = Path(ZEPHYR_BASE).parent / "modules" / "hal"
    return sorted(str(p) for p in hal.glob("*") if p.is_dir())


def zephyr_build(app: Path, board: str, out: Path) -> Path:
    env = dict(os.environ)
    native = board == "native_sim"
    env.setdefault("ZEPHYR_TOOLCHAIN_VARIANT", "host" if native else "gnuarmemb")
    if native:
        env["ZEPHYR_TOOLCHAIN_VARIANT"] = "host"
    env.setdefault("GNUARMEMB_TOOLCHAIN_PATH", "/usr")
    args = ["cmake", "-G", "Ninja", "-S", str(app), "-B", str(out), f"-DBOARD={board}",
            "-DBUILD_VERSION=v4.1.0", f"-DZEPHYR_MODULES={';'.join(modules())}"]
    if not native:
        args.append("-DTOOLCHAIN_HAS_PICOLIBC=ON")
    for cmd in (args, ["ninja", "-C", str(out)]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out / "zephyr"


def make_app(tmp_path, build, target, config=None) -> Path:
    app = tmp_path / "app"
    shutil.copytree(build.out_dir, app / "model")
    render_app(parse_app_config(config), load_target(target), build, app)
    return app


def expected_labels(tmp_path, build) -> list[str]:
    """The EDGEC lines the host shim prints for the same replay: the device must agree."""
    app = make_app(tmp_path / "host", build, "native_sim")
    exe = tmp_path / "host_app"
    sources = [str(p) for p in sorted((app / "src").glob(f"{build.name}_*.c"))]
    subprocess.run(["gcc", "-std=c99", "-I", str(app / "src"), "-I", str(app / "model"),
                    str(app / "host/main.c"), *sources, str(app / f"model/{build.name}.c"),
                    "-lm", "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    return [line.rsplit(",", 1)[0] for line in out.splitlines() if line.startswith("EDGEC,")]


def device_labels(output: str) -> list[str]:
    return [line.rsplit(",", 1)[0] for line in output.splitlines() if line.startswith("EDGEC,")]


def test_native_sim_replay(tmp_path, digits_build):
    app = make_app(tmp_path, digits_build, "native_sim")
    exe = zephyr_build(app, "native_sim", tmp_path / "build") / "zephyr.exe"
    run = subprocess.run([str(exe), "-no-rt", "-stop_at=60"], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0 and "EDGEC DONE" in run.stdout
    assert device_labels(run.stdout) == expected_labels(tmp_path, digits_build)


def run_qemu(command: list[str], elf: Path) -> str:
    """QEMU does not exit when main returns: read until the app says it is done."""
    process = subprocess.Popen([*command, "-kernel", str(elf)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if "EDGEC DONE" in line:
                break
    finally:
        process.kill()
        process.wait()
    return "".join(lines)


@pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="needs qemu-system-arm")
@pytest.mark.parametrize("target", ["qemu_cortex_m3", "mps2_an386"])
def test_qemu_replay(tmp_path, digits_build, target):
    t = load_target(target)
    app = make_app(tmp_path, digits_build, target)
    elf = zephyr_build(app, t["zephyr_board"], tmp_path / "build") / "zephyr.elf"
    output = run_qemu(t["emulator"], elf)
    assert "EDGEC DONE" in output
    assert device_labels(output) == expected_labels(tmp_path, digits_build)


@pytest.mark.skipif(not any("nordic" in m for m in modules()),
                    reason="needs hal_nordic (EDGEC_ZEPHYR_MODULES or $ZEPHYR_BASE/../modules)")
def test_nrf52840dk_adc_app_builds(tmp_path, motion_build):
    app = make_app(tmp_path, motion_build, "nrf52840dk", {
        "sensor": "adc", "window": 48, "hop": 16, "preprocess": ["dc_remove", "zscore"],
        "actions": [{"led": "led0", "uart": True, "threshold": 0.5}]})
    assert (zephyr_build(app, "nrf52840dk/nrf52840", tmp_path / "build") / "zephyr.elf").is_file()
