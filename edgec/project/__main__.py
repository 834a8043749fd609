"""``python -m edgec.project``: render the reference application (``zephyr_app/``) for a
Zephyr board around a model folder written earlier by ``edgec build --target host``.

``zephyr_app/CMakeLists.txt`` runs this at configure time, so the hand-built reference app
and the apps ``edgec build --target <board>`` writes come from the same templates. Exit codes
follow ``edgec``: 0 success, 2 a user error (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edgec.errors import EdgecError
from edgec.project.appconfig import load_app_config
from edgec.project.modelio import ModelIO
from edgec.project.render import write_app
from edgec.targets import load_target, target_names


def target_for_board(board: str) -> dict:
    """The edgec target whose Zephyr board id is ``board`` (e.g. ``mps2/an386``)."""
    targets = [load_target(name) for name in target_names()]
    for target in targets:
        if target["zephyr_board"] == board:
            return target
    boards = ", ".join(t["zephyr_board"] for t in targets if t["zephyr_board"])
    raise EdgecError(f"no edgec target describes Zephyr board '{board}'",
                     f"boards with a target: {boards}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edgec.project", description=__doc__)
    parser.add_argument("--model-dir", required=True, help="an `edgec build` output folder")
    parser.add_argument("--board", required=True, help="Zephyr board id (hardware model v2)")
    parser.add_argument("--app", help="application config (YAML); defaults without it")
    parser.add_argument("-o", "--output", required=True, help="folder for the application")
    args = parser.parse_args(argv)
    try:
        paths, budget = write_app(load_app_config(args.app), target_for_board(args.board),
                                  ModelIO.from_dir(args.model_dir), Path(args.output))
    except EdgecError as exc:
        print(f"edgec: error: {exc}", file=sys.stderr)
        return 2
    print(f"edgec: rendered {len(paths)} files to {args.output}; estimated flash "
          f"{budget['flash_bytes']:,} of {budget['flash_limit']:,} B, RAM "
          f"{budget['ram_bytes']:,} of {budget['ram_limit']:,} B")
    return 0


if __name__ == "__main__":
    sys.exit(main())
