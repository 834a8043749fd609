"""Where edgec's data folders are: ``templates/``, ``targets/`` and ``zephyr_app/``.

In the source tree (an editable install, or ``PYTHONPATH`` pointing at a checkout) they are
the repository's top-level folders. A wheel or ``pip install .`` ships the same folders as
package data under ``edgec/_data/`` (``setup.py`` maps them there). ``data_dir`` is the one
place that knows both layouts; every other module asks it.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

DATA_FOLDERS = ("templates", "targets", "zephyr_app")


@lru_cache(maxsize=None)
def data_dir(name: str) -> Path:
    """The folder ``name`` (one of ``DATA_FOLDERS``) as a filesystem path."""
    if name not in DATA_FOLDERS:
        raise ValueError(f"unknown data folder {name!r} (valid: {', '.join(DATA_FOLDERS)})")
    packaged = Path(str(resources.files("edgec") / "_data" / name))
    if packaged.is_dir():
        return packaged
    tree = Path(__file__).resolve().parents[1] / name
    if tree.is_dir():
        return tree
    raise FileNotFoundError(
        f"edgec's {name}/ folder is missing from both {packaged} and {tree}: "
        "reinstall edgec (pip install .)")
