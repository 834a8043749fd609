"""The ``edgec`` command line, west-style.

Layout (modules import ``command`` and what they use, never this package's ``__init__``):

- ``command``: the ``Command`` base class and the helpers commands share (reading models,
  input and output arrays);
- ``model``, ``build``, ``quantize``, ``project``, ``passes``: one module per command group;
- ``commands``: ``COMMANDS``, the list of every command in help order;
- ``runner``: ``main``, with the one ``Console`` and the one exit-code ladder.

To add a command: subclass ``edgec.cli.command.Command`` in the module of its group (or a new
module ``edgec/cli/<group>.py``), set ``name`` and ``help``, extend ``add_parser`` with its
arguments (call ``super()`` and return the parser) and implement ``run(args, console)``
returning the exit code; raise ``EdgecError`` for anything the user can fix (the runner prints
it in one line and exits 2). Then add the class to ``COMMANDS`` in ``edgec/cli/commands.py``.
Print only through ``console`` (``out`` for results, ``inf``/``dbg``/``wrn`` for messages).
Import heavy stages (frontends, lowering) inside ``run`` so ``edgec --help`` stays fast.

Exit codes: 0 success; 2 a user error (``EdgecError`` or bad usage), one line on stderr;
3 an internal error (a bug); 130 interrupted. A closed stdout pipe exits 0.
"""

from edgec.cli.command import Command, load_graph, load_inputs, save_outputs
from edgec.cli.commands import COMMANDS
from edgec.cli.runner import build_parser, main

__all__ = ["COMMANDS", "Command", "build_parser", "load_graph", "load_inputs", "main",
           "save_outputs"]
