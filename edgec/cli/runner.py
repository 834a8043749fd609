"""The one console and the one exit-code ladder of the ``edgec`` command line.

Exit codes: 0 success; 2 a user error (``EdgecError`` or bad usage), one line on stderr;
3 an internal error (a bug); 130 interrupted. A closed stdout pipe exits 0. ``main`` keeps
no global state, so tests call it in-process.
"""

from __future__ import annotations

import argparse
import os
import sys

from edgec import __version__
from edgec.cli.command import Command
from edgec.cli.commands import COMMANDS
from edgec.console import NORMAL, QUIET, VERBOSE, Console
from edgec.errors import EdgecError


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are ``EdgecError``s, printed in one line."""

    def error(self, message):
        raise EdgecError(message, f"see '{self.prog} --help'")


def build_parser(commands: list[Command]) -> argparse.ArgumentParser:
    """The top-level parser with one sub-parser per command."""
    parser = _Parser(prog="edgec", description="Compile neural networks to C99 for MCUs.")
    parser.add_argument("--version", action="version", version=f"edgec {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="print debug messages and tracebacks")
    parser.add_argument("-q", "--quiet", action="store_true", default=False,
                        help="print results and errors only (no progress lines)")
    subparsers = parser.add_subparsers(title="commands", dest="command_name", required=True,
                                       metavar="COMMAND")
    for command in commands:
        sub = command.add_parser(subparsers)
        # SUPPRESS: a -v after the command must not reset one given before it.
        sub.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                         help="print debug messages and tracebacks")
        sub.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                         help="print results and errors only (no progress lines)")
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
        console.verbosity = VERBOSE if args.verbose else QUIET if args.quiet else NORMAL
        return args.command.run(args, console)
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0
    except EdgecError as exc:
        console.traceback(exc)
        if console.verbose and exc.full_message != exc.message:
            console.dbg(f"full message: {exc.full_message}")
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
