"""The importer fuzz benchmark: ``python benchmarks/fuzz.py --cases N --seed S``.

Mutates the shared MLPerf Tiny models and the examples (structure-aware flatbuffer/protobuf
edits and byte-level damage, tests/fuzz/), feeds each case through ``load_model`` and the
reference interpreter in one worker subprocess (memory cap, per-case timeout), groups
failures by exception type and innermost edgec frame and saves one reproducer per class
(``--save``, default build/fuzz/). The table goes to docs/BENCHMARKS.md between the ``fuzz``
markers; the rest of the file is kept. Exit status 1 when any case failed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import sections  # noqa: E402
from tests.fuzz.harness import OUTCOMES, Campaign, run_campaign  # noqa: E402

REPORT = ROOT / "docs" / "BENCHMARKS.md"
BEGIN, END = "<!-- fuzz:begin -->", "<!-- fuzz:end -->"


def table(c: Campaign, command: str, timeout: float, mem_mb: int) -> str:
    rows = "\n".join(f"| {o} | {c.outcomes[o]:,} |" for o in OUTCOMES)
    classes = "\n".join(f"| {k[0]} | {k[1]} | `{k[2]}` | {v['count']} | {v['seed_model']} "
                        f"| {', '.join(v['mutations'])} |" for k, v in sorted(c.classes.items()))
    failures = (f"\nFailure classes (type, innermost edgec frame):\n\n| outcome | exception | "
                f"frame | cases | seed model | mutations |\n|---|---|---|---:|---|---|\n"
                f"{classes}\n") if c.classes else "\nNo failure classes.\n"
    return f"""{BEGIN}
## Importer fuzzing

`{command}`: {c.cases:,} mutated models from {c.seeds} seed models (the shared MLPerf Tiny
TFLite and ONNX models and examples/), each through `load_model` and the reference interpreter
in one niced worker process capped at {mem_mb} MB of address space and {timeout:g} s of CPU
per case, in
{c.seconds / 60:.1f} min ({1000 * c.seconds / max(c.cases, 1):.1f} ms per case). *error* is
the one-line user error the contract asks for; *internal* an exception other than
`EdgecError`; *bad-message* an `EdgecError` longer than 200 characters (hint 600) or holding
non-printable characters; *memory* a `MemoryError` under the cap; *hang* a case over the
timeout; *crash* a worker that died. The table counts the cases actually run.

| outcome | cases |
|---|---:|
{rows}
{failures}{END}"""


def write_section(text: str) -> None:
    sections.write_section(text, BEGIN, END, REPORT)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--start", type=int, default=0,
                   help="index of the first case (cases are reproducible by seed and index)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per case")
    p.add_argument("--mem-mb", type=int, default=2048, help="worker address-space cap")
    p.add_argument("--save", type=Path, default=ROOT / "build" / "fuzz",
                   help="folder for one reproducer per failure class")
    p.add_argument("--no-write", action="store_true", help="do not touch docs/BENCHMARKS.md")
    args = p.parse_args(argv)

    def progress(c, done, seconds):
        print(f"fuzz: {done:,} cases, {seconds:.0f} s, {dict(c.outcomes)}", flush=True)

    if args.save.is_dir():  # reproducers of an earlier run
        for old in args.save.iterdir():
            if old.suffix in (".json", ".tflite", ".onnx"):
                old.unlink()
    campaign = run_campaign(args.cases, args.seed, args.timeout, args.mem_mb, args.save,
                            progress, start=args.start, stoppable=True)
    command = f"python benchmarks/fuzz.py --cases {args.cases} --seed {args.seed}"
    if args.start:
        command += f" --start {args.start}"
    if campaign.cases < args.cases:
        command += f"` (stopped by a signal after {campaign.cases:,} cases: indices " \
                   f"{args.start:,} to {args.start + campaign.cases - 1:,}) `"
    text = table(campaign, command, args.timeout, args.mem_mb)
    print(text)
    if not args.no_write:
        write_section(text)
    return 1 if campaign.failures else 0


if __name__ == "__main__":
    sys.exit(main())
