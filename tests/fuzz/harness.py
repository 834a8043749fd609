"""The fuzz campaign: generate cases, run them in one capped worker subprocess, deduplicate
failures by exception type and innermost edgec frame, save one reproducer per class."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tests.fuzz.cases import ROOT, Case, make_case, seed_models

OUTCOMES = ("ok", "error", "internal", "bad-message", "memory", "hang", "crash")


@dataclass
class Campaign:
    cases: int  # run (fewer than requested when stopped early)
    seed: int
    seconds: float = 0.0
    outcomes: Counter = field(default_factory=Counter)
    classes: dict = field(default_factory=dict)  # (type, frame) -> first failure record
    seeds: int = 0

    @property
    def failures(self) -> int:
        return sum(self.outcomes[o] for o in OUTCOMES[2:])


class Worker:
    """One ``tests.fuzz.worker`` subprocess; restarted after a hang or a crash."""

    def __init__(self, mem_mb: int):
        self.mem_mb = mem_mb
        self.proc = None

    def start(self) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fuzz.worker", str(self.mem_mb)], cwd=ROOT, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        ready = self._reply(120)
        if not ready or ready.get("outcome") != "ready":
            raise RuntimeError("fuzz worker did not start")

    def _reply(self, timeout: float) -> dict | None:
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            return None
        line = self.proc.stdout.readline()
        return json.loads(line) if line else {"outcome": "crash", "type": "WorkerDied",
                                              "frame": f"exit {self.proc.wait()}", "message": ""}

    def run(self, case: Case, timeout: float) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        header = {"kind": case.kind, "index": case.index, "input_seed": case.index}
        try:
            self.proc.stdin.write(json.dumps(header).encode() + b"\n"
                                  + f"{len(case.data)}\n".encode() + case.data)
            self.proc.stdin.flush()
        except BrokenPipeError:
            self.stop()
            return {"outcome": "crash", "type": "WorkerDied", "frame": "stdin", "message": ""}
        began = self._cpu_seconds()
        reply = self._reply(timeout)
        # On a loaded machine a niced worker may wait for a CPU: a hang is `timeout` seconds
        # of the worker's own CPU time (and at most ten times that of wall time).
        for _ in range(9):
            if reply is not None or self._cpu_seconds() - began >= timeout:
                break
            reply = self._reply(timeout)
        if reply is None:
            self.stop()
            return {"outcome": "hang", "type": "Timeout", "frame": f">{timeout:g} s",
                    "message": ""}
        if reply["outcome"] == "crash":
            self.stop()
        return reply

    def _cpu_seconds(self) -> float:
        """User + system CPU time of the worker so far (Linux /proc)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return float("inf")  # no /proc: fall back to wall time

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def run_campaign(cases: int, seed: int, timeout: float = 10.0, mem_mb: int = 2048,
                 save_dir: Path | None = None, progress=None, start: int = 0,
                 stoppable: bool = False) -> Campaign:
    """Run ``cases`` cases (indices ``start``..); failures grouped into classes. With
    ``stoppable``, SIGTERM or SIGINT ends the campaign early and it reports the cases run."""
    seeds = seed_models()
    campaign = Campaign(cases, seed, seeds=len(seeds))
    worker = Worker(mem_mb)
    began = time.perf_counter()
    stop = []  # SIGTERM/SIGINT: finish the current case, then report what ran
    handlers = {sig: signal.signal(sig, lambda *_: stop.append(1))
                for sig in (signal.SIGTERM, signal.SIGINT)} if stoppable else {}
    try:
        for index in range(start, start + cases):
            if stop:
                break
            case = make_case(seeds, seed, index)
            result = worker.run(case, timeout)
            campaign.outcomes[result["outcome"]] += 1
            if result["outcome"] not in ("ok", "error"):
                _record(campaign, case, result, save_dir)
            if progress and (index - start + 1) % 1000 == 0:
                progress(campaign, index - start + 1, time.perf_counter() - began)
    finally:
        worker.stop()
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    campaign.seconds = time.perf_counter() - began
    campaign.cases = sum(campaign.outcomes.values())
    return campaign


def _record(campaign: Campaign, case: Case, result: dict, save_dir: Path | None) -> None:
    key = (result["outcome"], result.get("type", "?"), result.get("frame", "?"))
    if key in campaign.classes:
        campaign.classes[key]["count"] += 1
        return
    campaign.classes[key] = {"count": 1, "case": case.index, "seed_model": case.seed_model,
                             "mutations": case.mutations, "message": result.get("message", "")}
    if save_dir is not None:
        save_dir.mkdir(parents=True, exist_ok=True)
        stem = f"{result['outcome']}-{key[1]}-{key[2]}".replace(":", "-").replace("/", "_")
        stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)[:120]
        (save_dir / f"{stem}.{case.kind}").write_bytes(case.data)
        meta = dict(campaign.classes[key], seed=campaign.seed,
                    traceback=result.get("traceback", ""))
        (save_dir / f"{stem}.json").write_text(json.dumps(meta, indent=1))
