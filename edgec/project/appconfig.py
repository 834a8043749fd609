"""The application config (``--app APP.yaml``): what to sample, how to preprocess, when to run
the model and what to do with its answer. Every field has a default, so no file is needed.

``load_app_config`` reads and type-checks the YAML; ``check_against_target`` then checks it
against the board (sensor present and drivable, LED/button aliases exist).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from edgec.errors import EdgecError
from edgec.targets import SENSOR_KINDS

SENSORS = SENSOR_KINDS + ("replay",)
LOOP_MODES = ("periodic", "event")
TRIGGERS = ("data_ready", "button")
ACTION_KEYS = ("label", "threshold", "led", "log", "uart", "callback")
# Channels each sensor kind delivers per sample; replay takes `channels` from the config.
SENSOR_CHANNELS = {"accel": 3, "imu": 6, "mic": 1, "adc": 1, "temperature": 1}


@dataclass
class Action:
    """What to do when the top label is ``label`` ("any": every label) with a score of at
    least ``threshold``. ``led`` is a devicetree LED alias switched on while the rule holds."""

    label: str = "any"
    threshold: float = 0.0
    led: str | None = None
    log: bool = False
    uart: bool = False
    callback: bool = False


@dataclass
class AppConfig:
    """A parsed ``--app`` file; ``None`` fields are derived from the model and target."""

    sensor: str = "replay"
    channels: int | None = None  # replay only; a real sensor fixes it
    sample_rate: float = 100.0  # Hz
    window: int | None = None  # samples per window; default: from the model input
    hop: int | None = None  # samples between windows; default: the window
    image: dict | None = None  # {height, width, channels} of a frame (camera or replay)
    preprocess: list = field(default_factory=list)
    loop: dict = field(default_factory=lambda: {"mode": "periodic"})
    labels: list = field(default_factory=list)
    actions: list[Action] = field(default_factory=lambda: [
        Action(log=True, uart=True, callback=True)])
    # {file: .npy, windows: N, runs: N}; with runs the app replays the samples that many
    # times, then says "EDGEC DONE" and ends (native_sim, QEMU) or stops (hardware)
    replay: dict = field(default_factory=dict)
    stack_bytes: int = 4096

    @property
    def trigger(self) -> str | None:
        return self.loop.get("trigger") if self.loop["mode"] == "event" else None


_TYPES = {"sensor": str, "channels": int, "sample_rate": (int, float), "window": int,
          "hop": int, "image": dict, "preprocess": list, "loop": dict, "labels": list,
          "actions": list, "replay": dict, "stack_bytes": int}


def _check_type(key: str, value, kind) -> None:
    if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
        raise EdgecError(f"app config: '{key}' has the wrong type ({value!r})",
                         "see the app config section of the README")


def _action(data, index: int) -> Action:
    if not isinstance(data, dict) or set(data) - set(ACTION_KEYS):
        bad = sorted(set(data) - set(ACTION_KEYS)) if isinstance(data, dict) else data
        raise EdgecError(f"app config: action {index} has unknown key(s) {bad}",
                         f"valid keys: {', '.join(ACTION_KEYS)}")
    return Action(**data)


def _check_loop(loop: dict) -> None:
    mode = loop.get("mode", "periodic")
    if mode not in LOOP_MODES:
        raise EdgecError(f"app config: unknown loop mode '{mode}'",
                         f"valid modes: {', '.join(LOOP_MODES)}")
    if mode == "event" and loop.get("trigger") not in TRIGGERS:
        raise EdgecError(f"app config: event loop trigger '{loop.get('trigger')}' is unknown",
                         f"valid triggers: {', '.join(TRIGGERS)}")
    unknown = set(loop) - {"mode", "trigger"}
    if unknown:
        raise EdgecError(f"app config: unknown loop key(s) {sorted(unknown)}",
                         "valid keys: mode, trigger")


REPLAY_KEYS = {"file": str, "windows": int, "runs": int}


def _check_replay(replay: dict) -> None:
    for key, value in replay.items():
        if key not in REPLAY_KEYS:
            raise EdgecError(f"app config: unknown replay key '{key}'",
                             f"valid keys: {', '.join(REPLAY_KEYS)}")
        _check_type(f"replay.{key}", value, REPLAY_KEYS[key])
        if REPLAY_KEYS[key] is int and value is not None and value <= 0:
            raise EdgecError(f"app config: replay.{key} must be positive, not {value}")


def parse_app_config(data: dict | None, where: str = "app config") -> AppConfig:
    """An ``AppConfig`` from parsed YAML (``None``: all defaults)."""
    data = dict(data or {})
    unknown = sorted(set(data) - set(_TYPES))
    if unknown:
        raise EdgecError(f"{where}: unknown key(s) {', '.join(unknown)}",
                         f"valid keys: {', '.join(_TYPES)}")
    for key, value in data.items():
        _check_type(key, value, _TYPES[key])
    if data.get("sensor", "replay") not in SENSORS:
        raise EdgecError(f"{where}: unknown sensor '{data['sensor']}'",
                         f"valid sensors: {', '.join(SENSORS)}")
    loop = {"mode": "periodic", **data.get("loop", {})}
    _check_loop(loop)
    data["loop"] = loop
    _check_replay(data.get("replay", {}))
    if "actions" in data:
        data["actions"] = [_action(a, i) for i, a in enumerate(data["actions"])]
    config = AppConfig(**data)
    for key in ("sample_rate", "window", "hop", "channels"):
        value = getattr(config, key)
        if value is not None and value <= 0:
            raise EdgecError(f"{where}: '{key}' must be positive, not {value}")
    return config


def load_app_config(path: str | None) -> AppConfig:
    """The config in YAML file ``path``, or the defaults when ``path`` is None."""
    if path is None:
        return parse_app_config(None)
    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise EdgecError(f"cannot read app config '{path}': {exc.strerror or exc}",
                         "check the --app path") from exc
    except yaml.YAMLError as exc:
        raise EdgecError(f"app config '{path}' is not valid YAML: {exc}") from exc
    if data is not None and not isinstance(data, dict):
        raise EdgecError(f"app config '{path}' is not a mapping", "write key: value lines")
    config = parse_app_config(data, f"app config '{path}'")
    if config.replay.get("file"):  # relative to the config file, not the working directory
        config.replay["file"] = str(Path(path).parent / config.replay["file"])
    return config


def check_against_target(config: AppConfig, target: dict) -> dict | None:
    """The target's description of the chosen sensor (None for replay); errors for a sensor,
    trigger or pin alias the board lacks."""
    name, sensors = target["name"], target["sensors"]
    sensor = None
    if config.sensor != "replay":
        if config.sensor not in sensors:
            has = ", ".join(sorted(sensors) + ["replay"])
            raise EdgecError(f"target {name} has no {config.sensor} sensor",
                             f"{name} has: {has}")
        sensor = sensors[config.sensor]
        if sensor["unsupported"]:
            raise EdgecError(f"the {config.sensor} sensor of {name} ({sensor['part']}) cannot "
                             f"be used: {sensor['unsupported']}", "choose another sensor")
        if sensor["api"] == "video":
            raise EdgecError(f"camera capture is not generated yet ({name})",
                             "use sensor: replay with recorded frames")
    _check_trigger(config, target, sensor)
    for action in config.actions:
        if action.led is not None and action.led not in target["leds"]:
            leds = ", ".join(target["leds"]) or "none"
            raise EdgecError(f"action LED alias '{action.led}' does not exist on {name}",
                             f"{name} LED aliases: {leds}")
    return sensor


def _check_trigger(config: AppConfig, target: dict, sensor: dict | None) -> None:
    if config.trigger == "button" and not target["buttons"]:
        raise EdgecError(f"target {target['name']} has no button for loop trigger 'button'",
                         "use loop mode periodic")
    if config.trigger == "data_ready" and not (sensor and sensor["trigger"]):
        raise EdgecError(f"the {config.sensor} sensor of {target['name']} has no data-ready "
                         "trigger", "use loop mode periodic or trigger: button")
