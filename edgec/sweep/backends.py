"""Where the sweep's tasks run: one small interface, two back ends.

``Backend.run(tasks, function=run_task)`` yields ``(index, result)`` as tasks finish, in
completion order; ``result`` is ``run_task``'s dict, so a failing task is a result with an ``error`` and never
stops the others. ``LocalPool`` is a ``concurrent.futures`` process pool sized to the cores;
``RayBackend`` sends the same function to a Ray cluster (``ray`` imported only here, only when
asked for). Neither schedules anything itself: the pool and Ray do.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Iterator

from edgec.errors import EdgecError


def run_task(task) -> dict:
    """Measure one point; any failure becomes ``{"error": one line}``."""
    from edgec.sweep.point import measure

    try:
        return measure(task)
    except EdgecError as exc:
        return {"error": exc.message if not exc.hint else f"{exc.message} (hint: {exc.hint})"}
    except Exception as exc:  # noqa: BLE001 - one point's bug must not stop the sweep
        return {"error": f"internal error: {type(exc).__name__}: {exc}"}


def default_workers() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class LocalPool:
    """A process pool on this machine (``spawn``: workers import edgec afresh, nothing of the
    parent's threads is forked)."""

    name = "local"

    def __init__(self, workers: int | None = None):
        self.workers = workers or default_workers()

    def run(self, tasks: list, function=run_task) -> Iterator[tuple[int, dict]]:
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(self.workers, mp_context=context)
        try:
            pending = {pool.submit(function, t): i for i, t in enumerate(tasks)}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    index = pending.pop(future)
                    try:
                        yield index, future.result()
                    except Exception as exc:  # noqa: BLE001 - a worker died (killed, OOM)
                        yield index, {"error": f"worker failed: {type(exc).__name__}: {exc}"}
        finally:  # an interrupted sweep drops what has not started
            pool.shutdown(wait=True, cancel_futures=True)


class RayBackend:
    """The same tasks as Ray tasks (one CPU each) on the cluster at ``address``, or on a
    local Ray instance when ``address`` is None (or one already started with ``ray.init``)."""

    name = "ray"

    def __init__(self, address: str | None = None):
        try:
            import ray
        except ImportError:
            raise EdgecError("--ray needs the ray package",
                             "pip install 'edgec[ray]'") from None
        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            import logging

            ray.init(address=address, log_to_driver=False, include_dashboard=False,
                     logging_level=logging.WARNING)
            self._started = True
        self.workers = int(ray.cluster_resources().get("CPU", 1))

    def run(self, tasks: list, function=run_task) -> Iterator[tuple[int, dict]]:
        ray = self._ray
        remote = ray.remote(num_cpus=1, max_retries=0)(function)
        pending = {remote.remote(t): i for i, t in enumerate(tasks)}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    index = pending.pop(ref)
                    try:
                        yield index, ray.get(ref)
                    except Exception as exc:  # noqa: BLE001 - the task's worker died
                        yield index, {"error": f"ray task failed: {type(exc).__name__}: {exc}"}
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)
            if self._started:
                ray.shutdown()


BACKENDS = {"local": LocalPool, "ray": RayBackend}
