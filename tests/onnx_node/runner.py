"""Run ONNX's backend node tests through edgec's importer and reference interpreter.

Each test folder (``model.onnx`` + ``test_data_set_N/``) runs in two modes:
- ``plain``: as it is, every ONNX graph input fed at run time;
- ``frozen``: inputs 1..n made initializers (as exporters ship weights, shapes and axes),
  only input 0 fed at run time. One frozen model per data set.
An input with a zero-size dimension is a constant of the imported graph, not one of its
inputs (docs/IR.md "Empty tensors"): the reference and the C are fed only the inputs kept.

Every run ends in one of four outcomes:
- ``pass``: imported, interpreted, every output matches (floats: relative 1e-5 with an
  absolute floor scaled to the expected outputs' magnitude; integers and bools exact);
- ``refused``: edgec raised its one-line ``EdgecError`` (the CLI's exit 2);
- ``wrong``: imported and ran, but an output differs;
- ``crash``: any other exception (the CLI's exit 3, an internal error).

Every run that passes the reference also goes through ``edgec build`` (host target): the
generated C is compiled with the host harness (``edgec.verify.host``) and run on the test's
inputs, compared with the expected outputs exactly as the reference was. Its outcome:
- ``pass``: every output matches;
- ``c-refused``: ``build`` raised its one-line ``EdgecError`` (no lowering for the case);
- ``c-wrong``: the C ran, an output differs;
- ``c-crash``: a multi-line or internal error in ``build``, the generated C does not compile
  (with the host compiler, and with clang when installed), or the compiled harness fails.
One process builds every model, sharing one kernel cache folder.

``python -m tests.onnx_node.runner [--write-baseline] [-k SUBSTRING] [--no-c] [--c-subset]``
prints the counts; ``--write-baseline`` stores the passing (test, mode) pairs and the C
outcome of each in ``baseline.json``. ``--c-subset`` runs the C path only on
``c_subset``'s deterministic choice (one run per operator and input dtypes).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from edgec.errors import EdgecError
from edgec.ir.floats import is_float

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
    c_status: str = ""  # the C path's outcome (pass | c-refused | c-wrong | c-crash), "" not run
    c_detail: str = ""
    key: str = ""  # the C-subset key: operator and input dtypes


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
    if want.dtype.kind in "fc" or is_float(want.dtype):  # ml_dtypes' minifloats too
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


def _feed(graph, in_names: list[str], feeds: list) -> dict:
    """``feeds`` by input name, cast to the graph's input dtype where that is exact (the
    suite stores e.g. int64 data for an input the importer narrowed). Only the inputs the
    imported graph keeps: an empty (zero-size) ONNX input is a constant, not an input."""
    feed = {}
    for n, v in zip(in_names, feeds):
        if n not in graph.inputs:
            continue
        t = graph.tensors[n]
        v = np.asarray(v)
        feed[n] = v.astype(t.dtype) if v.dtype != np.dtype(t.dtype) and np.array_equal(
            v.astype(t.dtype), v) else v
    return feed


def _run_one(data: bytes, name: str, feeds: list, outputs: list, in_names: list[str],
             out_names: list[str]) -> tuple[str, str, tuple[str, ...]]:
    from edgec.frontends.onnx import load_onnx
    from edgec.ir.interpret import interpret

    try:
        graph = load_onnx(data, name)
        ir_ops = tuple(sorted({n.op for n in graph.nodes}))
        if feeds is None:
            return "pass", "", ir_ops
        results = interpret(graph, _feed(graph, in_names, feeds))
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


def run_c(data: bytes, feeds: list[list], outputs: list[list], in_names: list[str],
          out_names: list[str], work: Path, optimize: str | None = None,
          cflags: tuple[str, ...] = ()) -> tuple[str, str]:
    """The C path of one model: ``edgec build`` for the host into ``work``, the generated C
    compiled with the host harness (and checked by clang with the same flags, when installed)
    and run on every sample of ``feeds`` (one list of arrays
    per data set, in ``in_names`` order), each output compared with ``outputs``.
    ``optimize``: the build's ``--optimize`` (default: ``edgec build``'s rule); ``cflags``:
    extra host compiler flags (e.g. sanitizers)."""
    from edgec.build import build, load_graph
    from edgec.options import BuildOptions
    from edgec.verify.harness import run_tool
    from edgec.verify.host import compile_host, run_harness

    work.mkdir(parents=True, exist_ok=True)
    model = work / "model.onnx"
    model.write_bytes(data)
    try:
        graph = load_graph(model)
        result = build(model, work / "out", BuildOptions(name="model", optimize=optimize,
                                                         cache_dir=work.parent / "kernel-cache"),
                       loaded=graph, force=True)
    except EdgecError as e:
        text = str(e)
        if "\n" in text or "bug in" in text:
            return "c-crash", f"build: {text!r}"
        return "c-refused", text
    except Exception as e:  # noqa: BLE001 - every other exception is an internal error
        return "c-crash", f"build: {type(e).__name__}: {e}"
    try:
        built = result.graph
        samples = []
        for sample in feeds:
            feed = _feed(built, in_names, sample)
            samples.append([np.ascontiguousarray(feed[n]).astype(built.tensors[n].dtype,
                                                                  copy=False)
                            for n in built.inputs])
        exe = compile_host(result, cflags)
        if shutil.which("clang") and result.target["compiler"] != "clang":  # -Werror clean too
            run_tool(["clang", *result.target["cflags"], "-fsyntax-only",
                      str(result.out_dir / "model.c")], "compiling the generated C with clang")
        got = run_harness(exe, built, samples)
    except EdgecError as e:  # the C did not compile, or the harness failed
        return "c-crash", str(e)
    except Exception as e:  # noqa: BLE001
        return "c-crash", f"{type(e).__name__}: {e}"
    for k, (sample, wants) in enumerate(zip(got, outputs)):
        results = dict(zip(built.outputs, sample))
        for n, want in zip(out_names, wants):
            if n not in results:
                return "c-wrong", f"output {n} missing in the built graph"
            diff = matches(results[n], np.asarray(want))
            if diff:
                return "c-wrong", f"data set {k}: {n}: {diff}"
    return "pass", ""


def subset_key(model: onnx.ModelProto, sets: list, mode: str) -> str:
    """The C-subset key of a run: its operator and input dtypes (and mode)."""
    dtypes = ",".join(str(np.asarray(a).dtype) for a in sets[0][0]) if sets else ""
    return f"{op_of(model)}[{dtypes}]:{mode}"


def run_test(test: Path, modes=MODES, c_path: Path | None = None,
             c_only: set[str] | None = None, optimize: str | None = None,
             cflags: tuple[str, ...] = ()) -> list[Outcome]:
    """The outcomes of ``test`` in each mode; with ``c_path`` (a work folder) every run that
    passes the reference also runs through the generated C (only the runs named in
    ``c_only`` when given: ``test:mode``)."""
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
        outcome = Outcome(test.name, mode, status, detail, ir_ops,
                          key=subset_key(model, sets, mode))
        if status == "pass" and c_path is not None and (
                c_only is None or f"{test.name}:{mode}" in c_only):
            work = c_path / f"{test.name}-{mode}"
            if mode == "plain":
                outcome.c_status, outcome.c_detail = run_c(
                    model.SerializeToString(), [ins for ins, _ in sets],
                    [outs for _, outs in sets], in_names, out_names, work, optimize, cflags)
            else:
                for k, (ins, outs) in enumerate(sets):
                    outcome.c_status, outcome.c_detail = run_c(
                        freeze(model, ins).SerializeToString(), [ins[:1]], [outs],
                        in_names[:1], out_names, work / str(k), optimize,
                        cflags)
                    if outcome.c_status != "pass":
                        break
        outcomes.append(outcome)
    return outcomes


def _run_share(tests: list[Path], c_path: bool, c_only: set[str] | None, optimize: str | None,
               cflags: tuple[str, ...]) -> tuple[list[Outcome], dict[str, str]]:
    """``run_suite``'s work on ``tests``, in one process with its own work folder."""
    import tempfile

    outcomes, ops = [], {}
    with tempfile.TemporaryDirectory(prefix="edgec-node-c-") as tmp:
        for test in tests:
            ops[test.name] = op_of(onnx.load(str(test / "model.onnx"), load_external_data=False))
            outcomes.extend(run_test(test, c_path=Path(tmp) if c_path else None,
                                     c_only=c_only, optimize=optimize, cflags=cflags))
    return outcomes, ops


def default_jobs() -> int:
    """Processes for the C path: ``EDGEC_NODE_JOBS``, else one per core up to two."""
    return int(os.environ.get("EDGEC_NODE_JOBS", min(2, os.cpu_count() or 1)))


def run_suite(suite: Path = SUITE, select: str = "", c_path: bool = True,
              c_only: set[str] | None = None,
              optimize: str | None = None,
              cflags: tuple[str, ...] = (), jobs: int | None = None,
              ) -> tuple[list[Outcome], dict[str, str]]:
    """Every outcome, and the operator of each test. ``c_path``: also run the generated C of
    every run that passes the reference (of those in ``c_only`` when given), built with
    ``optimize`` and compiled with ``cflags`` too. The C path runs in ``jobs`` processes
    (``default_jobs()``), each on every ``jobs``-th test; outcomes come back in test order."""
    tests = [t for t in test_dirs(suite) if not select or select in t.name]
    jobs = max(1, min(jobs or default_jobs(), len(tests))) if c_path else 1
    if jobs == 1:
        return _run_share(tests, c_path, c_only, optimize, cflags)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    shares = [tests[k::jobs] for k in range(jobs)]
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = list(pool.map(_run_share, shares, [c_path] * jobs, [c_only] * jobs,
                                [optimize] * jobs, [cflags] * jobs))
    ops = {k: v for _, share_ops in results for k, v in share_ops.items()}
    order = {t.name: i for i, t in enumerate(tests)}
    outcomes = sorted((o for share, _ in results for o in share),
                      key=lambda o: (order[o.test], MODES.index(o.mode)))
    return outcomes, ops


# Runs of listed ops that stay refused by design, each with its reason. Everything else a
# listed op's node tests do must pass (see ``goal_misses``).
OUT_OF_SCOPE = {
    "STRING": "string tensors: edgec compiles numeric tensors for microcontrollers",
    "_string": "string tensors: edgec compiles numeric tensors for microcontrollers",
}
_RANDOM_DROPOUT = "test_training_dropout"  # a random mask cannot match stored outputs


def out_of_scope(outcome: Outcome) -> str:
    """Why ``outcome``'s run stays refused by design, or ''."""
    test = outcome.test
    if test.startswith(_RANDOM_DROPOUT) and "zero_ratio" not in test:
        return "Dropout in training mode with a non-zero ratio draws a random mask"
    if outcome.status == "refused" and ("is a sequence, not a tensor" in outcome.detail
                                        or "is an optional, not a tensor" in outcome.detail):
        return "sequence and optional values: edgec's inputs and outputs are tensors"
    return next((why for key, why in OUT_OF_SCOPE.items() if key in test), "")


def goal_misses(outcomes: list[Outcome], ops: dict[str, str],
                listed: set[str] | None = None) -> dict[str, str]:
    """The runs of listed ONNX ops (those edgec has a converter for) that miss issue 11's goal:
    every run passes the reference and the C, except a plain run refused for values only
    known at run time (its frozen run, where those values are constants, passes) and the
    runs ``out_of_scope`` names. ``test:mode`` -> what happened."""
    if listed is None:
        from edgec.frontends.onnx_converters import supported_ops

        listed = set(supported_ops())
    frozen_ok = {o.test for o in outcomes if o.mode == "frozen" and o.status == "pass"
                 and o.c_status in ("", "pass")}
    misses = {}
    for o in outcomes:
        if ops.get(o.test) not in listed or out_of_scope(o):
            continue
        if o.status == "pass" and o.c_status in ("", "pass"):
            continue
        if o.mode == "plain" and o.status == "refused" and o.test in frozen_ok:
            continue
        misses[f"{o.test}:{o.mode}"] = (f"{ops[o.test]}: {o.status}/{o.c_status or '-'} "
                                        f"{(o.detail or o.c_detail)[:160]}")
    return misses


def c_subset(baseline: dict) -> set[str]:
    """The deterministic C-path subset CI runs: of the runs that passed the reference when
    ``baseline`` was written, the first (by name) of each operator, input dtypes and mode,
    and every run whose C failed then (so a fix or a regression shows)."""
    chosen: dict[str, str] = {}
    for run, key in sorted(baseline.get("keys", {}).items()):
        chosen.setdefault(key, run)
    failing = {run for run, status in baseline.get("c", {}).items() if status != "pass"}
    return set(chosen.values()) | failing


def baseline_of(outcomes: list[Outcome], ops: dict[str, str]) -> dict:
    passing = sorted(f"{o.test}:{o.mode}" for o in outcomes if o.status == "pass")
    per_op: dict[str, dict] = {}
    for o in outcomes:
        entry = per_op.setdefault(ops[o.test], {"runs": 0, "pass": 0, "c_pass": 0,
                                                "ir_ops": []})
        entry["runs"] += 1
        entry["pass"] += o.status == "pass"
        entry["c_pass"] += o.c_status == "pass"
        entry["ir_ops"] = sorted(set(entry["ir_ops"]) | set(o.ir_ops))
    counts = Counter(o.status for o in outcomes)
    c_counts = Counter(o.c_status for o in outcomes if o.c_status)
    return {"counts": dict(sorted(counts.items())), "c_counts": dict(sorted(c_counts.items())),
            "per_op": dict(sorted(per_op.items())), "passing": passing,
            "c": {f"{o.test}:{o.mode}": o.c_status for o in sorted(
                outcomes, key=lambda o: (o.test, o.mode)) if o.c_status},
            "keys": {f"{o.test}:{o.mode}": o.key for o in sorted(
                outcomes, key=lambda o: (o.test, o.mode)) if o.status == "pass"}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", default="", help="only tests whose name contains this")
    parser.add_argument("--write-baseline", action="store_true")
    parser.add_argument("--no-c", action="store_true", help="skip the C path")
    parser.add_argument("--c-subset", action="store_true",
                        help="the C path only on CI's subset of the stored baseline")
    parser.add_argument("--optimize", default=None, help="the C builds' --optimize")
    parser.add_argument("--cflags", default="", help="extra host compiler flags for the C "
                        "(e.g. '-fsanitize=address,undefined -fno-sanitize-recover=all')")
    parser.add_argument("--show", default="wrong,crash,c-wrong,c-crash",
                        help="statuses to list")
    parser.add_argument("--goal", action="store_true",
                        help="list the runs of listed ops that miss issue 11's goal")
    args = parser.parse_args(argv)
    only = c_subset(json.loads(BASELINE.read_text())) if args.c_subset else None
    outcomes, ops = run_suite(select=args.k, c_path=not args.no_c, c_only=only,
                             optimize=args.optimize, cflags=tuple(args.cflags.split()))
    show = set(args.show.split(","))
    for o in outcomes:
        if o.status in show:
            print(f"{o.status:8} {o.test}:{o.mode} {o.detail[:200]}")
        if o.c_status in show:
            detail = o.c_detail if len(o.c_detail) < 400 else \
                f"{o.c_detail[:100]} ... {o.c_detail[-300:]}"
            print(f"{o.c_status:8} {o.test}:{o.mode} {detail}")
    print("reference:", dict(Counter(o.status for o in outcomes)))
    print("C:", dict(Counter(o.c_status for o in outcomes if o.c_status)))
    if args.goal:
        misses = goal_misses(outcomes, ops)
        print("\n".join(f"{run} {why}" for run, why in misses.items()))
        print(f"listed ops' runs missing the goal: {len(misses)}")
    if args.write_baseline:
        if args.no_c or args.c_subset or args.k or args.optimize or args.cflags:
            parser.error("--write-baseline needs the whole suite with the full C path")
        BASELINE.write_text(json.dumps(baseline_of(outcomes, ops), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
