"""The ``edgec`` command line, west-style.

A command is a ``Command`` subclass with ``add_parser`` and ``run``; ``COMMANDS`` lists them
all, in help order. Adding a command means writing a class and adding it to that list.
``main(argv)`` is the only entry point and keeps no global state, so tests call it in-process.

Exit codes: 0 success; 2 a user error (``EdgecError`` or bad usage), one line on stderr;
3 an internal error (a bug); 130 interrupted. A closed stdout pipe exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import zipfile
from pathlib import Path

import numpy as np

from edgec import __version__
from edgec.console import NORMAL, VERBOSE, Console
from edgec.errors import EdgecError


def _read_arrays(path: str) -> np.ndarray | dict[str, np.ndarray]:
    """The array of a .npy file or the arrays of a .npz file, by key."""
    if not Path(path).is_file():
        problem = "is not a regular file" if Path(path).exists() else "does not exist"
        raise EdgecError(f"input file '{path}' {problem}", "check the --input path")
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            return loaded
        with loaded:
            return {key: loaded[key] for key in loaded.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise EdgecError(f"cannot read input file '{path}': {exc}",
                         "write it with numpy.save (.npy) or numpy.savez (.npz)") from exc


def load_inputs(path: str, names: list[str]) -> dict[str, np.ndarray]:
    """Model inputs by name: a .npy holds the single input, a .npz one array per input name.

    Shapes and dtypes are checked by the interpreter, which names expected and actual ones."""
    arrays = _read_arrays(path)
    if isinstance(arrays, np.ndarray):
        if len(names) != 1:
            raise EdgecError(f"the model has {len(names)} inputs {names}, a .npy file holds one",
                             "pass a .npz with one array per input name (numpy.savez)")
        return {names[0]: arrays}
    if sorted(arrays) != sorted(names):
        raise EdgecError(f"'{path}' holds arrays {sorted(arrays)}, the model's inputs are {names}",
                         "key each array of the .npz by its input name")
    return arrays


def save_outputs(path: str, outputs: dict[str, np.ndarray]) -> None:
    """Write outputs: .npy for a single output, .npz keyed by output name."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".npy", ".npz"):
        raise EdgecError(f"cannot write outputs to '{path}'", "name the file *.npy or *.npz")
    if suffix == ".npy" and len(outputs) != 1:
        raise EdgecError(f"the model has {len(outputs)} outputs, a .npy file holds one",
                         "write a .npz instead")
    try:
        with open(path, "wb") as f:
            if suffix == ".npy":
                np.save(f, next(iter(outputs.values())))
            else:
                np.savez(f, **outputs)
    except OSError as exc:
        raise EdgecError(f"cannot write '{path}': {exc.strerror}",
                         "check that the directory exists and is writable") from exc

class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are ``EdgecError``s, printed in one line."""

    def error(self, message):
        raise EdgecError(message, f"see '{self.prog} --help'")


class Command:
    """Base class of a CLI command. Subclasses set ``name`` and ``help`` and implement ``run``;
    those with arguments extend ``add_parser`` (call ``super()`` and return the parser)."""

    name = ""
    help = ""

    def add_parser(self, subparsers) -> argparse.ArgumentParser:
        """Create this command's sub-parser; ``main`` adds the common options (``-v``)."""
        return subparsers.add_parser(self.name, help=self.help, description=self.help)

    def run(self, args: argparse.Namespace, console: Console) -> int:
        """Do the work; return the exit code. Raise ``EdgecError`` for user errors."""
        raise NotImplementedError


def load_graph(path: str, console: Console):
    """Import a model file into the IR (the frontends raise ``EdgecError`` on bad files)."""
    from edgec.frontends import load_model  # lazy: the frontends pull in heavy readers

    graph = load_model(path)
    console.dbg(f"loaded {path}: {len(graph.nodes)} nodes, inputs {graph.inputs}")
    return graph


class InspectCommand(Command):
    name = "inspect"
    help = "show a model's ops, shapes, MACs, parameter and activation memory"

    def add_parser(self, subparsers):
        parser = super().add_parser(subparsers)
        parser.add_argument("model", help="a .tflite or .onnx file")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        return parser

    def run(self, args, console):
        from edgec.analysis import analyze, format_report

        report = analyze(load_graph(args.model, console))
        if args.json:
            console.out(json.dumps({"model": args.model, **report.to_dict()}, indent=2))
        else:
            console.out(format_report(report))
        return 0


class RunCommand(Command):
    name = "run"
    help = "run a model on inputs with the reference interpreter"

    def add_parser(self, subparsers):
        parser = super().add_parser(subparsers)
        parser.add_argument("model", help="a .tflite or .onnx file")
        parser.add_argument("--input", "-i", required=True, metavar="IN.npy|IN.npz",
                            help=".npy: the single input; .npz: one array per input name")
        parser.add_argument("--output", "-o", metavar="OUT.npy|OUT.npz",
                            help="write the outputs here instead of printing them")
        return parser

    def run(self, args, console):
        from edgec.ir import interpret

        graph = load_graph(args.model, console)
        outputs = interpret(graph, load_inputs(args.input, graph.inputs))
        if args.output:
            save_outputs(args.output, outputs)
            console.inf(f"wrote {len(outputs)} output(s) to {args.output}")
            return 0
        with np.printoptions(threshold=sys.maxsize):
            for name, value in outputs.items():
                console.out(f"{name} = {np.array_repr(value)}")
        return 0


# Imported here, after Command and load_inputs exist: commands_build subclasses Command.
from edgec.commands_build import BuildCommand, VerifyCommand  # noqa: E402
from edgec.commands_gateway import GatewayCommand  # noqa: E402
from edgec.commands_passes import PassesCommand, PruneCommand  # noqa: E402
from edgec.commands_project import TargetsCommand  # noqa: E402
from edgec.commands_quantize import QuantizeCommand  # noqa: E402

# Every command, in the order `edgec --help` lists them.
COMMANDS: list[type[Command]] = [InspectCommand, RunCommand, BuildCommand, VerifyCommand,
                                  QuantizeCommand, TargetsCommand, PassesCommand, PruneCommand,
                                  GatewayCommand]


def build_parser(commands: list[Command]) -> argparse.ArgumentParser:
    """The top-level parser with one sub-parser per command."""
    parser = _Parser(prog="edgec", description="Compile neural networks to C99 for MCUs.")
    parser.add_argument("--version", action="version", version=f"edgec {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="print debug messages and tracebacks")
    subparsers = parser.add_subparsers(title="commands", dest="command_name", required=True,
                                       metavar="COMMAND")
    for command in commands:
        sub = command.add_parser(subparsers)
        # SUPPRESS: a -v after the command must not reset one given before it.
        sub.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                         help="print debug messages and tracebacks")
        sub.set_defaults(command=command)
    return parser


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the exit-time flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # stdout is not a file descriptor (e.g. captured in tests): nothing to flush


def main(argv: list[str] | None = None,
         commands: list[type[Command]] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    console = Console(NORMAL)
    try:
        args = build_parser([c() for c in commands or COMMANDS]).parse_args(argv)
        console.verbosity = VERBOSE if args.verbose else NORMAL
        return args.command.run(args, console)
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0
    except EdgecError as exc:
        console.traceback(exc)
        console.err(exc.message, exc.hint)
        return 2
    except KeyboardInterrupt:
        console.err("interrupted")
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except Exception as exc:  # noqa: BLE001 - the last rung of the ladder: report the bug
        console.traceback(exc)
        console.internal(exc)
        return 3
