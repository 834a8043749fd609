"""How ``edgec sweep`` scales: wall time against the number of points on a local process pool
of 1 and 2 workers, the same points as Ray tasks on a local Ray instance (2 CPUs), and the
back ends' own cost per task (no-op tasks: the marginal cost between 20 and 1000 tasks, and
the start-up).

Points are real: digits (``examples/digits.onnx``), prune {0, 0.25} x weights {int8, int4} x
optimize {speed, size} on mps2_an386, each pruned, quantized, scored on the 450 test digits as
host C and timed under QEMU; every run starts from an empty output folder (no point cached),
with the kernel cache warm.

Run: ``nice python benchmarks/sweep_scale.py`` (needs scikit-learn and ray); the table goes to
docs/BENCHMARKS.md between the ``sweep-scale`` markers.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "examples")]

from benchmarks import sections  # noqa: E402
from edgec.sweep import Inputs, LocalPool, RayBackend, run_sweep  # noqa: E402
from edgec.sweep.grid import expand  # noqa: E402

BEGIN, END = "<!-- sweep-scale:begin -->", "<!-- sweep-scale:end -->"
LOAD_NOTE = ("With the load average near 9 times the core count, a second worker finds no "
             "idle core: the speed-up column measures the contention, not the pool (the points "
             "are independent tasks; on an idle 2-core machine the pool's own cost is the "
             "start-up below).")
POINTS = expand([0.0, 0.25], ["int8", "int4"], ["speed", "size"], ["mps2_an386"])


def noop(task):
    """A task that does nothing: what a back end costs by itself."""
    return {"task": task}


def inputs(folder: Path) -> Inputs:
    from digits_sweep_data import write

    test, cal, _ = write(folder)
    return Inputs(str(ROOT / "examples" / "digits.onnx"), str(test), str(cal))


def timed_sweep(data: Inputs, count: int, backend) -> tuple[float, int]:
    with tempfile.TemporaryDirectory(prefix="edgec-sweep-bench-") as out:
        started = time.perf_counter()
        run = run_sweep(data, POINTS[:count], out, backend)
        return time.perf_counter() - started, run.failed


def noop_seconds(backend, count: int) -> float:
    started = time.perf_counter()
    for _ in backend.run(list(range(count)), noop):
        pass
    return time.perf_counter() - started


def overhead(make_backend) -> tuple[float, float]:
    """(first batch of 20 no-op tasks incl. start-up, marginal seconds per task 20 -> 1000)."""
    first = noop_seconds(make_backend(), 20)
    small, large = noop_seconds(make_backend(), 20), noop_seconds(make_backend(), 1000)
    return first, (large - small) / 980


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1,2,4,8", help="point counts to time")
    parser.add_argument("--no-write", action="store_true", help="print, leave the docs alone")
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="edgec-sweep-data-") as tmp:
        data = inputs(Path(tmp))
        for count in counts:
            cells = []
            for workers in (1, 2):
                seconds, failed = timed_sweep(data, count, LocalPool(workers))
                cells.append(seconds)
                print(f"{count} points, {workers} worker(s): {seconds:.1f} s ({failed} failed)",
                      flush=True)
            rows.append((count, *cells))
        import ray

        started = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        ray_start = time.perf_counter() - started
        ray_rows = []
        for count in counts[-1:]:
            seconds, _ = timed_sweep(data, count, RayBackend())
            ray_rows.append((count, seconds))
            print(f"{count} points on Ray (2 CPUs): {seconds:.1f} s", flush=True)
        ray_first, ray_task = overhead(RayBackend)
        ray.shutdown()
    pool_first, pool_task = overhead(lambda: LocalPool(2))
    text = section(rows, ray_rows, ray_start, (ray_first, ray_task), (pool_first, pool_task))
    print(text)
    if not args.no_write:
        sections.write_section(text, BEGIN, END)


def section(rows, ray_rows, ray_start, ray_cost, pool_cost) -> str:
    lines = [BEGIN, "## Sweep scaling (`edgec sweep`)", "",
             "`nice python benchmarks/sweep_scale.py`: digits, real points (prune, PTQ, host "
             "accuracy on 450 digits, build and QEMU timing on mps2_an386), empty output folder "
             "per run, warm kernel cache, on this 2-core machine shared with other jobs "
             f"(load average {os.getloadavg()[0]:.1f} at the end: wall times are noisy).",
             "", LOAD_NOTE, "",
             "| points | 1 worker (s) | 2 workers (s) | speed-up | s per point, 2 workers |",
             "|---:|---:|---:|---:|---:|"]
    for count, one, two in rows:
        lines.append(f"| {count} | {one:.1f} | {two:.1f} | {one / two:.2f} | {two / count:.1f} |")
    lines += ["", "| Ray, local instance, 2 CPUs | seconds |", "|---|---:|",
              f"| `ray.init(num_cpus=2)` | {ray_start:.1f} |"]
    lines += [f"| {count} real points | {seconds:.1f} |" for count, seconds in ray_rows]
    lines += [f"| first 20 no-op tasks (workers start) | {ray_cost[0]:.2f} |",
              f"| per task, marginal (20 -> 1000 no-op tasks) | {ray_cost[1] * 1e3:.1f} ms |",
              "", "| local pool, 2 workers | seconds |", "|---|---:|",
              f"| first 20 no-op tasks (spawn, import) | {pool_cost[0]:.2f} |",
              f"| per task, marginal (20 -> 1000 no-op tasks) | {pool_cost[1] * 1e3:.1f} ms |",
              END]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
