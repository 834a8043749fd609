"""Verification in the Zephyr application on an emulated board (``edgec verify --target
native_sim``, or ``--zephyr`` with qemu_cortex_m3, mps2_an386, qemu_riscv32): the inputs
become the replay samples of the generated application (the app's own replay mechanism,
one window per input, one pass), which is built against a Zephyr tree and run to its end.
It prints, per window, its result line (``EDGEC,<index>,<label>,<permille>,<cycles>``) and,
with ``CONFIG_EDGEC_APP_PRINT_OUTPUT``, the raw output (``EDGEC OUT,...``); both are
compared with the reference interpreter on the input the app computed from the samples
(quantized as the app does): outputs bit for bit, labels and scores exactly.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from edgec.errors import EdgecError
from edgec.project import ModelIO, parse_app_config, plan_app, render_files
from edgec.project.zephyr import run_command, zephyr_build

RUN_TIMEOUT_S = 120  # plus per-window time below
SAMPLE_RATE_HZ = 1000.0  # replay pace; QEMU runs in real time, so not faster than its tick
ZEPHYR_TARGETS = ("native_sim", "qemu_cortex_m3", "mps2_an386", "qemu_riscv32")


def check_zephyr_target(target: dict) -> None:
    """Refuse a target the Zephyr path cannot run (before any slow step): it needs a Zephyr
    board with an emulator (native_sim or QEMU)."""
    if not target.get("zephyr_board") or not target["emulator"]:
        raise EdgecError(f"--zephyr needs an emulated Zephyr board, not {target['name']}",
                         f"use one of: {', '.join(ZEPHYR_TARGETS)}")


def samples_of(graph, inputs: list[list[np.ndarray]]) -> np.ndarray:
    """The replay samples (float32, one window per input) whose quantization by the app
    gives back each int8 input; float inputs are replayed as they are."""
    tensor = graph.tensors[graph.inputs[0]]
    rows = []
    for sample in inputs:
        x = np.asarray(sample[0]).reshape(-1)
        if tensor.dtype == "int8":
            x = (x.astype(np.float32) - np.float32(tensor.quant.zp)) * np.float32(tensor.quant.s)
        rows.append(x.astype(np.float32))
    return np.concatenate(rows)


def app_input(graph, window: np.ndarray) -> np.ndarray:
    """The model input the app computes from one window of float samples (its
    ``_pre_quantize_int8``: round half away from zero, saturate)."""
    tensor = graph.tensors[graph.inputs[0]]
    x = window.astype(np.float32)
    if tensor.dtype == "int8":
        q = (x / np.float32(tensor.quant.s)).astype(np.float32)
        q = np.sign(q) * np.floor(np.abs(q) + np.float32(0.5)) + tensor.quant.zp
        x = np.clip(q, -128, 127).astype(np.int8)
    return x.reshape(tensor.shape)


def parse_output(line: str, dtype: str, size: int) -> np.ndarray:
    """The values of one ``EDGEC OUT,...`` line."""
    fields = line.split(",")[1:]
    if len(fields) != size:
        raise EdgecError(f"the firmware printed {len(fields)} output values, the model has "
                         f"{size}: '{line[:80]}'")
    if dtype == "float32":
        return np.array([int(f, 16) for f in fields], dtype=np.uint32).view(np.float32)
    return np.array([int(f) for f in fields], dtype=dtype)


def run_in_zephyr(result, inputs: list[list[np.ndarray]], work: Path, base: Path,
                  cache_dir: Path | None = None):
    """Build the replay app of ``result`` (an ``edgec.build.BuildResult``) for its target
    with ``inputs`` as the replayed windows in ``work``, run it; returns (the raw outputs per
    input, the result lines printed, the app context)."""
    target, graph = result.target, result.graph
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise EdgecError("verify in Zephyr drives models with one input and one output",
                         f"this model has {len(graph.inputs)} and {len(graph.outputs)}")
    work.mkdir(parents=True, exist_ok=True)
    np.save(work / "replay.npy", samples_of(graph, inputs))
    config = parse_app_config({"replay": {"file": str(work / "replay.npy"), "runs": 1},
                               "sample_rate": SAMPLE_RATE_HZ, "actions": [{"uart": True}]})
    io = ModelIO.from_build(result)
    context = plan_app(config, target, io)
    app = work / "app"
    for rel, text in render_files(context).items():
        _write(app / rel, text.encode("ascii"))
    for path in sorted(Path(result.out_dir).iterdir()):
        if path.is_file():
            _write(app / "model" / path.name, path.read_bytes())
    _write(app / "verify.conf", b"CONFIG_EDGEC_APP_PRINT_OUTPUT=y\n")
    zephyr_dir = zephyr_build(app, target, work / "build",
                              f"-DEXTRA_CONF_FILE={app / 'verify.conf'}", base=base,
                              cache_dir=cache_dir)
    window_s = context["window"] / SAMPLE_RATE_HZ
    timeout = RUN_TIMEOUT_S + 4 * window_s * len(inputs)
    try:
        run = subprocess.run(run_command(target, zephyr_dir), capture_output=True, text=True,
                             timeout=timeout, cwd=work)
    except FileNotFoundError as exc:
        raise EdgecError(f"cannot run {exc.filename}: not found",
                         "install the emulator (qemu-system-arm, qemu-system-misc)") from exc
    except subprocess.TimeoutExpired as exc:
        raise EdgecError(f"the Zephyr application on {target['name']} did not finish in "
                         f"{timeout:.0f} s", f"its build is in {work}") from exc
    lines = run.stdout.splitlines()
    if run.returncode != 0 or "EDGEC DONE" not in lines:
        tail = " | ".join(lines[-3:])
        raise EdgecError(f"the Zephyr application on {target['name']} ended with status "
                         f"{run.returncode} before EDGEC DONE: {tail[:200]}")
    out = graph.tensors[graph.outputs[0]]
    outputs = [parse_output(line, out.dtype, out.size).reshape(out.shape) for line in lines
               if line.startswith("EDGEC OUT,")]
    results = [line for line in lines if line.startswith("EDGEC,")]
    if len(outputs) != len(inputs) or len(results) != len(inputs):
        raise EdgecError(f"the firmware printed {len(outputs)} outputs and {len(results)} "
                         f"result lines for {len(inputs)} inputs")
    return outputs, results, context


def expected_line(graph, output: np.ndarray, labels: list[str]) -> str:
    """``EDGEC,<index>,<label>,<permille>`` as the app computes it from ``output``
    (first maximum, dequantized score in float32, permille rounded half up)."""
    flat = output.reshape(-1)
    label = int(np.argmax(flat))
    quant = graph.tensors[graph.outputs[0]].quant
    if quant is not None and flat.dtype == np.int8:
        score = np.float32(np.float32(int(flat[label]) - quant.zp) * np.float32(quant.s))
    else:
        score = np.float32(flat[label])
    permille = int(np.float32(score * np.float32(1000.0)) + np.float32(0.5))
    return f"EDGEC,{label},{labels[label]},{permille}"


def _write(path: Path, data: bytes) -> None:
    """Write unless unchanged (an incremental build then recompiles only what changed)."""
    if path.is_file() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
