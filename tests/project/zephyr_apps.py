"""Generated applications as a Zephyr build sees them: each board has one app folder and one
build folder for the whole test session (``BoardBuilds``), so consecutive apps on a board
rebuild incrementally; and the reference results the emulated runs must print."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from edgec.project import ModelIO, parse_app_config, plan_app, render_files, replay_samples
from edgec.project.budget import check_budget
from edgec.targets import load_target
from tests.project.zephyr_tools import write_tree, zephyr_build


class BoardBuilds:
    """``build(target, model, config)``: render the app into ``root/<target>/app`` (only
    changed files rewritten) and build it in ``root/<target>/build``."""

    def __init__(self, root: Path):
        self.root = root
        self.log: list[tuple[str, str]] = []  # (target, what was built), in order

    def build(self, target: str, model, config: dict, what: str = "",
              user: dict[str, str] | None = None) -> dict:
        t = load_target(target)
        io = ModelIO.from_build(model)
        app_config = parse_app_config(config)
        context = plan_app(app_config, t, io)
        files = {rel: text.encode("ascii") for rel, text in render_files(context).items()}
        files.update({f"src/user/{rel}": text.encode("ascii")
                      for rel, text in (user or {}).items()})
        for path in sorted(Path(model.out_dir).iterdir()):
            if path.is_file():
                files[f"model/{path.name}"] = path.read_bytes()
        app = self.root / target / "app"
        write_tree(files, app)
        build = self.root / target / "build"
        zephyr = zephyr_build(app, t["zephyr_board"], build)
        self.log.append((target, what or str(config)))
        return {"target": t, "app": app, "build": build, "zephyr": zephyr, "context": context,
                "budget": check_budget(t, io.totals, context), "config": app_config,
                "model": io}


def reference_lines(model, io: ModelIO, config, labels: list[str]) -> list[str]:
    """``EDGEC,<label>,<name>,<permille>`` for every window of one replay pass, from the
    reference interpreter on the replayed samples (the default app: no preprocessing, hop =
    window, int8 or int16 input quantized as the app does)."""
    graph = model.graph
    tensor = graph.tensors[graph.inputs[0]]
    samples = replay_samples(config, io).reshape(-1)
    size, lines = tensor.size, []
    for start in range(0, len(samples) - size + 1, size):
        x = samples[start:start + size]
        q = (x / np.float32(tensor.quant.s)).astype(np.float32)
        q = np.sign(q) * np.floor(np.abs(q) + np.float32(0.5)) + tensor.quant.zp
        info = np.iinfo(tensor.dtype)  # int8, or int16 for a 16x8 model
        q = np.clip(q, info.min, info.max).astype(tensor.dtype).reshape(tensor.shape)
        out = next(iter(_interpret(graph, q).values())).reshape(-1)
        label = int(np.argmax(out))  # first maximum, as the app's strict > scan
        quant = graph.tensors[graph.outputs[0]].quant
        score = np.float32(np.float32(int(out[label]) - quant.zp) * np.float32(quant.s))
        permille = int(np.float32(score * np.float32(1000.0)) + np.float32(0.5))
        lines.append(f"EDGEC,{label},{labels[label]},{permille}")
    return lines


def _interpret(graph, x):
    from edgec.ir import interpret
    return interpret(graph, {graph.inputs[0]: x})


def printed_lines(output: str) -> list[str]:
    """The result lines a run printed, without the trailing timing field."""
    return [line.rsplit(",", 1)[0] for line in output.splitlines() if line.startswith("EDGEC,")]


def run_emulated(built: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run a bounded-replay build to its end on native_sim or QEMU."""
    t = built["target"]
    if t["emulator"] == ["native"]:
        cmd = [str(built["zephyr"] / "zephyr.exe"), "-no-rt"]
    else:
        cmd = [*t["emulator"], "-kernel", str(built["zephyr"] / "zephyr.elf")]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
