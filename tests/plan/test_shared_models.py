"""The planner on the MLPerf Tiny int8 models: at or below the op-by-op lower bound."""

from pathlib import Path

import pytest

from edgec.plan import find_overlap, plan_memory
from tests.plan.replay import replay

MODELS = Path(__file__).resolve().parents[3] / "shared" / "models"
# Measured on these files (../shared/models/README.md); TFLM needs 22,820, 54,996, 2,580 B.
LOWER_BOUNDS = {"kws_dscnn_int8": 16000, "ic_resnet8_int8": 49152, "ad_fc_autoencoder_int8": 768}


@pytest.mark.parametrize("model", sorted(LOWER_BOUNDS))
def test_arena_at_most_lower_bound(model):
    from edgec.frontends import load_model
    from edgec.passes import run_passes

    path = MODELS / f"{model}.tflite"
    if not path.is_file():
        pytest.skip(f"{path} not available")
    graph = run_passes(load_model(path))
    plan = plan_memory(graph)
    assert plan.lower_bound == LOWER_BOUNDS[model]
    assert plan.arena_bytes <= LOWER_BOUNDS[model]
    assert find_overlap(plan.buffers, plan.buffer_offsets) is None
    assert replay(graph, plan) == (plan.in_place, [])
