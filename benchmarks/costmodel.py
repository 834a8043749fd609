"""The per-op cost model's accuracy, as docs/BENCHMARKS.md shows it.

    python benchmarks/costmodel.py [--measure]

Reads ``targets/costs/<cpu>.json`` (written by ``python -m edgec.tools.costfit``, which
measures every layer of the MLPerf Tiny models and the examples under QEMU with ``-icount
shift=0``); with ``--measure`` it runs that calibration first for mps2_an386 and
qemu_cortex_m3 (about 4 minutes). Per model and kernel choice: the measured instructions per
inference, the model's estimate in-sample and leave-one-model-out. Writes the ``costmodel``
section of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.sections import write_section  # noqa: E402
from edgec.estimate import load_costs  # noqa: E402

BEGIN, END = "<!-- costmodel:begin -->", "<!-- costmodel:end -->"
CORES = {"cortex-m4": "mps2_an386", "cortex-m3": "qemu_cortex_m3"}


def _pct(estimate: int, measured: int) -> str:
    return f"{estimate / measured - 1:+.1%}"


def section() -> str:
    lines = [BEGIN, "## Per-layer cost model (instruction estimates)", "",
             "`python benchmarks/costmodel.py [--measure]`: the report's estimated instructions "
             "come from a per-op line (instructions per MAC or per output element, plus a cost "
             "per call) fitted to per-layer counts measured under QEMU (`edgec verify "
             "--per-layer`; `python -m edgec.tools.costfit`). Estimated total per inference "
             "against the measured one; leave-one-out: fitted without that model (the figure "
             "for a model edgec has not seen).", "",
             "| core (measured on) | kernels | model | measured | in-sample | leave-one-out |",
             "|---|---|---|---:|---:|---:|"]
    for cpu, target in CORES.items():
        costs = load_costs(cpu)
        if costs is None:
            continue
        for choice, accuracy in costs["accuracy"].items():
            for name, a in accuracy.items():
                lines.append(f"| {cpu} ({target}) | {choice} | {name} | {a['measured']:,} | "
                             f"{_pct(a['estimated'], a['measured'])} | "
                             f"{_pct(a['estimated_leave_one_out'], a['measured'])} |")
    lines += ["", "Models that do not fit qemu_cortex_m3's 64 KiB RAM or 256 KiB flash are "
              "not in its calibration.", END]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure", action="store_true",
                        help="run the QEMU calibration first (edgec.tools.costfit)")
    args = parser.parse_args()
    if args.measure:
        from edgec.tools.costfit import main as costfit

        for target in CORES.values():
            costfit(["--target", target])
    load_costs.cache_clear()
    text = section()
    print(text)
    write_section(text, BEGIN, END)
    return 0


if __name__ == "__main__":
    sys.exit(main())
