"""The memory budget of a firmware application, checked against the board at build time.

The model's numbers are exact (arena from the memory plan, weights as emitted, code from
the target compiler's ``-Os`` .text when available); the application's buffers are counted
from the plan; Zephyr itself (kernel, drivers, console, stacks) is a fixed reserve, an
estimate from builds of these applications (Zephyr 4.1, Cortex-M, logging on).
"""

from __future__ import annotations

from edgec.errors import EdgecError

ZEPHYR_FLASH_RESERVE = 48 * 1024
ZEPHYR_RAM_RESERVE = 12 * 1024  # kernel objects, ISR and idle stacks, log buffers
APP_CODE_ESTIMATE = 8 * 1024  # main.c, the app core and the preprocessing functions


def app_ram_bytes(context: dict) -> int:
    """Static RAM of the application core: ring buffer, work buffers, model I/O, stacks."""
    floats = context["window"] * context["channels"] + sum(context["buffers"])
    floats += context["scratch"]
    io = (4 if context["input_ctype"] == "float" else 1) * context["input_size"]
    out = (4 if context["output"]["ctype"] == "float" else 1) * context["output"]["size"]
    stacks = 2 * int(next(line.split("=")[1] for line in context["kconfig"]
                          if line.startswith("CONFIG_MAIN_STACK_SIZE=")))
    return 4 * floats + io + out + stacks


def check_budget(target: dict, totals: dict, context: dict) -> dict:
    """Flash and RAM estimates; an ``EdgecError`` quoting the numbers when one exceeds the
    board's."""
    code = totals["code_bytes"] or 0
    flash = totals["weight_bytes"] + code + APP_CODE_ESTIMATE + ZEPHYR_FLASH_RESERVE
    flash += 4 * len(context["replay"] or [])
    ram = totals["arena_bytes"] + app_ram_bytes(context) + ZEPHYR_RAM_RESERVE
    name = target["name"]
    if flash > target["flash_bytes"]:
        raise EdgecError(
            f"the application needs about {flash:,} B of flash ({totals['weight_bytes']:,} B "
            f"weights + {code:,} B model code + {APP_CODE_ESTIMATE + ZEPHYR_FLASH_RESERVE:,} B "
            f"app and Zephyr), {name} has {target['flash_bytes']:,} B",
            "use a smaller model or a board with more flash")
    if ram > target["ram_bytes"]:
        raise EdgecError(
            f"the application needs about {ram:,} B of RAM ({totals['arena_bytes']:,} B arena "
            f"+ {app_ram_bytes(context):,} B buffers and stacks + {ZEPHYR_RAM_RESERVE:,} B "
            f"Zephyr), {name} has {target['ram_bytes']:,} B",
            "use a smaller model, a shorter window or a board with more RAM")
    return {"flash_bytes": flash, "ram_bytes": ram, "flash_limit": target["flash_bytes"],
            "ram_limit": target["ram_bytes"]}
