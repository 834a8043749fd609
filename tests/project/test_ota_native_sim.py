"""A model swapped over the air on native_sim (docs/OTA.md): the --model-partition app boots
without a model, takes model A over SMP (MCUmgr's UART transport on a host PTY pair made by
socat, the maintained smpclient on the host side), then model B; a corrupt image is refused
and B keeps running; an upload cut off by killing the process leaves a device that boots
with B. Every output line is compared with the reference interpreter on the same windows."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from edgec.build import build
from edgec.cli import main
from edgec.errors import EdgecError
from edgec.ir import interpret
from edgec.options import BuildOptions
from edgec.project.appconfig import load_app_config
from edgec.project.render import render_app
from edgec.verify.harness import random_inputs
from edgec.verify.zephyr import app_input, parse_output, samples_of
from tests.project.zephyr_tools import (BUILD_ROOT, devicetree, kconfig, needs_modules,
                                        write_tree, zephyr, zephyr_build)
from tests.test_model_partition import DIGITS, EXAMPLES, other_weights

pytestmark = [*zephyr, pytest.mark.skipif(shutil.which("socat") is None,
                                          reason="needs socat (Debian package socat)")]
pytest.importorskip("smpclient", reason="needs the ota extra: pip install 'edgec[ota]'")


class Device:
    """zephyr.exe with its MCUmgr UART on one end of a PTY pair; ``port`` is the other."""

    def __init__(self, exe: Path, folder: Path):
        self.exe, self.folder, self.log = exe, folder, folder / "console.log"
        self.port = str(folder / "host-tty")
        self.socat = subprocess.Popen(
            ["socat", f"pty,raw,echo=0,link={folder / 'device-tty'}",
             f"pty,raw,echo=0,link={self.port}"], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not (folder / "device-tty").exists() or not Path(self.port).exists():
            assert time.monotonic() < deadline, "socat made no PTY pair"
            time.sleep(0.05)
        self.process = None

    def start(self):
        self.mark = self.log.read_text().count("\n") if self.log.exists() else 0
        # The flash simulator keeps its image in flash.bin in the working folder.
        self.process = subprocess.Popen(
            [str(self.exe), f"-edgec-smp-uart_port={self.folder / 'device-tty'}",
             "-flash=flash.bin"], cwd=self.folder, stdout=open(self.log, "a"),
            stderr=subprocess.STDOUT)

    def lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()[self.mark:]

    def wait_for(self, text: str, after: int = 0, timeout: float = 60) -> int:
        """Index of the first line from ``after`` on that holds ``text``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.lines()
            for i in range(after, len(lines)):
                if text in lines[i]:
                    return i
            assert self.process.poll() is None, "\n".join(lines[-20:])
            time.sleep(0.1)
        raise AssertionError(f"no '{text}' in:\n" + "\n".join(self.lines()[-20:]))

    def outputs(self, after: int, count: int, timeout: float = 60) -> list[np.ndarray]:
        """``count`` EDGEC OUT lines after line ``after``, skipping the first (its inference
        may have run before the switch announced at ``after``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = [line for line in self.lines()[after + 1:] if line.startswith("EDGEC OUT,")]
            if len(out) > count:
                return [parse_output(line, "int8", 10) for line in out[1:count + 1]]
            time.sleep(0.1)
        raise AssertionError("too few outputs:\n" + "\n".join(self.lines()[-10:]))

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def close(self):
        self.kill()
        self.socat.terminate()
        self.socat.wait()


def _expected(graph, windows) -> list[np.ndarray]:
    return [interpret(graph, [app_input(graph, w)])[graph.outputs[0]].reshape(-1)
            for w in windows]


def _assert_runs(device: Device, after: int, expected: list[np.ndarray]):
    """Every output after ``after`` is one of ``expected`` (the replay's windows, in turn)
    and each window's output appears."""
    seen = device.outputs(after, 2 * len(expected))
    for y in seen:
        assert any(np.array_equal(y, e) for e in expected), (y, expected)
    for e in expected:
        assert any(np.array_equal(y, e) for y in seen)


def _stable_copy(app: Path, name: str) -> Path:
    """``app`` copied to one folder under BUILD_ROOT that every run reuses, unchanged files
    keeping their time stamps: the Zephyr build is incremental."""
    stable = BUILD_ROOT / name
    write_tree({str(p.relative_to(app)): p.read_bytes() for p in app.rglob("*") if p.is_file()},
               stable)
    return stable


@pytest.fixture(scope="module")
def ota(tmp_path_factory):
    from edgec.cli.package import PackageCommand  # noqa: F401  (the command under test)

    root = tmp_path_factory.mktemp("ota")
    a = build(DIGITS, root / "a", BuildOptions(constants="partition"))
    windows = [x[0] for x in random_inputs(a.graph, 2, seed=7)]
    replay = root / "replay.npy"
    np.save(replay, samples_of(a.graph, [[w] for w in windows]))
    (root / "app.yaml").write_text(
        f"sensor: replay\nsample_rate: 4000\nreplay: {{file: {replay}}}\n"
        "actions:\n  - {label: any, log: true}\n")
    app = root / "app"
    result = build(DIGITS, app / "model", BuildOptions(target="native_sim",
                                                        constants="partition"))
    render_app(load_app_config(str(root / "app.yaml")), result.target, result, app)
    stable = _stable_copy(app, "native_sim-ota-app")
    exe = zephyr_build(stable, "native_sim", BUILD_ROOT / "native_sim-ota",
                       "-DCONFIG_EDGEC_APP_PRINT_OUTPUT=y") / "zephyr.exe"
    b_model = other_weights(root / "b.tflite")
    b = build(b_model, root / "b", BuildOptions(constants="partition", name="digits_int8"))
    float_windows = [samples_of(a.graph, [[w]]) for w in windows]
    return {"exe": exe, "a": (app / "model" / "digits_int8.bin").read_bytes(),
            "b": (b.out_dir / "digits_int8.bin").read_bytes(),
            "expect_a": _expected(a.graph, float_windows),
            "expect_b": _expected(b.graph, float_windows), "root": root}


def test_models_swap_over_smp_and_survive_a_bad_image_and_a_cut_upload(ota, tmp_path, capsys):
    from edgec.ota import device_model, push

    assert not any(np.array_equal(x, y) for x, y in zip(ota["expect_a"], ota["expect_b"]))
    device = Device(ota["exe"], tmp_path)
    try:
        device.start()
        device.wait_for("waiting for one over SMP")
        assert device_model(device.port).slot == -1

        state = push(ota["a"], device.port)
        assert (state.slot, state.sequence) == (0, 1)
        _assert_runs(device, device.wait_for("model switched: slot 0, sequence 1"),
                     ota["expect_a"])

        image_b = tmp_path / "b.bin"
        image_b.write_bytes(ota["b"])
        assert main(["push", str(image_b), "--port", device.port]) == 0  # the CLI this time
        assert "runs slot 1, sequence 2" in capsys.readouterr().out
        switched = device.wait_for("model switched: slot 1, sequence 2")
        _assert_runs(device, switched, ota["expect_b"])

        corrupt = bytearray(ota["a"])
        corrupt[200] ^= 0x10  # a weight byte: the constants' CRC no longer matches
        with pytest.raises(EdgecError, match="constants damaged"):
            push(bytes(corrupt), device.port)
        refused = device.wait_for("model upload refused", switched)
        _assert_runs(device, refused, ota["expect_b"])
        assert device_model(device.port).sequence == 2

        push(ota["a"], device.port, limit=1024)  # the upload stops half way ...
        device.kill()  # ... and the device dies in the middle of it
        device.start()
        booted = device.wait_for("model loaded: slot 1, sequence 2")
        _assert_runs(device, booted, ota["expect_b"])
    finally:
        device.close()


@needs_modules("cmsis", "nordic")
def test_model_partition_app_builds_for_nrf52840dk(tmp_path):
    """On hardware the slots go where targets/nrf52840dk.yaml says (MCUboot's image-1 area)
    and MCUmgr shares the console UART: the app builds and links, with the partitions, the
    chosen SMP UART and the MCUmgr options in its devicetree and .config."""
    app = tmp_path / "app"
    result = build(DIGITS, app / "model", BuildOptions(target="nrf52840dk",
                                                        constants="partition"))
    render_app(load_app_config(str(EXAMPLES / "apps" / "replay.yaml")), result.target, result,
               app)
    stable = _stable_copy(app, "nrf52840dk-ota-app")
    out = BUILD_ROOT / "nrf52840dk-ota"
    zephyr_build(stable, "nrf52840dk/nrf52840", out)
    conf, edt = kconfig(out), devicetree(out)
    assert conf["CONFIG_MCUMGR"] == "y" and conf["CONFIG_MCUMGR_TRANSPORT_UART"] == "y"
    slots = [edt.label2node[f"edgec_model_{k}"] for k in range(2)]
    assert [s.regs[0].addr for s in slots] == [0x83000, 0x85000]
    assert all(s.regs[0].size >= (app / "model" / "digits_int8.bin").stat().st_size + 16
               for s in slots)
    assert edt.chosen_node("zephyr,uart-mcumgr").labels == ["uart0"]
