"""One module per op (or per small family of ops sharing one kernel). Each module registers
itself with ``edgec.ir.registry`` when imported; this package imports them all, so adding an
op means adding a file here and nothing else in the IR."""

import importlib
import pkgutil

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if not _module.startswith("_"):
        importlib.import_module(f"{__name__}.{_module}")
