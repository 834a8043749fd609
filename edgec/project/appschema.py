"""The application config's one definition: the field tables below.

From them come the checks ``appconfig.parse_app_config`` runs on an ``--app`` file (every
value type- and range-checked, one error line each), the JSON Schema
(``docs/app.schema.json``) and the reference (``docs/APP_CONFIG.md``); ``python -m
edgec.project.appschema`` rewrites both files and a test keeps them in step. To add a field,
add one ``Field`` row (and use it in ``render.py``).
"""

from __future__ import annotations

import math

from dataclasses import dataclass

from edgec.errors import EdgecError
from edgec.targets import SENSOR_KINDS

SENSORS = SENSOR_KINDS + ("replay",)
LOOP_MODES = ("periodic", "event")
TRIGGERS = ("data_ready", "button")
DOC = "docs/APP_CONFIG.md"
MIN_STACK_BYTES = 1024  # below this the inference thread cannot even run the app's own code
DEFAULT_STACK_BYTES = 4096  # the smallest stack_bytes edgec picks by itself


@dataclass(frozen=True)
class Field:
    """One key: ``kind`` is string, integer, number, boolean, list or object; ``default``
    None means derived from the model and target; ``positive`` means > 0; ``fields`` are an
    object's keys (or a list's item keys); ``items`` the kind of a list's items."""

    name: str
    kind: str
    default: object
    doc: str
    choices: tuple = ()
    positive: bool = False
    minimum: float | None = None
    fields: tuple = ()
    items: str | None = None


IMAGE = (
    Field("height", "integer", None, "frame height in pixels", positive=True),
    Field("width", "integer", None, "frame width in pixels", positive=True),
    Field("channels", "integer", None, "values per pixel (1 gray, 3 RGB)", positive=True),
)
LOOP = (
    Field("mode", "string", "periodic", "`periodic`: one window every `hop` samples; "
          "`event`: one inference per trigger", choices=LOOP_MODES),
    Field("trigger", "string", None, "what starts an inference in event mode (required there)",
          choices=TRIGGERS),
)
REPLAY = (
    Field("file", "string", None, "a .npy of samples (`frames x channels`), relative to the "
          "config file; default: generated samples"),
    Field("windows", "integer", 3, "windows of samples compiled in", positive=True),
    Field("runs", "integer", None, "passes over the samples, then `EDGEC DONE` and stop "
          "(default: forever)", positive=True),
)
ACTION = (
    Field("label", "string", "any", "the top label this rule reacts to (`any`: every label)"),
    Field("threshold", "number", 0.0, "minimum score of the top label", minimum=0.0),
    Field("led", "string", None, "devicetree LED alias switched on while the rule holds"),
    Field("log", "boolean", False, "print the label and score with printk"),
    Field("uart", "boolean", False, "write the result line `EDGEC,<index>,<label>,<permille>,"
          "<cycles>` to the UART chosen as `zephyr,console` (native_sim: its console, stdout)"),
    Field("pwm", "string", None, "devicetree PWM LED alias (`pwm-led0`, ...) driven at `duty` "
          "while the rule holds (the first matching rule naming it wins; off when none "
          "holds)"),
    Field("duty", "number", 1.0, "the `pwm` duty cycle, 0 to 1", minimum=0.0),
    Field("ble", "boolean", False, "advertise the label index and score in Bluetooth LE "
          "manufacturer data (boards with Bluetooth: nrf52840dk, arduino_nano_33_ble)"),
    Field("callback", "boolean", False, "call the weak `<name>_on_result(label, score)`"),
)
APP = (
    Field("sensor", "string", "replay", "where samples come from", choices=SENSORS),
    Field("channels", "integer", None, "values per sample for `replay` (a real sensor fixes "
          "it: accel 3, imu 6, mic/adc/temperature 1)", positive=True),
    Field("sample_rate", "number", 100.0, "samples per second (Hz)", positive=True),
    Field("window", "integer", None, "samples per inference; must give the model input's size "
          "after preprocessing (default: derived from the model input)", positive=True),
    Field("hop", "integer", None, "samples between two windows (default: the window)",
          positive=True),
    Field("image", "object", None, "a frame's size, for camera or replayed images",
          fields=IMAGE),
    Field("preprocess", "list", [], "steps from samples to the model input, in order: "
          "`name` or `{name: {parameter: value}}` (see below)", items="step"),
    Field("loop", "object", {"mode": "periodic"}, "when the model runs", fields=LOOP),
    Field("labels", "list", [], "one name per model output class (default: class0, ...); "
          "always strings, also `yes`, `no`, `on`, `off`", items="string"),
    Field("actions", "list", [{"log": True, "uart": True, "callback": True}],
          "rules applied to each result, in order", fields=ACTION, items="object"),
    Field("replay", "object", {}, "samples compiled into the firmware (`sensor: replay`)",
          fields=REPLAY),
    Field("stack_bytes", "integer", None, "stack of the main and inference threads "
          f"(default: {DEFAULT_STACK_BYTES}, or more when the model needs it: the worst call "
          f"chain the compiler measured for the model, `stack` in report.json, plus "
          f"{MIN_STACK_BYTES} B for the app's own frames); less than that is an error",
          minimum=MIN_STACK_BYTES),
)
HINT = f"see {DOC}"


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _fail(where: str, path: str, message: str, hint: str = HINT) -> None:
    raise EdgecError(f"{where}: '{path}' {message}", hint)


def _scalar(value, f: Field, where: str, path: str):
    """``value`` checked against one scalar field; numbers come back as int/float."""
    kind = f.kind
    is_bool = isinstance(value, bool)
    if kind == "string" and not isinstance(value, str):
        if f.name == "label" and isinstance(value, (int, float)) and not is_bool:
            return str(value)  # a label named by a number
        _fail(where, path, f"must be a string, not {_show(value)}")
    if kind == "boolean" and not is_bool:
        _fail(where, path, f"must be true or false, not {_show(value)}")
    if kind == "integer" and (is_bool or not isinstance(value, int)):
        _fail(where, path, f"must be an integer, not {_show(value)}")
    if kind == "number":
        if is_bool or not isinstance(value, (int, float)):
            _fail(where, path, f"must be a number, not {_show(value)}")
        if not math.isfinite(value):
            _fail(where, path, f"must be a finite number, not {value}")
    if f.choices and value not in f.choices:
        raise EdgecError(f"{where}: unknown {path} {_show(value)}",
                         f"valid: {', '.join(f.choices)}")
    if f.positive and value <= 0:
        _fail(where, path, f"must be positive, not {value}")
    if f.minimum is not None and value < f.minimum:
        _fail(where, path, f"must be at least {f.minimum:g}, not {value}")
    return value


def _object(data, fields: tuple, where: str, path: str) -> dict:
    if not isinstance(data, dict):
        _fail(where, path, f"must be a mapping (key: value), not {_show(data)}")
    names = [f.name for f in fields]
    unknown = [k for k in data if k not in names]
    if unknown:
        prefix = f"{path}." if path else ""
        raise EdgecError(f"{where}: unknown key '{prefix}{unknown[0]}'",
                         f"valid keys{' of ' + path if path else ''}: {', '.join(names)}")
    return {f.name: check_value(data[f.name], f, where, f"{path}.{f.name}".lstrip("."))
            for f in fields if f.name in data}


def check_value(value, f: Field, where: str, path: str):
    """``value`` of field ``f`` checked (None keeps the default); the cleaned value."""
    if value is None:
        return None
    if f.kind == "object":
        return _object(value, f.fields, where, path)
    if f.kind != "list":
        return _scalar(value, f, where, path)
    if not isinstance(value, list):
        _fail(where, path, f"must be a list, not {_show(value)}")
    if f.items == "step":
        return [_step(step, where, f"{path}[{i}]") for i, step in enumerate(value)]
    if f.items == "object":
        return [_object(item, f.fields, where, f"{path}[{i}]") for i, item in enumerate(value)]
    label = Field(f.name, "string", None, "")
    return [_label(item, label, where, f"{path}[{i}]") for i, item in enumerate(value)]


def _label(item, f: Field, where: str, path: str) -> str:
    if isinstance(item, (int, float)) and not isinstance(item, bool):
        return str(item)
    return _scalar(item, f, where, path)


def _step(step, where: str, path: str):
    """A preprocess step: its name and parameter names are checked by the chain planner; here
    every parameter value must be a finite number, a boolean, null or a list of numbers."""
    if isinstance(step, dict) and len(step) == 1:
        name, params = next(iter(step.items()))
        for key, value in (params or {}).items() if isinstance(params, dict) else ():
            values = value if isinstance(value, list) else [value]
            for v in values:
                if v is None or isinstance(v, bool):
                    continue
                if not isinstance(v, (int, float)) or not math.isfinite(v):
                    _fail(where, f"{path}.{name}.{key}", f"must be a finite number, not {_show(v)}")
    return step


def check_app(data: dict, where: str) -> dict:
    """The top-level mapping checked against ``APP``; unknown keys, types, ranges."""
    return _object(data, APP, where, "")
