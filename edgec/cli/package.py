"""``edgec package``: the model image (weights and constants) for a firmware built with
``--model-partition``, to write into its model partition or send over SMP (docs/OTA.md)."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from edgec.cli.command import Command
from edgec.errors import EdgecError


def layout_of(folder: Path) -> tuple[str, str]:
    """(layout hash, model name) of the ``--model-partition`` build in ``folder`` (its
    ``report.json`` names the model, its ``NAME.bin`` carries the hash)."""
    import json

    from edgec.emit.image import read_image

    try:
        report = json.loads((folder / "report.json").read_text())
        name = report["name"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EdgecError(f"'{folder}' holds no edgec build (report.json unreadable: {exc})",
                         "give the model folder of a `edgec build --model-partition` (for a "
                         "board: DIR/model)") from exc
    if report.get("constants") != "partition":
        raise EdgecError(f"the build in '{folder}' keeps its weights in {name}.c",
                         "rebuild the firmware with --model-partition")
    image = folder / f"{name}.bin"
    try:
        header = read_image(image.read_bytes(), str(image))
    except OSError as exc:
        raise EdgecError(f"cannot read '{image}': {exc.strerror or exc}") from exc
    return header.layout_hash, name


class PackageCommand(Command):
    name = "package"
    help = "write the model image (weights + constants) for a --model-partition firmware"

    def add_parser(self, subparsers):
        from edgec.cli.build import _add_common

        parser = super().add_parser(subparsers)
        _add_common(parser)
        parser.add_argument("-o", "--output", required=True, metavar="MODEL.bin",
                            help="where to write the model image")
        parser.add_argument("--name", help="C symbol prefix the firmware was built with "
                                           "(default: the model file's stem)")
        parser.add_argument("--like", metavar="DIR", type=Path,
                            help="the firmware's model folder (its `edgec build "
                                 "--model-partition` output): refuse an image it cannot run")
        return parser

    def run(self, args, console):
        from edgec.build import build
        from edgec.cli.build import build_options
        from edgec.emit.image import read_image
        from edgec.options import Constants

        args.model_partition = True
        options = dataclasses.replace(build_options(args), constants=Constants.PARTITION)
        expected = layout_of(args.like) if args.like else None
        if expected and args.name is None:  # the firmware's prefix, not this file's stem
            options = dataclasses.replace(options, name=expected[1])
        with tempfile.TemporaryDirectory(prefix="edgec-package-") as tmp:
            result = build(args.model, tmp, options)
            data = (Path(tmp) / f"{result.name}.bin").read_bytes()
        header = read_image(data)
        if expected and header.layout_hash != expected[0]:
            raise EdgecError(f"the firmware in '{args.like}' cannot run this model: its "
                             f"kernels differ (layout {header.layout_hash[:12]} vs "
                             f"{expected[0][:12]})", "rebuild and flash the firmware with "
                             "this model, or change only weights and biases")
        out = Path(args.output)
        try:
            out.write_bytes(data)
        except OSError as exc:
            raise EdgecError(f"cannot write '{out}': {exc.strerror or exc}") from exc
        console.out(f"wrote {out} ({len(data):,} B: {header.constants_bytes:,} B of constants "
                    f"for {result.name}), layout {header.layout_hash[:16]}, "
                    f"model sha256 {header.model_sha256[:16]}")
        return 0


class PushCommand(Command):
    name = "push"
    help = "send a model image to a --model-partition device over SMP (MCUmgr) and switch to it"

    def add_parser(self, subparsers):
        parser = super().add_parser(subparsers)
        parser.add_argument("image", nargs="?", type=Path,
                            help="the model image (`edgec package`); without it, print what "
                                 "the device runs")
        parser.add_argument("--port", required=True,
                            help="the device's MCUmgr UART (e.g. /dev/ttyACM0; on native_sim "
                                 "the host end of its PTY pair: docs/OTA.md)")
        parser.add_argument("--timeout", type=float, default=5.0,
                            help="seconds to wait for each answer (default 5)")
        return parser

    def run(self, args, console):
        from edgec.emit.image import read_image
        from edgec.ota import device_model, push

        if args.image is None:
            state = device_model(args.port, args.timeout)
        else:
            try:
                data = args.image.read_bytes()
            except OSError as exc:
                raise EdgecError(f"cannot read '{args.image}': {exc.strerror or exc}") from exc
            header = read_image(data, str(args.image))  # refuse locally what the device would
            console.inf(f"sending {len(data):,} B (model sha256 {header.model_sha256[:16]})")
            state = push(data, args.port, args.timeout,
                         lambda done, total: console.dbg(f"{done:,} of {total:,} B"))
        if state.slot < 0:
            console.out("the device runs no model (it waits for an image)")
        else:
            console.out(f"the device runs slot {state.slot}, sequence {state.sequence}, model "
                        f"sha256 {state.model_sha256[:16]}")
        return 0
