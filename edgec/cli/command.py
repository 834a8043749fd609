"""What every CLI command shares: the ``Command`` base class and the helpers that read
models and arrays. Command modules import this module, never the package or each other."""

from __future__ import annotations

import argparse
import zipfile
from pathlib import Path

import numpy as np

from edgec.console import Console
from edgec.errors import EdgecError


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
    # An empty array for an empty ONNX input, which the compiled model does not take.
    arrays = {k: v for k, v in arrays.items() if k in names or np.asarray(v).size}
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
