"""Render a Zephyr application around a built model.

``plan_app`` turns (app config, target, model) into one context dict: every name, size,
Kconfig line and C statement is decided here. The templates only lay them out: the
application's own files are the reference application in ``zephyr_app/`` (its ``src/``,
``host/`` and ``project/`` templates), the preprocessing functions come from
``templates/preprocess/``. ``render_app`` writes the files. The same inputs give the same
bytes.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import jinja2
import numpy as np

from edgec import __version__
from edgec.emit.cdata import c_float, c_string
from edgec.templating import environment, render
from edgec.errors import EdgecError
from edgec.project.appconfig import SENSOR_CHANNELS, AppConfig, check_against_target
from edgec.project.appschema import DEFAULT_STACK_BYTES, MIN_STACK_BYTES
from edgec.project.budget import check_budget
from edgec.project.chain import (Shape, check_input_size, float_range, generated_samples,
                                 input_call, plan_chain)
from edgec.project.modelio import ModelIO
from edgec.targets import load_target, target_names
from edgec.resources import data_dir

MODEL_DIR = "model"  # where the model's own sources go inside the application
APP_DIR = data_dir("zephyr_app")  # the reference application
DMIC_BLOCK_SAMPLES = 1600  # at most this many 16-bit samples per DMIC block (4 blocks)


# The C types of the model inputs and outputs the application handles (else float).
_APP_CTYPES = {"int8": "int8_t", "int16": "int16_t"}

def _window_shape(config: AppConfig, tensor) -> tuple[Shape, str]:
    """The raw window shape and a description of it for error messages."""
    if config.image is not None or (config.sensor == "replay" and config.channels is None
                                    and config.window is None  # a given window is checked
                                    and not config.preprocess and len(tensor.shape) == 4):
        dims = config.image or dict(zip(("height", "width", "channels"), tensor.shape[1:]))
        h, w, c = (int(dims.get(k, 1)) for k in ("height", "width", "channels"))
        return Shape(h * w, c, h, w), f"an image of {h}x{w}x{c}"
    channels = SENSOR_CHANNELS.get(config.sensor) or config.channels or 1
    if config.window is None:
        if tensor.size % channels or any(isinstance(s, dict) and "fft_magnitude" in s
                                         or s == "fft_magnitude" for s in config.preprocess):
            raise EdgecError(f"cannot derive the window length for {channels} channel(s) and "
                             f"model input {list(tensor.shape)}", "set window: in the app config")
        window = tensor.size // channels
    else:
        window = config.window
    return Shape(window, channels), f"a window of {window} samples x {channels} channel(s)"


def _replay(config: AppConfig, shape: Shape, hop: int, tensor) -> np.ndarray:
    """The samples compiled into a replay app: frames x channels float32."""
    windows = int(config.replay.get("windows", 3))
    if config.replay.get("file"):
        try:
            data = np.load(config.replay["file"], allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise EdgecError(f"cannot read replay file '{config.replay['file']}': {exc}",
                             "write it with numpy.save") from exc
        data = np.asarray(data, dtype=np.float32).reshape(-1, shape.channels)
        if len(data) < shape.frames:
            raise EdgecError(f"replay file holds {len(data)} samples, one window needs "
                             f"{shape.frames}")
        return data
    count = shape.frames + hop * (windows - 1)
    return generated_samples(count, shape.channels, *float_range(tensor))


def replay_samples(config: AppConfig, model: ModelIO) -> np.ndarray:
    """The replay samples the app for ``config`` and ``model`` compiles in (tests use them)."""
    tensor = model.inputs[0]
    shape, _ = _window_shape(config, tensor)
    return _replay(config, shape, config.hop or shape.frames, tensor)


def _labels(config: AppConfig, classes: int) -> list[str]:
    labels = [str(label) for label in config.labels] or [f"class{i}" for i in range(classes)]
    if len(labels) != classes:
        raise EdgecError(f"app config lists {len(labels)} labels, the model output has "
                         f"{classes} classes")
    return labels


def _actions(config: AppConfig, labels: list[str], leds: list[str],
             pwms: list[str]) -> list[dict]:
    rows = []
    for action in config.actions:
        if action.label != "any" and action.label not in labels:
            raise EdgecError(f"action label '{action.label}' is not a model label",
                             f"labels: {', '.join(labels)} (or any)")
        rows.append({"label": -1 if action.label == "any" else labels.index(action.label),
                     "threshold": c_float(action.threshold),
                     "led": -1 if action.led is None else leds.index(action.led),
                     "log": int(action.log), "uart": int(action.uart),
                     "callback": int(action.callback),
                     "pwm": -1 if action.pwm is None else pwms.index(action.pwm),
                     "duty": c_float(action.duty), "ble": int(action.ble)})
    return rows


def _exit(config: AppConfig, target: dict) -> str | None:
    """How a bounded replay run ends the program: ``posix`` (native_sim's posix_exit),
    ``semihost`` (QEMU started with -semihosting) or None (hardware: it just stops)."""
    if config.sensor != "replay" or not config.replay.get("runs"):
        return None
    if target["emulator"] == ["native"]:
        return "posix"
    semihosting = ("qemu-system-arm", "qemu-system-riscv32")  # both started with -semihosting
    return "semihost" if target["emulator"][:1] and target["emulator"][0] in semihosting \
        else None


def thread_stack_bytes(config: AppConfig, model: ModelIO) -> int:
    """The stack of the main and inference threads: ``stack_bytes`` when given, else
    ``DEFAULT_STACK_BYTES`` or, when the model needs more, its need rounded up to 256 B. The
    need is the worst call chain the compiler measured for the model (``totals.stack_bytes``
    of report.json, ``edgec.emit.stackuse``) plus ``MIN_STACK_BYTES`` for the app's own
    frames; a smaller ``stack_bytes`` is an error."""
    model_stack = model.totals.get("stack_bytes")
    need = MIN_STACK_BYTES + (model_stack or 0)
    if config.stack_bytes is None:
        return max(DEFAULT_STACK_BYTES, -(-need // 256) * 256)
    if config.stack_bytes < need:
        raise EdgecError(
            f"app config: 'stack_bytes' {config.stack_bytes} is below what the model needs: "
            f"{need} B ({model_stack} B for its worst call chain + {MIN_STACK_BYTES} B for "
            "the app)", f"raise stack_bytes to at least {need}, or leave it out to get "
            f"{max(DEFAULT_STACK_BYTES, -(-need // 256) * 256)}")
    return config.stack_bytes


VIDEO_BUFFERS = 2  # frames the camera app queues (one filled while the other is read)
# Per buffer, beyond the frame: the video pool is a k_heap with 64-byte aligned blocks and
# chunk headers (with exactly the frame size the second allocation fails).
VIDEO_SLACK = 1024


def video_frame_bytes(config: AppConfig) -> int:
    """Bytes of one XRGB32 camera frame."""
    return 4 * int(config.image["height"]) * int(config.image["width"])


def _kconfig(config: AppConfig, target: dict, sensor: dict | None, leds: list[str],
             pwms: list[str], stack_bytes: int) -> list:
    lines = [f"CONFIG_MAIN_STACK_SIZE={stack_bytes}"]
    if target["fpu"] and target["cpu"] != "posix":
        lines.append("CONFIG_FPU=y")
    if sensor is not None:
        lines += {"sensor": ["CONFIG_SENSOR=y"], "adc": ["CONFIG_ADC=y"],
                  "dmic": ["CONFIG_AUDIO=y", "CONFIG_AUDIO_DMIC=y"],
                  "video": []}[sensor["api"]]
        lines += sensor["kconfig"]
        if config.trigger == "data_ready":
            lines += sensor["trigger_kconfig"]
    if leds or config.trigger == "button":
        lines.append("CONFIG_GPIO=y")
    if sensor is not None and sensor["api"] == "video":  # two XRGB32 frames in the pool
        lines += [f"CONFIG_VIDEO_BUFFER_POOL_SZ_MAX={video_frame_bytes(config) + VIDEO_SLACK}",
                  f"CONFIG_VIDEO_BUFFER_POOL_NUM_MAX={VIDEO_BUFFERS}"]
    if pwms:
        lines.append("CONFIG_PWM=y")
    if any(a.uart for a in config.actions) and target["emulator"] != ["native"]:
        lines.append("CONFIG_SERIAL=y")  # the uart action writes to the console UART
    if any(a.ble for a in config.actions):  # advertising only: no connections
        lines += ["CONFIG_BT=y", "CONFIG_BT_BROADCASTER=y"]
    if any(a.log for a in config.actions):
        lines += ["CONFIG_LOG=y", "CONFIG_EDGEC_APP_LOG_LEVEL_INF=y"]
    lines.append(f"CONFIG_EDGEC_APP_SAMPLE_PERIOD_US={max(1, round(1e6 / config.sample_rate))}")
    lines.append("CONFIG_EDGEC_APP_THRESHOLD_PERMILLE=0")
    if _exit(config, target) == "semihost":
        lines.append("CONFIG_SEMIHOST=y")
    return list(dict.fromkeys(lines))


# What a --model-partition app adds to prj.conf: the flash map, MCUmgr on a UART with the
# model group (src/NAME_smp.c), CRC for the commit records.
PARTITION_KCONFIG = [
    "CONFIG_FLASH=y", "CONFIG_FLASH_MAP=y", "CONFIG_CRC=y", "CONFIG_BASE64=y",
    "CONFIG_SERIAL=y", "CONFIG_NET_BUF=y", "CONFIG_ZCBOR=y", "CONFIG_MCUMGR=y",
    "CONFIG_MCUMGR_TRANSPORT_UART=y", "CONFIG_UART_MCUMGR_RX_BUF_SIZE=256",
    "CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE=1024", "CONFIG_MCUMGR_GRP_OS=y",
    "CONFIG_MCUMGR_GRP_OS_ECHO=y", "CONFIG_MCUMGR_GRP_OS_MCUMGR_PARAMS=y",
]


def _partition(target: dict, model: ModelIO) -> dict | None:
    """The two model slots of a --model-partition app on ``target``, or None."""
    if not model.image_bytes:
        return None
    flash = target.get("model_flash")
    if not flash:
        boards = ", ".join(n for n in target_names() if load_target(n).get("model_flash"))
        raise EdgecError(f"--model-partition has no model slots on {target['name']} yet",
                         f"boards with model slots (model_flash in targets/*.yaml): {boards}")
    block = int(flash["erase_block"])
    slot = -(-(model.image_bytes + 16) // block) * block  # image + commit record, whole blocks
    start, end = int(flash["start"]), int(flash["end"])
    if start + 2 * slot > end:
        raise EdgecError(f"two model slots of {slot:,} B do not fit the {end - start:,} B "
                         f"of flash {target['name']} sets aside for them",
                         "make the model smaller (int8 or int4 weights, pruning)")
    return {"node": flash["node"], "slots": [start, start + slot], "slot_bytes": slot,
            "image_bytes": model.image_bytes, "smp_uart": flash.get("smp_uart")}


def _partition_overlay(partition: dict, native: bool) -> str:
    """Devicetree for the model slots (and, on native_sim, a host-tty UART for MCUmgr)."""
    parts = "".join(
        f"\t\tedgec_model_{k}: partition@{at:x} {{\n\t\t\tlabel = \"edgec-model-{k}\";\n"
        f"\t\t\treg = <0x{at:x} 0x{partition['slot_bytes']:x}>;\n\t\t}};\n"
        for k, at in enumerate(partition["slots"]))
    text = f"&{partition['node']} {{\n\tpartitions {{\n{parts}\t}};\n}};\n"
    if native:  # the console PTY polls; MCUmgr needs an interrupt-driven UART on a host tty
        text = ("/ {\n\tchosen {\n\t\tzephyr,uart-mcumgr = &edgec_smp_uart;\n\t};\n\n"
                "\tedgec_smp_uart: edgec-smp-uart {\n"
                "\t\tcompatible = \"zephyr,native-tty-uart\";\n\t\tstatus = \"okay\";\n"
                "\t\tcurrent-speed = <115200>;\n\t};\n};\n\n") + text
    elif partition["smp_uart"]:  # SMP frames share the board's UART with the console lines
        text = (f"/ {{\n\tchosen {{\n\t\tzephyr,uart-mcumgr = &{partition['smp_uart']};"
                "\n\t};\n};\n\n") + text
    return text


def plan_app(config: AppConfig, target: dict, model: ModelIO) -> dict:
    """Everything the application templates need, checked against target and model."""
    sensor = check_against_target(config, target)
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise EdgecError("the application drives models with one input and one output",
                         f"this model has {len(model.inputs)} and {len(model.outputs)}")
    name, tensor, out = model.name, model.inputs[0], model.outputs[0]
    if out.size == 0:
        raise EdgecError(f"the model's output '{out.name}' is empty (shape {list(out.shape)}): "
                         "the application has nothing to act on",
                         "build the model without an application (--target host), or make "
                         "its output hold values")
    shape, described = _window_shape(config, tensor)
    hop = config.hop or shape.frames
    if hop > shape.frames:
        raise EdgecError(f"app config: hop {hop} is longer than the window ({shape.frames})")
    chain = plan_chain(name, config.preprocess, shape, config.sample_rate)
    check_input_size(chain, tensor, described)
    labels = _labels(config, out.size)
    leds = sorted({a.led for a in config.actions if a.led is not None},
                  key=target["leds"].index)
    pwms = sorted({a.pwm for a in config.actions if a.pwm is not None},
                  key=target["pwm_leds"].index)
    replay = _replay(config, shape, hop, tensor) if config.sensor == "replay" else None
    stack_bytes = thread_stack_bytes(config, model)
    partition = _partition(target, model)
    native = target["emulator"] == ["native"]
    overlay = _overlay(sensor)
    if partition:
        overlay = "\n".join(filter(None, [overlay, _partition_overlay(partition, native)]))
    return {
        "name": name, "NAME": name.upper(), "version": __version__, "target": target,
        "board": target["zephyr_board"], "sensor_kind": config.sensor, "sensor": sensor,
        "channels": shape.channels, "window": shape.frames, "hop": hop,
        "sample_period_us": max(1, round(1e6 / config.sample_rate)),
        "sample_rate": config.sample_rate, "trigger": config.trigger,
        "calls": chain.calls, "input_call": input_call(chain, tensor),
        "buffers": chain.buffer_floats, "scratch": chain.scratch_floats,
        "result_buffer": chain.current,
        "input_ctype": _APP_CTYPES.get(tensor.dtype, "float"),
        "input_size": tensor.size,
        "output": {"ctype": _APP_CTYPES.get(out.dtype, "float"), "size": out.size,
                   "scale": c_float(out.quant.s) if out.quant is not None else None,
                   "zero_point": out.quant.zp if out.quant is not None else 0},
        "labels": labels, "label_literals": [c_string(label) for label in labels],
        "actions": _actions(config, labels, leds, pwms), "leds": leds, "pwms": pwms,
        "ble": any(a.ble for a in config.actions),
        # the uart action writes to the chosen console UART; native_sim's console is stdout
        "uart_device": any(a.uart for a in config.actions) and target["emulator"] != ["native"],
        "button": target["buttons"][0] if config.trigger == "button" else None,
        "replay": None if replay is None else [c_float(v) for v in replay.reshape(-1)],
        "replay_frames": 0 if replay is None else len(replay),
        "replay_runs": int(config.replay.get("runs", 0)), "exit": _exit(config, target),
        "native": native, "partition": partition,
        "kconfig": _kconfig(config, target, sensor, leds, pwms, stack_bytes)
        + (PARTITION_KCONFIG if partition else []),
        "overlay": overlay, "emulator": target["emulator"],
        "emulated": bool(target["emulator"]), "stack_bytes": stack_bytes,
        "rate_hz": math.ceil(config.sample_rate),
        "dmic_block_bytes": 2 * min(hop, DMIC_BLOCK_SAMPLES),
        "video_bytes": video_frame_bytes(config) if sensor and sensor["api"] == "video" else 0,
        "video_slack": VIDEO_SLACK,
        "video_buffers": VIDEO_BUFFERS, "image": config.image,
    }


def _overlay(sensor: dict | None) -> str:
    if sensor is None or sensor["api"] != "adc" and not sensor["overlay"]:
        return ""
    text = sensor["overlay"]
    if sensor["api"] == "adc":
        text = ("#include <zephyr/dt-bindings/adc/adc.h>\n\n/ {\n\tzephyr,user {\n"
                "\t\tio-channels = " + sensor["io_channels"] + ";\n\t};\n};\n\n" + text)
    return text


# (template, output path; "{name}" is the model prefix): src/, host/ and project/ of the
# reference application, then the portable preprocessing. Optional files are added in
# render_files.
APP_FILES = [
    ("project/CMakeLists.txt.j2", "CMakeLists.txt"), ("project/prj.conf.j2", "prj.conf"),
    ("project/README.md.j2", "README.md"), ("src/main.c.j2", "src/main.c"),
    ("src/app.h.j2", "src/{name}_app.h"), ("src/app.c.j2", "src/{name}_app.c"),
    ("host/main.c.j2", "host/main.c"), ("project/Kconfig.j2", "Kconfig"),
    ("project/sample.yaml.j2", "sample.yaml"),
    ("project/user_README.md.j2", "src/user/README.md"),
]
REPLAY_FILE = ("src/replay.c.j2", "src/{name}_replay.c")
PARTITION_FILES = [("src/store.h.j2", "src/{name}_store.h"),
                   ("src/store.c.j2", "src/{name}_store.c"), ("src/smp.c.j2", "src/{name}_smp.c")]
OVERLAY_FILE = ("project/board.overlay.j2", "boards/{board}.overlay")
PREPROCESS_FILES = [
    ("preprocess/preprocess.h.j2", "src/{name}_preprocess.h"),
    ("preprocess/preprocess.c.j2", "src/{name}_preprocess.c"),
]


@lru_cache(maxsize=4)
def _app_environment(app_dir: Path) -> jinja2.Environment:
    """edgec's template settings over the reference application's folder."""
    return environment().overlay(loader=jinja2.FileSystemLoader(str(app_dir)))


def render_files(context: dict, app_dir: Path = APP_DIR) -> dict[str, str]:
    """Relative path -> text of every application file (the model's own files excepted);
    the application's templates are read from ``app_dir``."""
    names = {"name": context["name"], "board": context["board"].replace("/", "_")}
    app = list(APP_FILES)
    if context["replay"] is not None:
        app.append(REPLAY_FILE)
    if context.get("partition"):
        app += PARTITION_FILES
    app.append(OVERLAY_FILE)  # always, even without content (see the template)
    env = _app_environment(Path(app_dir))
    files = {out.format(**names): env.get_template(template).render(**context)
             for template, out in app}
    files.update({out.format(**names): render(template, context)
                  for template, out in PREPROCESS_FILES})
    return dict(sorted(files.items()))


def write_app(config: AppConfig, target: dict, model: ModelIO, out_dir: Path) -> tuple[list,
                                                                                        dict]:
    """Write the application for ``model`` to ``out_dir`` (the model's own files are the
    caller's) after checking the memory budget. Returns the paths written and the budget."""
    context = plan_app(config, target, model)
    budget = check_budget(target, model.totals, context)
    paths = []
    for relative, text in render_files(context).items():
        path = out_dir / relative
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("ascii"))
        except OSError as exc:
            raise EdgecError(f"cannot write '{path}': {exc.strerror or exc}",
                             "choose a writable folder with -o") from exc
        paths.append(path)
    return paths, budget


def render_app(config: AppConfig, target: dict, result, out_dir: Path) -> tuple[list, dict]:
    """Write the application around ``result`` (an ``edgec.build.BuildResult`` whose files
    lie in ``out_dir / MODEL_DIR``) after checking the memory budget. Returns the paths
    written and the budget."""
    paths, budget = write_app(config, target, ModelIO.from_build(result), out_dir)
    _save_budget(result, budget)
    return paths, budget


def _save_budget(result, budget: dict) -> None:
    """The whole application's budget in the model's report files (``application``)."""
    from edgec.build import report_files

    result.report["application"] = budget
    for file_name, text in report_files(result.report, result.plan,
                                        len(result.graph.nodes)).items():
        (result.out_dir / file_name).write_bytes(text.encode("ascii"))
