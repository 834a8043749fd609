"""ONNX's backend node tests (../shared/onnx_node_tests/node) through import + reference.

Every test runs as it is and frozen (see ``tests/onnx_node/runner.py``). Each run must pass
or be refused with edgec's one-line error; none may be wrong or crash. ``baseline.json``
lists the passing runs: a run that passed before and fails now is a regression, and a run
that passes but is not listed means the baseline (and docs/OPS.md) needs regenerating:
``python -m tests.onnx_node.runner --write-baseline && python -m edgec.tools.opsdoc``.
"""

import json

import pytest

from tests.onnx_node import runner

pytestmark = pytest.mark.skipif(not runner.SUITE.is_dir(),
                                reason=f"ONNX node tests not found at {runner.SUITE}")
_REGEN = "python -m tests.onnx_node.runner --write-baseline && python -m edgec.tools.opsdoc"


@pytest.fixture(scope="module")
def suite():
    return runner.run_suite()


def test_every_run_passes_or_is_refused(suite):
    outcomes, _ = suite
    bad = [f"{o.status} {o.test}:{o.mode} {o.detail[:160]}" for o in outcomes
           if o.status not in ("pass", "refused")]
    assert not bad, "\n".join(bad)


def test_no_regression_against_baseline(suite):
    outcomes, ops = suite
    baseline = json.loads(runner.BASELINE.read_text())
    now = set(runner.baseline_of(outcomes, ops)["passing"])
    before = set(baseline["passing"])
    assert not sorted(before - now), f"regressed: {sorted(before - now)}"
    assert not sorted(now - before), f"newly passing, not in the baseline (run `{_REGEN}`): " \
        f"{sorted(now - before)}"


def test_matches_tolerates_magnitude_not_errors():
    import numpy as np

    want = np.array([2.4, 0.0028, -1.0], np.float32)
    assert runner.matches(want + np.float32(1e-6), want) == ""
    assert runner.matches(want + np.float32(1e-3), want) != ""
    assert runner.matches(np.array([1, 2]), np.array([1, 3])) != ""
    assert runner.matches(np.array([np.nan]), np.array([0.0])) != ""
