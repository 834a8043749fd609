"""The application config (``--app APP.yaml``): what to sample, how to preprocess, when to run
the model and what to do with its answer. Every field has a default, so no file is needed.

``load_app_config`` reads the YAML and checks it against the field tables of ``appschema``
(which also generate docs/APP_CONFIG.md and docs/app.schema.json); ``check_against_target`` then checks it
against the board (sensor present and drivable, LED/button aliases exist).
"""

from __future__ import annotations

import re

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from edgec.errors import EdgecError
from edgec.project.appschema import TRIGGERS, check_app

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
    pwm: str | None = None  # a PWM LED alias, driven at `duty` while the rule holds
    duty: float = 1.0
    ble: bool = False  # advertise label and score (Bluetooth LE manufacturer data)


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
    stack_bytes: int | None = None  # default: edgec.project.render.thread_stack_bytes

    @property
    def trigger(self) -> str | None:
        return self.loop.get("trigger") if self.loop["mode"] == "event" else None


class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false (any case); yes/no/on/off stay strings (labels)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool",
                              re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))


def parse_app_config(data: dict | None, where: str = "app config") -> AppConfig:
    """An ``AppConfig`` from parsed YAML (``None``: all defaults), checked against the field
    tables of ``appschema`` (one error line per problem)."""
    data = check_app(dict(data or {}), where)
    data = {key: value for key, value in data.items() if value is not None}
    loop = {"mode": "periodic", **data.get("loop", {})}
    loop = {key: value for key, value in loop.items() if value is not None}
    if loop["mode"] == "event" and "trigger" not in loop:
        raise EdgecError(f"{where}: 'loop.trigger' is required in event mode",
                         f"valid triggers: {', '.join(TRIGGERS)}")
    data["loop"] = loop
    if "replay" in data:
        data["replay"] = {k: v for k, v in data["replay"].items() if v is not None}
    if "actions" in data:
        data["actions"] = [Action(**{k: v for k, v in a.items() if v is not None})
                           for a in data["actions"]]
    return AppConfig(**data)


def load_app_config(path: str | None) -> AppConfig:
    """The config in YAML file ``path``, or the defaults when ``path`` is None."""
    if path is None:
        return parse_app_config(None)
    try:
        data = yaml.load(Path(path).read_text(), Loader=_Loader)
    except OSError as exc:
        raise EdgecError(f"cannot read app config '{path}': {exc.strerror or exc}",
                         "check the --app path") from exc
    except UnicodeDecodeError as exc:
        raise EdgecError(f"app config '{path}' is not a text file",
                         "give a YAML file (see docs/APP_CONFIG.md)") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "parse error"
        raise EdgecError(f"app config '{path}' is not valid YAML{at}: {problem}",
                         "see docs/APP_CONFIG.md") from exc
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
        if sensor["api"] == "video" and (config.image is None
                                         or config.image.get("channels", 3) != 3):
            raise EdgecError(f"the {config.sensor} of {name} delivers RGB frames: give "
                             "image: {height: H, width: W, channels: 3}",
                             "then preprocess: [grayscale, {resize: {...}}, ...] to the "
                             "model input")
    _check_trigger(config, target, sensor)
    for action in config.actions:
        if action.led is not None and action.led not in target["leds"]:
            leds = ", ".join(target["leds"]) or "none"
            raise EdgecError(f"action LED alias '{action.led}' does not exist on {name}",
                             f"{name} LED aliases: {leds}")
        if action.pwm is not None and action.pwm not in target["pwm_leds"]:
            if not target["pwm_leds"]:
                raise EdgecError(f"target {name} has no PWM LED for the pwm action (no enabled "
                                 "pwm-leds node in its devicetree)",
                                 "use an led action, or a board with PWM LEDs "
                                 "(nrf52840dk, arduino_nano_33_ble)")
            raise EdgecError(f"action PWM alias '{action.pwm}' is not an enabled PWM LED on "
                             f"{name}", f"{name} PWM LEDs: {', '.join(target['pwm_leds'])}")
        if action.duty > 1.0:
            raise EdgecError(f"action duty {action.duty:g} is above 1", "give 0 to 1")
        if action.ble and not target["bluetooth"]:
            raise EdgecError(f"target {name} has no Bluetooth LE radio for the ble action",
                             "use a board with Bluetooth (nrf52840dk, arduino_nano_33_ble)")
    return sensor


def _check_trigger(config: AppConfig, target: dict, sensor: dict | None) -> None:
    if config.trigger == "button" and not target["buttons"]:
        raise EdgecError(f"target {target['name']} has no button for loop trigger 'button'",
                         "use loop mode periodic")
    if config.trigger == "data_ready" and not (sensor and sensor["trigger"]):
        raise EdgecError(f"the {config.sensor} sensor of {target['name']} has no data-ready "
                         "trigger", "use loop mode periodic or trigger: button")
