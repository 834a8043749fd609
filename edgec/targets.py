"""Targets as data: ``targets/*.yaml`` loaded, checked against one schema, and found by name
or alias.

A target is the machine the generated C runs on. ``host`` (the build machine) only needs a
compiler and flags; a *board* also names its Zephyr board (hardware model v2 id), CPU and
extensions, memory, clock, on-board sensors with their devicetree nodes, and LED/button
aliases. ``load_target`` returns a plain dict with every optional key filled in, so the rest
of edgec never checks for presence.
"""

from __future__ import annotations

import copy

from functools import lru_cache

import yaml

from edgec.errors import EdgecError
from edgec.resources import data_dir

TARGETS_DIR = data_dir("targets")

# key: (type, default; REQUIRED marks a key without default, description)
REQUIRED = object()
TARGET_SCHEMA: dict[str, tuple[type | tuple, object, str]] = {
    "name": (str, REQUIRED, "the target name, equal to the file stem"),
    "description": (str, "", "one line for `edgec targets`"),
    "compiler": (str, REQUIRED, "C compiler used to estimate code size"),
    "cflags": (list, REQUIRED, "flags for that compiler (CPU, FPU, ABI)"),
    "libs": (list, [], "libraries a host program links"),
    "aliases": (list, [], "other names accepted for --target"),
    "zephyr_board": (str, None, "Zephyr board id (hardware model v2); makes this a board"),
    "cpu": (str, "", "CPU core, e.g. cortex-m4"),
    "fpu": (bool, False, "single-precision FPU present"),
    "dsp": (bool, False, "Armv7E-M DSP extension present"),
    "flash_bytes": (int, None, "flash available to the application"),
    "ram_bytes": (int, None, "RAM available to the application"),
    "clock_hz": (int, None, "CPU clock"),
    "leds": (list, [], "devicetree aliases of LEDs (led0, ...)"),
    "buttons": (list, [], "devicetree aliases of buttons (sw0, ...)"),
    "pwm_leds": (list, [], "devicetree aliases of PWM LEDs whose node the board enables "
                           "(pwm-led0, ...): the pwm action"),
    "bluetooth": (bool, False, "a Bluetooth LE radio with Zephyr's controller: the ble action"),
    "emulator": (list, [], "[native] or the qemu-system-arm command line that runs the board"),
    "sensors": (dict, {}, "on-board sensors by kind"),
    "model_flash": (dict, None, "where --model-partition apps put their two model slots: "
                                "{node: flash node label, start: B, end: B, erase_block: B, "
                                "smp_uart: the UART node label MCUmgr uses (boards)}"),
    "zephyr_overhead": (dict, {}, "Zephyr's own flash/RAM bytes in an edgec app, measured "
                                  "from real builds: {replay|sensor: {flash: B, ram: B}}; "
                                  "ble: what the Bluetooth stack adds"),
}
OVERHEAD_KINDS = ("replay", "sensor", "ble")

SENSOR_KINDS = ("accel", "imu", "mic", "adc", "temperature", "camera")
SENSOR_SCHEMA: dict[str, tuple[type | tuple, object, str]] = {
    "part": (str, "", "the chip, for people"),
    "api": (str, REQUIRED, "Zephyr API: sensor, adc, dmic or video"),
    "alias": (str, None, "devicetree alias of the device (DT_ALIAS)"),
    "node": (str, None, "devicetree node label of the device (DT_NODELABEL)"),
    "device": (str, None, "name of a device without a devicetree node (device_get_binding)"),
    "channels": (list, [], "sensor API channels, SENSOR_CHAN_ without the prefix"),
    "io_channels": (str, None, "ADC: the zephyr,user io-channels value"),
    "trigger": (bool, False, "the driver supports a data-ready trigger"),
    "kconfig": (list, [], "Kconfig lines the sensor needs"),
    "trigger_kconfig": (list, [], "Kconfig lines its trigger needs"),
    "overlay": (str, "", "devicetree overlay text the sensor needs"),
    "unsupported": (str, None, "why Zephyr cannot drive it (present but unusable)"),
}
SENSOR_APIS = ("sensor", "adc", "dmic", "video")


def _check_fields(data, schema: dict, where: str) -> dict:
    """``data`` with defaults filled in; unknown, missing or mistyped keys are errors."""
    if not isinstance(data, dict):
        raise EdgecError(f"{where} is not a mapping", "see the schema in edgec/targets.py")
    unknown = sorted(set(data) - set(schema))
    if unknown:
        raise EdgecError(f"{where}: unknown key(s) {', '.join(unknown)}",
                         f"valid keys: {', '.join(schema)}")
    checked = {}
    for key, (kind, default, _) in schema.items():
        if key not in data:
            if default is REQUIRED:
                raise EdgecError(f"{where}: missing key '{key}'", schema[key][2])
            checked[key] = default.copy() if isinstance(default, (list, dict)) else default
            continue
        value = data[key]
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)
                                  and kind is int):
            raise EdgecError(f"{where}: '{key}' must be a {kind.__name__}, not {value!r}",
                             schema[key][2])
        checked[key] = value
    return checked


def _check_sensor(kind: str, data, where: str) -> dict:
    sensor = _check_fields(data, SENSOR_SCHEMA, f"{where} sensor '{kind}'")
    if kind not in SENSOR_KINDS:
        raise EdgecError(f"{where}: unknown sensor kind '{kind}'",
                         f"valid kinds: {', '.join(SENSOR_KINDS)}")
    if sensor["api"] not in SENSOR_APIS:
        raise EdgecError(f"{where} sensor '{kind}': unknown api '{sensor['api']}'",
                         f"valid apis: {', '.join(SENSOR_APIS)}")
    given = [k for k in ("alias", "node", "device") if sensor[k] is not None]
    if len(given) != 1 and sensor["api"] != "adc":
        raise EdgecError(f"{where} sensor '{kind}': give exactly one of alias, node or device")
    return sensor


def validate_target(data, where: str) -> dict:
    """A target description checked against ``TARGET_SCHEMA``, with defaults filled in."""
    target = _check_fields(data, TARGET_SCHEMA, where)
    target["sensors"] = {kind: _check_sensor(kind, value, where)
                         for kind, value in sorted(target["sensors"].items())}
    if target["zephyr_board"] is not None:
        for key in ("flash_bytes", "ram_bytes", "clock_hz"):
            if target[key] is None:
                raise EdgecError(f"{where}: a board needs '{key}'", TARGET_SCHEMA[key][2])
        _check_overhead(target["zephyr_overhead"], where)
    return target


def _check_overhead(overhead: dict, where: str) -> None:
    """A board's measured overheads: a replay entry at least, each with flash and ram."""
    if "replay" not in overhead or set(overhead) - set(OVERHEAD_KINDS):
        raise EdgecError(f"{where}: zephyr_overhead needs 'replay' (and may have 'sensor', "
                         "'ble')",
                         TARGET_SCHEMA["zephyr_overhead"][2])
    for kind, sizes in overhead.items():
        if not isinstance(sizes, dict) or sorted(sizes) != ["flash", "ram"] or not all(
                isinstance(v, int) and not isinstance(v, bool) and v > 0
                for v in sizes.values()):
            raise EdgecError(f"{where}: zephyr_overhead.{kind} must be {{flash: B, ram: B}}",
                             TARGET_SCHEMA["zephyr_overhead"][2])


@lru_cache(maxsize=1)
def _all_targets() -> dict[str, dict]:
    """Every target by name, read once per process."""
    targets = {}
    for path in sorted(TARGETS_DIR.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise EdgecError(f"target file {path} is not valid YAML: {exc}") from exc
        target = validate_target(data, f"target file {path.name}")
        if target["name"] != path.stem:
            raise EdgecError(f"target file {path.name} names itself '{target['name']}'",
                             "make 'name' equal to the file name without .yaml")
        targets[target["name"]] = target
    return targets


def _alias_table() -> dict[str, str]:
    table = {}
    for name, target in _all_targets().items():
        for alias in target["aliases"]:
            if alias in table or alias in _all_targets():
                raise EdgecError(f"target alias '{alias}' is used twice",
                                 "give each alias to one target")
            table[alias] = name
    return table


def target_names() -> list[str]:
    """Every target name, sorted."""
    return sorted(_all_targets())


def load_target(name: str) -> dict:
    """The validated description of target ``name`` (a target name or an alias). A copy: the
    caller may change it."""
    name = _alias_table().get(name, name)
    targets = _all_targets()
    if name not in targets:
        aliases = ", ".join(f"{a} ({t})" for a, t in sorted(_alias_table().items()))
        guess = suggest(name, list(targets) + list(_alias_table()))
        raise EdgecError(f"unknown target '{name}'" + (f" (did you mean '{guess}'?)" if guess else ""),
                         f"valid targets: {', '.join(sorted(targets))}; aliases: {aliases}")
    return copy.deepcopy(targets[name])


def suggest(name: str, choices: list[str]) -> str | None:
    """The choice closest to ``name``, ignoring case, or None when none is close."""
    import difflib

    lowered = {c.lower(): c for c in choices}
    match = difflib.get_close_matches(str(name).lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


def is_board(target: dict) -> bool:
    """Whether ``target`` is a Zephyr board (edgec then writes a whole application)."""
    return target.get("zephyr_board") is not None


def target_for_board(board: str) -> dict:
    """The edgec target whose Zephyr board id is ``board`` (e.g. ``mps2/an386``)."""
    targets = [load_target(name) for name in target_names()]
    for target in targets:
        if target["zephyr_board"] == board:
            return target
    boards = ", ".join(t["zephyr_board"] for t in targets if t["zephyr_board"])
    raise EdgecError(f"no edgec target describes Zephyr board '{board}'",
                     f"boards with a target: {boards}")
