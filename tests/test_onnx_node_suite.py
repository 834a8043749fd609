"""ONNX's backend node tests (../shared/onnx_node_tests/node) through import + reference, and
the runs that pass the reference through ``edgec build`` + the generated C on the host.

Every test runs as it is and frozen (see ``tests/onnx_node/runner.py``). Each run must pass
or be refused with edgec's one-line error; none may be wrong or crash, in the reference or in
the C. ``baseline.json`` lists the passing runs and the C outcome of each: a run that passed
before and fails now is a regression, and a run that passes but is not listed means the
baseline (and docs/OPS.md) needs regenerating:
``python -m tests.onnx_node.runner --write-baseline && python -m edgec.tools.opsdoc``.

The C path of the whole suite takes minutes (a build and a compile per run): without the slow
test it runs on ``runner.c_subset`` (one run per operator, input dtypes and mode); with it
(CI) the one run of the suite takes every passing run's C path and serves every test.
"""

import json

import pytest

from tests.onnx_node import runner

pytestmark = pytest.mark.skipif(not runner.SUITE.is_dir(),
                                reason=f"ONNX node tests not found at {runner.SUITE}")
_REGEN = "python -m tests.onnx_node.runner --write-baseline && python -m edgec.tools.opsdoc"


def _baseline() -> dict:
    return json.loads(runner.BASELINE.read_text())


@pytest.fixture(scope="module")
def suite(request):
    """One run of the suite for every test here: the C path of every passing run when the
    slow test is collected too (CI), else of ``runner.c_subset``'s runs only."""
    whole = any(item.name == "test_c_path_of_every_passing_run"
                for item in request.session.items)
    return runner.run_suite(c_only=None if whole else runner.c_subset(_baseline()))


def _bad(outcomes) -> list[str]:
    bad = [f"{o.status} {o.test}:{o.mode} {o.detail[:160]}" for o in outcomes
           if o.status not in ("pass", "refused")]
    return bad + [f"{o.c_status} {o.test}:{o.mode} {o.c_detail[:240]}" for o in outcomes
                  if o.c_status not in ("", "pass", "c-refused")]


def _c_changes(outcomes, baseline: dict) -> list[str]:
    before = baseline.get("c", {})
    return [f"{o.test}:{o.mode}: C {before.get(f'{o.test}:{o.mode}', 'not run')} -> "
            f"{o.c_status}" for o in outcomes
            if o.c_status and o.c_status != before.get(f"{o.test}:{o.mode}")]


def test_every_run_passes_or_is_refused(suite):
    outcomes, _ = suite
    bad = _bad(outcomes)
    assert not bad, "\n".join(bad)


def test_no_regression_against_baseline(suite):
    outcomes, ops = suite
    baseline = _baseline()
    now = set(runner.baseline_of(outcomes, ops)["passing"])
    before = set(baseline["passing"])
    assert not sorted(before - now), f"regressed: {sorted(before - now)}"
    assert not sorted(now - before), f"newly passing, not in the baseline (run `{_REGEN}`): " \
        f"{sorted(now - before)}"
    changed = _c_changes(outcomes, baseline)
    assert not changed, f"C outcomes differ from the baseline (a regression, or run " \
        f"`{_REGEN}`): {changed}"


def test_every_listed_op_meets_the_goal(suite):
    """Issue 11's goal: every node test of every ONNX op edgec has a converter for passes, in
    the reference and (where it ran) the C, in both modes; plain mode may refuse a value only
    known at run time when the frozen run, where it is a constant, passes. Out of scope by
    design (``runner.out_of_scope``): strings, sequences and optionals, and Dropout's random
    training mask."""
    misses = runner.goal_misses(*suite)
    assert not misses, "\n".join(f"{run} {why}" for run, why in misses.items())


def test_c_subset_covers_every_operator_and_dtype(suite):
    outcomes, _ = suite
    ran = {o.key for o in outcomes if o.c_status}
    keys = {o.key for o in outcomes if o.status == "pass"}
    assert keys and ran == keys, f"no C run for {sorted(keys - ran)}"


@pytest.mark.slow
def test_c_path_of_every_passing_run(suite):
    outcomes, _ = suite
    bad = _bad(outcomes)
    assert not bad, "\n".join(bad)
    assert all(o.c_status for o in outcomes if o.status == "pass")
    changed = _c_changes(outcomes, _baseline())
    assert not changed, f"C outcomes differ from the baseline (run `{_REGEN}`): {changed}"


def test_matches_tolerates_magnitude_not_errors():
    import numpy as np

    want = np.array([2.4, 0.0028, -1.0], np.float32)
    assert runner.matches(want + np.float32(1e-6), want) == ""
    assert runner.matches(want + np.float32(1e-3), want) != ""
    assert runner.matches(np.array([1, 2]), np.array([1, 3])) != ""
    assert runner.matches(np.array([np.nan]), np.array([0.0])) != ""
