"""The adversarial benchmark: ``python benchmarks/robustness.py`` prints one table and writes
it to docs/BENCHMARKS.md between the ``robustness`` markers (the rest is kept).

Rows: mutated models (a fixed-seed run of the importer fuzzer, tests/fuzz/), bad command lines
and bad app configs (benchmarks/bad_invocations.py), corrupted kernel-cache entries, and
output folders (a failed build, a folder holding another model's project). Every case must
end as a one-line user error (exit 2) or, for the cache, a correct rebuild; exit 3 (internal
error) and wrongly accepted requests are counted.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import sections  # noqa: E402
from benchmarks.bad_invocations import APP_CONFIGS, INVOCATIONS  # noqa: E402

REPORT = ROOT / "docs" / "BENCHMARKS.md"
BEGIN, END = "<!-- robustness:begin -->", "<!-- robustness:end -->"
DIGITS = ROOT / "examples" / "digits_int8.tflite"


def fixtures(tmp: Path) -> dict[str, str]:
    """Broken and good files the invocations refer to by name."""
    good = DIGITS.read_bytes()
    files = {"good": good, "onnx": (ROOT / "examples" / "digits.onnx").read_bytes(),
             "empty": b"", "garbage": bytes(range(256)) * 8, "text_onnx": b"hello, world\n",
             "truncated": good[:len(good) // 3], "old_tflite": good[:4] + b"TFL2" + good[8:],
             "npy_as_model": b"\x93NUMPY\x01\x00" + bytes(64), "zip": b"PK\x03\x04" + bytes(60),
             "file": b"not a folder"}
    paths = {}
    for name, data in files.items():
        suffix = ".onnx" if name in ("onnx", "text_onnx") else ".tflite"
        path = tmp / f"{name}{suffix}"
        path.write_bytes(data)
        paths[name] = str(path)
    (tmp / "folder.tflite").mkdir()
    paths.update(folder=str(tmp / "folder.tflite"), missing=str(tmp / "missing.tflite"),
                 out=str(tmp / "out"))
    arrays = {"x": np.zeros((1, 8, 8, 1), np.float32), "x_shape": np.zeros((1, 64), np.float32),
              "x_dtype": np.zeros((1, 8, 8, 1), np.int64), "x_empty": np.zeros((0,), np.float32),
              "x_scalar": np.float32(1.0)}
    for name, array in arrays.items():
        np.save(tmp / f"{name}.npy", array)
        paths[name] = str(tmp / f"{name}.npy")
    np.save(tmp / "x_obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    paths["x_obj"] = str(tmp / "x_obj.npy")
    np.savez(tmp / "x_npz_key.npz", wrong=np.zeros((1, 8, 8, 1), np.float32))
    paths["x_npz_key"] = str(tmp / "x_npz_key.npz")
    np.savez(tmp / "calib.npz", image=np.random.default_rng(0).random((4, 1, 8, 8, 1),
                                                                        np.float32))
    paths["calib"] = str(tmp / "calib.npz")
    return paths


def run_cli(argv: list[str]) -> tuple[int, str]:
    from edgec.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    return code, err.getvalue()


def classify(code: int, stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("edgec: error:")]
    if code == 3 or "internal error" in stderr:
        return "internal (exit 3)"
    if code == 0:
        return "accepted"
    if code == 2 and len(lines) == 1 and lines[0].isprintable() and len(lines[0]) <= 850:
        return "user error"
    return f"other (exit {code})"


def bad_invocations(tmp: Path) -> tuple[Counter, list[str]]:
    paths = fixtures(tmp)
    outcomes, notes = Counter(), []
    for argv in INVOCATIONS:
        out = tmp / "out"
        shutil.rmtree(out, ignore_errors=True)
        args = [a.format(**paths) if "{" in a else a for a in argv]
        kind = classify(*run_cli(args))
        outcomes[kind] += 1
        if kind != "user error":
            notes.append(f"`edgec {' '.join(argv)}`: {kind}")
    return outcomes, notes


def bad_configs(tmp: Path) -> tuple[Counter, list[str]]:
    paths = fixtures(tmp)
    outcomes, notes = Counter(), []
    for label, text in APP_CONFIGS.items():
        app = tmp / "app.yaml"
        app.write_bytes(text.encode("utf-8", "surrogateescape"))
        out = tmp / "app_out"
        shutil.rmtree(out, ignore_errors=True)
        kind = classify(*run_cli(["build", paths["good"], "-o", str(out), "--target",
                                  "mps2_an386", "--app", str(app)]))
        outcomes[kind] += 1
        if kind != "user error":
            notes.append(f"app config {label}: {kind}")
    return outcomes, notes


def corrupted_cache(tmp: Path) -> tuple[Counter, list[str]]:
    """Build, damage every cache entry one way, rebuild: the C must equal the clean build's."""
    from edgec.lower.cache import _header

    damages = {"truncated": lambda d: d[:len(d) // 2], "binary": lambda d: bytes(range(256)),
               "edited": lambda d: d.replace(b";", b"+", 1), "empty": lambda d: b"",
               "foreign": lambda d: (_header("0" * 64, "void f(void) {}")
                                     + "void f(void) {}").encode()}
    outcomes, notes = Counter(), []
    cache, clean = tmp / "cache", tmp / "clean"
    run_cli(["build", str(DIGITS), "-o", str(clean), "--cache-dir", str(cache)])
    expected = (clean / "digits_int8.c").read_bytes()
    for label, damage in damages.items():
        for entry in cache.glob("*.c"):
            entry.write_bytes(damage(entry.read_bytes()))
        out = tmp / f"cache_{label}"
        code, err = run_cli(["build", str(DIGITS), "-o", str(out), "--cache-dir", str(cache)])
        same = code == 0 and (out / "digits_int8.c").read_bytes() == expected
        kind = "rebuilt correctly" if same else classify(code, err)
        outcomes[kind] += 1
        if not same:
            notes.append(f"cache entries {label}: {kind}")
    return outcomes, notes


def output_folders(tmp: Path) -> tuple[Counter, list[str]]:
    outcomes, notes = Counter(), []
    onnx = str(ROOT / "examples" / "digits.onnx")
    failed = tmp / "failed"
    code, _ = run_cli(["build", str(DIGITS), "-o", str(failed), "--ram-limit", "10"])
    ok = code == 2 and not (failed / "digits_int8.c").exists()
    outcomes["user error, nothing written" if ok else "misleading folder"] += 1
    if not ok:
        notes.append("a failed build (--ram-limit 10) left a complete-looking folder")
    mixed = tmp / "mixed"
    run_cli(["build", str(DIGITS), "-o", str(mixed)])
    (mixed / "notes.txt").write_text("mine")
    code, _ = run_cli(["build", onnx, "-o", str(mixed)])
    left = sorted(p.name for p in mixed.iterdir())
    ok = code == 2 and (mixed / "notes.txt").exists()
    outcomes["refused" if ok else "mixed projects"] += 1
    if not ok:
        notes.append(f"building digits.onnx into digits_int8's folder: exit {code}, left {left}")
    return outcomes, notes


def fuzz_row(cases: int) -> tuple[Counter, list[str]]:
    from tests.fuzz.harness import run_campaign

    c = run_campaign(cases, seed=11)
    notes = [f"{k[0]} {k[1]} at {k[2]} ({v['count']})" for k, v in c.classes.items()]
    return Counter(c.outcomes), notes


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fuzz-cases", type=int, default=2000)
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args()
    began = time.perf_counter()
    rows, notes = [], []
    with tempfile.TemporaryDirectory(prefix="edgec-robust-") as tmp:
        for label, fn in ((f"mutated models ({args.fuzz_cases:,}, seed 11)",
                           lambda t: fuzz_row(args.fuzz_cases)),
                          (f"bad command lines ({len(INVOCATIONS)})", bad_invocations),
                          (f"bad app configs ({len(APP_CONFIGS)})", bad_configs),
                          ("corrupted kernel cache (5 kinds)", corrupted_cache),
                          ("output folders (2)", output_folders)):
            work = Path(tmp) / str(len(rows))
            work.mkdir()
            outcomes, row_notes = fn(work)
            rows.append(f"| {label} | "
                        + ", ".join(f"{k}: {v:,}" for k, v in sorted(outcomes.items())) + " |")
            notes += row_notes
    found = "\n".join(f"- {n}" for n in notes) if notes else "- none"
    text = f"""{BEGIN}
## Robustness: adversarial inputs

`python benchmarks/robustness.py` ({(time.perf_counter() - began) / 60:.1f} min). Wanted:
every case a one-line user error (exit 2), the corrupted cache rebuilt into the same C, a
failed build leaving nothing complete-looking, a folder of another project refused.

| cases | outcomes |
|---|---|
{chr(10).join(rows)}

Cases not as wanted:

{found}
{END}"""
    print(text)
    if not args.no_write:
        sections.write_section(text, BEGIN, END, REPORT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
