"""Run ONNX's backend node tests through edgec's importer and reference interpreter.

Each test folder (``model.onnx`` + ``test_data_set_N/``) runs in two modes:
- ``plain``: as it is, every ONNX graph input fed at run time;
- ``frozen``: inputs 1..n made initializers (as exporters ship weights, shapes and axes),
  only input 0 fed at run time. One frozen model per data set.

Every run ends in one of four outcomes:
- ``pass``: imported, interpreted, every output matches (floats: relative 1e-5 with an
  absolute floor scaled to the expected outputs' magnitude; integers and bools exact);
- ``refused``: edgec raised its one-line ``EdgecError`` (the CLI's exit 2);
- ``wrong``: imported and ran, but an output differs;
- ``crash``: any other exception (the CLI's exit 3, an internal error).

``python -m tests.onnx_node.runner [--write-baseline] [-k SUBSTRING]`` prints the counts;
``--write-baseline`` stores the passing (test, mode) pairs in ``baseline.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from edgec.errors import EdgecError

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT.parent / "shared" / "onnx_node_tests" / "node"
BASELINE = Path(__file__).with_name("baseline.json")
MODES = ("plain", "frozen")
RTOL = 1e-5
ATOL_SCALE = 1e-6  # absolute floor: this fraction of the largest expected magnitude


@dataclass
class Outcome:
    test: str
    mode: str
    status: str  # pass | refused | wrong | crash | nodata
    detail: str = ""
    ir_ops: tuple[str, ...] = ()  # the edgec ops the imported graph holds (when it passed)


def test_dirs(suite: Path = SUITE) -> list[Path]:
    return sorted(p for p in suite.iterdir() if (p / "model.onnx").is_file())


def op_of(model: onnx.ModelProto) -> str:
    """The operator a node test exercises (its single node, or the function it expands)."""
    ops = [n.op_type for n in model.graph.node]
    return ops[0] if len(ops) == 1 else "+".join(sorted(set(ops)))


def _load_data(folder: Path, prefix: str) -> list | None:
    arrays = []
    for path in sorted(folder.glob(f"{prefix}_*.pb"), key=lambda p: int(p.stem.split("_")[1])):
        tensor = onnx.TensorProto()
        tensor.ParseFromString(path.read_bytes())
        if not tensor.data_type:  # sequences and optionals are not tensors
            return None
        arrays.append(numpy_helper.to_array(tensor))
    return arrays


def _all_tensors(values) -> bool:
    return all(v.type.HasField("tensor_type") for v in values)


def data_sets(test: Path, model: onnx.ModelProto) -> list[tuple[list, list]] | None:
    """The test's (inputs, outputs) data sets, or None when some are not plain tensors."""
    if not (_all_tensors(model.graph.input) and _all_tensors(model.graph.output)):
        return None
    sets = []
    for folder in sorted(test.glob("test_data_set_*")):
        ins, outs = _load_data(folder, "input"), _load_data(folder, "output")
        if ins is None or outs is None:
            return None
        sets.append((ins, outs))
    return sets


def freeze(model: onnx.ModelProto, inputs: list) -> onnx.ModelProto:
    """A copy of ``model`` with graph inputs 1..n turned into initializers holding ``inputs``."""
    frozen = onnx.ModelProto()
    frozen.CopyFrom(model)
    graph_inputs = [i for i in frozen.graph.input]
    for value_info, array in zip(graph_inputs[1:], inputs[1:]):
        frozen.graph.initializer.append(numpy_helper.from_array(array, value_info.name))
        frozen.graph.input.remove(value_info)
    return frozen


def matches(got: np.ndarray, want: np.ndarray) -> str:
    """'' when ``got`` matches ``want``, else a short description of the difference."""
    got = np.asarray(got)
    if got.shape != want.shape:
        return f"shape {got.shape} != {want.shape}"
    if want.dtype.kind in "fc":
        want64, got64 = want.astype(np.float64), got.astype(np.float64)
        finite = np.isfinite(want64)
        if not np.array_equal(np.isnan(got64), np.isnan(want64)) or not np.array_equal(
                got64[~finite & ~np.isnan(want64)], want64[~finite & ~np.isnan(want64)]):
            return "non-finite values differ"
        scale = float(np.max(np.abs(want64[finite]), initial=0.0))
        atol = max(ATOL_SCALE * max(scale, 1.0), _rounding(want64[finite]))
        err = np.abs(got64[finite] - want64[finite])
        bad = err > atol + RTOL * np.abs(want64[finite])
        return f"max abs error {float(err.max()):.3g} (atol {atol:.2g})" if bad.any() else ""
    if got.dtype.kind == "f" or not np.array_equal(got.astype(want.dtype), want):
        return "integer values differ"
    return ""


def _rounding(want: np.ndarray) -> float:
    """One unit in the last place when the expected values were stored with 3-5 decimals
    (the suite's README names such tests; they are not always correctly rounded), else 0."""
    if not want.size or np.array_equal(want, np.round(want)):
        return 0.0
    for decimals in (3, 4, 5):
        if np.allclose(want, np.round(want, decimals), rtol=0, atol=1e-7):
            return 10.0 ** -decimals + 1e-7
    return 0.0


def _run_one(data: bytes, name: str, feeds: list, outputs: list, in_names: list[str],
             out_names: list[str]) -> tuple[str, str, tuple[str, ...]]:
    from edgec.frontends.onnx import load_onnx
    from edgec.ir.interpret import interpret

    try:
        graph = load_onnx(data, name)
        ir_ops = tuple(sorted({n.op for n in graph.nodes}))
        if feeds is None:
            return "pass", "", ir_ops
        feed = {}
        for n, v in zip(in_names, feeds):
            t = graph.tensors[n]
            feed[n] = np.asarray(v).astype(t.dtype) if np.asarray(v).dtype != np.dtype(
                t.dtype) and np.array_equal(np.asarray(v).astype(t.dtype), v) else v
        results = interpret(graph, feed)
    except EdgecError as e:
        text = str(e)
        if "\n" in text:
            return "crash", f"multi-line error: {text!r}", ()
        return "refused", text, ()
    except Exception as e:  # noqa: BLE001 - every other exception is an internal error
        return "crash", f"{type(e).__name__}: {e}", ()
    for n, want in zip(out_names, outputs):
        if n not in results:
            return "wrong", f"output {n} missing", ()
        diff = matches(results[n], np.asarray(want))
        if diff:
            return "wrong", f"{n}: {diff}", ()
    return "pass", "", ir_ops


def run_test(test: Path, modes=MODES) -> list[Outcome]:
    model = onnx.load(str(test / "model.onnx"))
    sets = data_sets(test, model)
    if sets is None:  # sequence or optional values: edgec must refuse the model
        status, detail, _ = _run_one(model.SerializeToString(), test.name, None, [], [], [])
        if status == "pass":
            status, detail = "wrong", "imported a model with sequence/optional values"
        return [Outcome(test.name, "plain", status, detail)]
    init = {i.name for i in model.graph.initializer}
    in_names = [i.name for i in model.graph.input if i.name not in init]
    out_names = [o.name for o in model.graph.output]
    outcomes = []
    for mode in modes:
        if mode == "frozen" and len(in_names) < 2:
            continue
        status, detail, ir_ops = "pass", "", ()
        for ins, outs in sets:
            if mode == "frozen":
                data = freeze(model, ins).SerializeToString()
                status, detail, ir_ops = _run_one(data, test.name, ins[:1], outs, in_names[:1],
                                                  out_names)
            else:
                status, detail, ir_ops = _run_one(model.SerializeToString(), test.name, ins,
                                                  outs, in_names, out_names)
            if status != "pass":
                break
        outcomes.append(Outcome(test.name, mode, status, detail, ir_ops))
    return outcomes


def run_suite(suite: Path = SUITE, select: str = "") -> tuple[list[Outcome], dict[str, str]]:
    """Every outcome, and the operator of each test."""
    outcomes, ops = [], {}
    for test in test_dirs(suite):
        if select and select not in test.name:
            continue
        ops[test.name] = op_of(onnx.load(str(test / "model.onnx"), load_external_data=False))
        outcomes.extend(run_test(test))
    return outcomes, ops


def baseline_of(outcomes: list[Outcome], ops: dict[str, str]) -> dict:
    passing = sorted(f"{o.test}:{o.mode}" for o in outcomes if o.status == "pass")
    per_op: dict[str, dict] = {}
    for o in outcomes:
        entry = per_op.setdefault(ops[o.test], {"runs": 0, "pass": 0, "ir_ops": []})
        entry["runs"] += 1
        entry["pass"] += o.status == "pass"
        entry["ir_ops"] = sorted(set(entry["ir_ops"]) | set(o.ir_ops))
    counts = Counter(o.status for o in outcomes)
    return {"counts": dict(sorted(counts.items())), "per_op": dict(sorted(per_op.items())),
            "passing": passing}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", default="", help="only tests whose name contains this")
    parser.add_argument("--write-baseline", action="store_true")
    parser.add_argument("--show", default="wrong,crash", help="statuses to list")
    args = parser.parse_args(argv)
    outcomes, ops = run_suite(select=args.k)
    show = set(args.show.split(","))
    for o in outcomes:
        if o.status in show:
            print(f"{o.status:8} {o.test}:{o.mode} {o.detail[:200]}")
    print(dict(Counter(o.status for o in outcomes)))
    if args.write_baseline:
        BASELINE.write_text(json.dumps(baseline_of(outcomes, ops), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
