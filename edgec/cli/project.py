"""``edgec targets``, ``edgec app`` and the firmware half of ``edgec build --target <board>``.

``BuildCommand`` (edgec/cli/build.py) calls three hooks: ``add_project_arguments`` adds
``--app``; ``prepare_project`` checks target and app config before the slow model build and
says where the model's C goes; ``finish_project`` renders the Zephyr application around it.
For a target without a Zephyr board, ``prepare_project`` returns None and nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgec.cli.command import Command
from edgec.errors import EdgecError
from edgec.project import MODEL_DIR, AppConfig, ModelIO, load_app_config, render_app, write_app
from edgec.project.appconfig import check_against_target
from edgec.targets import is_board, load_target, target_for_board, target_names


def _size(value: int | None) -> str:
    if value is None:
        return "-"
    for unit, scale in (("M", 1 << 20), ("K", 1 << 10)):
        if value >= scale and value % scale == 0:
            return f"{value // scale}{unit}"
    return str(value)


def _clock(hz: int | None) -> str:
    return "-" if hz is None else f"{hz / 1e6:g} MHz"


def _cpu(target: dict) -> str:
    extensions = [e for e in ("fpu", "dsp") if target[e]]
    return target["cpu"] + (f" ({'+'.join(extensions)})" if extensions else "") or "-"


class TargetsCommand(Command):
    name = "targets"
    help = "list the targets: CPU, clock, flash, RAM and sensors"

    def run(self, args, console):
        rows = [("NAME", "ZEPHYR BOARD", "CPU", "CLOCK", "FLASH", "RAM", "SENSORS")]
        for name in target_names():
            t = load_target(name)
            usable = [k for k, s in t["sensors"].items() if not s["unsupported"]]
            aliases = f" ({', '.join(t['aliases'])})" if t["aliases"] else ""
            rows.append((name + aliases, t["zephyr_board"] or "-", _cpu(t) or "-",
                         _clock(t["clock_hz"]), _size(t["flash_bytes"]),
                         _size(t["ram_bytes"]), ", ".join(usable + ["replay"] * is_board(t))
                         or "-"))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for row in rows:
            console.out("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        return 0


class AppCommand(Command):
    name = "app"
    help = ("render the Zephyr application for a board around a model folder written earlier "
            "by `edgec build --target host` (zephyr_app/CMakeLists.txt runs this)")

    def add_parser(self, subparsers):
        parser = super().add_parser(subparsers)
        parser.add_argument("--model-dir", required=True, help="an `edgec build` output folder")
        parser.add_argument("--board", required=True,
                            help="Zephyr board id (hardware model v2), e.g. mps2/an386")
        add_project_arguments(parser)
        parser.add_argument("-o", "--output", required=True, help="folder for the application")
        return parser

    def run(self, args, console):
        paths, budget = write_app(load_app_config(args.app), target_for_board(args.board),
                                  ModelIO.from_dir(args.model_dir), Path(args.output))
        console.out(f"rendered {len(paths)} files to {args.output}; estimated flash "
                    f"{budget['flash_bytes']:,} of {budget['flash_limit']:,} B, RAM "
                    f"{budget['ram_bytes']:,} of {budget['ram_limit']:,} B")
        return 0


@dataclass
class Project:
    """A firmware build in progress: the board, its app config and the output folder."""

    target: dict
    config: AppConfig
    out_dir: Path

    @property
    def model_dir(self) -> Path:
        return self.out_dir / MODEL_DIR


def add_project_arguments(parser) -> None:
    """``--app`` for ``edgec build``."""
    parser.add_argument("--app", metavar="APP.yaml",
                        help="application config for a board target (sensor, preprocessing, "
                             "loop, labels, actions); defaults apply without it")


def prepare_project(args) -> Project | None:
    """For a board target: the checked target and app config and where the model goes;
    None for other targets."""
    target = load_target(args.target)
    if not is_board(target):
        if getattr(args, "app", None):
            raise EdgecError(f"--app configures the firmware of a board target; target "
                             f"'{args.target}' builds the C model only",
                             "pass --target with a board (see `edgec targets`) or drop --app")
        return None
    config = load_app_config(getattr(args, "app", None))
    check_against_target(config, target)  # fail fast, before the model is compiled
    return Project(target, config, Path(args.output))


def finish_project(project: Project, result, console) -> None:
    """Render the application around the model ``result`` and report what was written. When
    the application is refused (its memory budget, a stack_bytes below the model's need),
    the model files this build wrote are removed again: a model folder without its app would
    look like a finished build."""
    try:
        paths, budget = render_app(project.config, project.target, result, project.out_dir)
    except EdgecError:
        _remove_model(result)
        raise
    console.out(f"wrote a Zephyr application for {project.target['zephyr_board']} to "
                f"{project.out_dir} ({len(paths)} files, model in {MODEL_DIR}/)")
    console.out(f"estimated flash {budget['flash_bytes']:,} of {budget['flash_limit']:,} B, "
                f"RAM {budget['ram_bytes']:,} of {budget['ram_limit']:,} B")


def _remove_model(result) -> None:
    """Delete the files ``result``'s build wrote (and its manifest), then its folder if that
    is left empty; nothing else."""
    from edgec.outdir import MANIFEST

    for path in [*result.files, result.out_dir / MANIFEST]:
        path.unlink(missing_ok=True)
    try:
        result.out_dir.rmdir()
    except OSError:
        pass  # other files live there: they are not edgec's to remove
