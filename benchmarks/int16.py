"""The 16x8 section of docs/BENCHMARKS.md: ``python benchmarks/int16.py``.

The shared float ONNX models quantized by edgec to 16x8 (``--activations int16``, calibrated on
20 seeded uniform samples of each model's input, written next to the results), verified
bit-exact on mps2-an386 (QEMU ``-icount shift=0``) with the portable kernels and with the DSP
kernels in ``--optimize speed`` and ``size``: instructions per inference (median over the
verified inputs), flash and RAM.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.sections import REPORT, write_section  # noqa: E402

MODELS_DIR = ROOT.parent / "shared" / "models" / "onnx"
TARGET = "mps2_an386"
# model -> (input name, sample shape, value range) of the calibration data
MODELS = {"kws_dscnn": ("input_1", (49, 10, 1), (-1.0, 1.0)),
          "ic_resnet8": ("input_1", (32, 32, 3), (0.0, 1.0)),
          "ad_fc_autoencoder": ("input_1", (640,), (-1.0, 1.0))}
CONFIGS = {"portable": ["--kernels", "portable"], "DSP speed": ["--optimize", "speed"],
           "DSP size": ["--optimize", "size"]}
BEGIN, END = "<!-- int16:begin -->", "<!-- int16:end -->"


def calibration(name: str, path: Path) -> Path:
    """20 seeded uniform samples of the model's input, as ``edgec verify --calibrate`` reads."""
    key, shape, (lo, hi) = MODELS[name]
    rng = np.random.default_rng(0)
    np.savez(path, **{key: rng.uniform(lo, hi, (20, *shape)).astype(np.float32)})
    return path


def measure(name: str, config: list[str], work: Path) -> dict:
    """One ``edgec verify`` run: its JSON outcome (``ok``, ``device``)."""
    from edgec.cli import main

    out = work / "outcome.json"
    with contextlib.redirect_stdout(io.StringIO()):  # verify's own report: in the JSON
        code = main(["verify", str(MODELS_DIR / f"{name}_float32.onnx"), "--calibrate",
                     str(calibration(name, work / "cal.npz")), "--activations", "int16",
                     "--target", TARGET, "-n", "3", "-q", "--json", str(out),
                     "--cache-dir", str(work / "cache"), *config])
    outcome = json.loads(out.read_text())
    outcome["exit"] = code
    return outcome


def section(results: dict[str, dict[str, dict]], command: str) -> str:
    lines = [BEGIN, "## 16x8 (int16 activations) on the Cortex-M4", "",
             f"`{command}`: the shared float ONNX models quantized by edgec to 16x8 "
             "(`edgec verify MODEL --calibrate CAL.npz --activations int16 --target "
             f"{TARGET} -n 3`, CAL.npz: 20 seeded uniform samples of the input), "
             "instructions per inference on QEMU `-icount shift=0`, every run bit-exact "
             "against the reference interpreter. Kernels: `--kernels portable`, the DSP "
             "variants (`edgec/lower/dsp/int16.py`, `elementwise16.py`) in `--optimize speed` "
             "(int16 weights) and `size` (int8 weights).", "",
             "| model | " + " | ".join(f"{c} instructions" for c in CONFIGS)
             + " | speed flash B | size flash B | bit-exact |",
             "|---|" + "---:|" * (len(CONFIGS) + 2) + "---|"]
    for name, row in results.items():
        counts = [f"{row[c]['device']['median_instructions']:,}" for c in CONFIGS]
        flash = [f"{row[c]['device']['flash_bytes']:,}" for c in ("DSP speed", "DSP size")]
        exact = all(r["ok"] and r["exit"] == 0 for r in row.values())
        lines.append(f"| {name} | " + " | ".join(counts + flash)
                     + f" | {'yes' if exact else 'NO'} |")
    return "\n".join([*lines, END])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true",
                        help="print the section instead of writing docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    results: dict[str, dict[str, dict]] = {}
    with tempfile.TemporaryDirectory(prefix="edgec-int16-") as tmp:
        for name in MODELS:
            results[name] = {}
            for label, config in CONFIGS.items():
                work = Path(tmp) / name / label.replace(" ", "_")
                work.mkdir(parents=True)
                results[name][label] = measure(name, config, work)
    text = section(results, "python benchmarks/int16.py")
    if args.no_write:
        print(text)
    else:
        write_section(text, BEGIN, END)
        print(f"wrote the 16x8 section of {REPORT}")


if __name__ == "__main__":
    main()
