"""edgec: an ahead-of-time compiler from trained networks to microcontroller C.

Python API (see ``edgec.api``): ``edgec.load(path)`` -> ``Model`` with ``inspect()``,
``build(out_dir, target=...)``, ``verify()``, ``run(inputs)``; ``edgec.verify(...)``,
``edgec.evaluate(...)``.
"""

__version__ = "0.1.0"

from edgec.errors import EdgecError  # noqa: E402,F401
from edgec.api import Model, evaluate, load  # noqa: E402,F401


def __getattr__(name: str):
    # ``edgec.verify`` is the package edgec/verify/, made callable (``edgec.verify(model,
    # ...)`` runs ``edgec.verify.verify``); imported on first use, like every heavy part.
    if name == "verify":
        import importlib

        return importlib.import_module("edgec.verify")
    raise AttributeError(f"module 'edgec' has no attribute {name!r}")


__all__ = ["EdgecError", "Model", "__version__", "evaluate", "load", "verify"]
