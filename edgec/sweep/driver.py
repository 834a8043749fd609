"""``run_sweep``: the grid's points through a back end, finished points cached in the output
folder (``points/<key>.json``) so an interrupted sweep resumes where it stopped."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from edgec.errors import EdgecError
from edgec.sweep.grid import Inputs, Point
from edgec.sweep.point import Task, _atomic_write

POINTS_DIR = "points"


@dataclass
class SweepRun:
    """Every point's result (a dict; ``error`` set when it failed) and what this run did."""

    points: list[Point]
    results: list[dict]
    computed: int = 0  # points measured by this run
    cached: int = 0  # points read from the output folder
    keys: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.results if "error" in r)


def cached_result(path: Path) -> dict | None:
    """A finished point's result, or None when absent or unreadable (then measured again)."""
    try:
        result = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return result if isinstance(result, dict) and "error" not in result else None


def run_sweep(inputs: Inputs, points: list[Point], out_dir: str | Path, backend, *,
              cache_dir: str | None = None,
              on_point: Callable[[Point, dict, bool], None] | None = None) -> SweepRun:
    """Measure every point not yet in ``out_dir/points/`` on ``backend`` (``LocalPool`` or
    ``RayBackend``); ``on_point(point, result, cached)`` is called as each one is known.
    Failures are results with an ``error`` and are not cached (a rerun tries them again)."""
    folder = Path(out_dir)
    try:
        (folder / POINTS_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EdgecError(f"cannot create the sweep folder '{folder}': {exc.strerror or exc}",
                         "choose a writable folder with -o") from exc
    digest = inputs.digest()
    keys = [p.key(digest) for p in points]
    run = SweepRun(points, [{} for _ in points], keys=keys)
    todo = []
    for index, (point, key) in enumerate(zip(points, keys)):
        found = cached_result(folder / POINTS_DIR / f"{key}.json")
        if found is not None:
            run.results[index], run.cached = found, run.cached + 1
            if on_point:
                on_point(point, found, True)
        else:
            todo.append(index)
    tasks = [Task(inputs, points[i], str(folder.resolve()), cache_dir) for i in todo]
    for k, result in backend.run(tasks) if tasks else ():
        index = todo[k]
        result = {**result, "key": keys[index]}
        run.results[index], run.computed = result, run.computed + 1
        if "error" not in result:
            _atomic_write(folder / POINTS_DIR / f"{keys[index]}.json",
                          json.dumps(result, indent=1).encode())
        if on_point:
            on_point(points[index], result, False)
    return run
