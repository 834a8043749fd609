"""The memory budget of a firmware application, checked against the board at build time.

The model's numbers are exact (arena from the memory plan, weights as emitted, code from
the target compiler's ``-Os`` .text when available); the application's buffers are counted
from the plan; Zephyr itself (kernel, drivers, console, logging, ISR and idle stacks) is the
board's ``zephyr_overhead``, measured from real builds of these applications and recorded in
its target file (tests/project/test_zephyr.py checks the records against new builds).
"""

from __future__ import annotations

from edgec.errors import EdgecError

APP_CODE_ESTIMATE = 8 * 1024  # main.c, the app core and the preprocessing functions
# The app's kernel objects and small statics: its work queue's thread (with FPU context),
# timer, work items, GPIO callbacks, ring-buffer indices (measured ~300 B on mps2/an386).
APP_OBJECTS_RAM = 1024


def app_ram_bytes(context: dict) -> int:
    """Static RAM of the application: ring buffer, work buffers, model I/O, stacks, DMIC
    blocks, camera frames."""
    floats = context["window"] * context["channels"] + sum(context["buffers"])
    floats += context["scratch"]
    io = (4 if context["input_ctype"] == "float" else 1) * context["input_size"]
    out = (4 if context["output"]["ctype"] == "float" else 1) * context["output"]["size"]
    stacks = 2 * int(next(line.split("=")[1] for line in context["kconfig"]
                          if line.startswith("CONFIG_MAIN_STACK_SIZE=")))
    slab = 4 * context["dmic_block_bytes"] if context["sensor"] and context["sensor"]["api"] \
        == "dmic" else 0  # the DMIC driver's memory slab: 4 blocks
    frames = 0
    if context.get("video_bytes"):  # the video pool
        frames = (context["video_bytes"] + context["video_slack"]) * context["video_buffers"]
    return 4 * floats + io + out + stacks + slab + frames + APP_OBJECTS_RAM


def zephyr_overhead(target: dict, context: dict) -> dict:
    """The board's measured Zephyr bytes for this kind of app (replay, or a sensor driver),
    plus the Bluetooth stack's (``ble``) when an action advertises."""
    kind = "replay" if context["sensor"] is None else "sensor"
    base = target["zephyr_overhead"][kind]
    if not context.get("ble"):
        return base
    ble = target["zephyr_overhead"].get("ble")
    if ble is None:
        raise EdgecError(f"target {target['name']} has no measured Bluetooth overhead "
                         "(zephyr_overhead.ble)", "measure a ble app's build and record it")
    return {key: base[key] + ble[key] for key in ("flash", "ram")}


def check_budget(target: dict, totals: dict, context: dict) -> dict:
    """Flash and RAM estimates; an ``EdgecError`` quoting the numbers when one exceeds the
    board's."""
    code = totals["code_bytes"] or 0
    zephyr = zephyr_overhead(target, context)
    flash = totals["weight_bytes"] + code + APP_CODE_ESTIMATE + zephyr["flash"]
    flash += 4 * len(context["replay"] or [])
    ram = totals["arena_bytes"] + app_ram_bytes(context) + zephyr["ram"]
    name = target["name"]
    if flash > target["flash_bytes"]:
        raise EdgecError(
            f"the application needs about {flash:,} B of flash ({totals['weight_bytes']:,} B "
            f"weights + {code:,} B model code + {APP_CODE_ESTIMATE + zephyr['flash']:,} B "
            f"app and Zephyr), {name} has {target['flash_bytes']:,} B",
            "use a smaller model or a board with more flash")
    if ram > target["ram_bytes"]:
        raise EdgecError(
            f"the application needs about {ram:,} B of RAM ({totals['arena_bytes']:,} B arena "
            f"+ {app_ram_bytes(context):,} B buffers and stacks + {zephyr['ram']:,} B "
            f"Zephyr), {name} has {target['ram_bytes']:,} B",
            "use a smaller model, a shorter window or a board with more RAM")
    return {"flash_bytes": flash, "ram_bytes": ram, "flash_limit": target["flash_bytes"],
            "ram_limit": target["ram_bytes"], "board": name,
            "flash": {"weights": totals["weight_bytes"], "model_code": code,
                      "app_code": APP_CODE_ESTIMATE + 4 * len(context["replay"] or []),
                      "zephyr": zephyr["flash"]},
            "ram": {"arena": totals["arena_bytes"], "app": app_ram_bytes(context),
                    "thread_stack_bytes": context["stack_bytes"], "zephyr": zephyr["ram"]},
            "method": "estimate: model exact (plan, emitted weights, -Os .text); app counted "
                      "from its buffers, stacks and a code allowance; Zephyr measured per "
                      "board (zephyr_overhead in the target file)"}
