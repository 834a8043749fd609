"""The importer fuzzer in CI: a fixed-seed campaign through the capped worker subprocess, and
a Hypothesis property over the same mutators in process (shrinking a failure to a small
mutation list). The full 100,000-case run is ``python benchmarks/fuzz.py``."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz import mutate_onnx, mutate_tflite
from tests.fuzz.cases import make_case, seed_models
from tests.fuzz.harness import run_campaign
from tests.fuzz.worker import run_case

SEEDS = seed_models()


@pytest.mark.slow
def test_fixed_seed_campaign_has_no_failures(tmp_path):
    campaign = run_campaign(2000, seed=7, timeout=10.0, mem_mb=2048, save_dir=tmp_path)
    assert campaign.failures == 0, {k: v for k, v in campaign.classes.items()}
    assert campaign.outcomes["ok"] > 0 and campaign.outcomes["error"] > 0


def test_cases_are_reproducible_from_seed_and_index():
    a, b = make_case(SEEDS, 3, 41), make_case(SEEDS, 3, 41)
    assert (a.seed_model, a.mutations, a.data) == (b.seed_model, b.mutations, b.data)


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(SEEDS)), rng=st.randoms(use_true_random=False),
       count=st.integers(1, 3))
def test_structure_aware_mutations_give_user_errors_only(name, rng, count):
    mutator = mutate_tflite if name.endswith(".tflite") else mutate_onnx
    data, mutations = mutator.mutate(SEEDS[name], random.Random(rng.getrandbits(64)), count)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"m{Path(name).suffix}"
        path.write_bytes(data)
        result = run_case(path, input_seed=rng.getrandbits(16))
    assert result["outcome"] in ("ok", "error"), (mutations, result)
