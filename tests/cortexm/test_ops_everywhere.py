"""Every lowering rule on every emulated core: the op grid (``tests/cortexm/op_grid.py``) built
for the Cortex-M4F with its DSP kernels in ``--optimize speed`` and ``size`` and for the
soft-float Cortex-M3, run in QEMU many graphs per image, each output compared with
``edgec.ir.interpret``. CI runs the seeded subset; ``EDGEC_OPS_FULL=1`` (or
``python benchmarks/run.py --ops --full``) runs every geometry, corner and seed."""

import os

import numpy as np
import pytest

from edgec.verify.cortexm.batch import emit_graph, run_models
from edgec.ir import Tensor, interpret
from edgec.lower.select import supported
from edgec.verify import random_inputs
from tests.cortexm.op_grid import CONFIGS, cases, failures, run_grid
from tests.cortexm.toolchain import needs_qemu
from tests.lower.harness import single_node_graph
from tests.lower.quantgen import act_q

FULL = os.environ.get("EDGEC_OPS_FULL") == "1"


def test_grid_covers_every_lowering_rule():
    assert {case.rule for case in cases()} == set(supported())


@needs_qemu
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.label)
def test_every_op_matches_the_reference(cache_dir, config):
    outcomes = run_grid(cases(full=FULL), config, cache_dir)
    assert not failures(outcomes, config), "\n".join(failures(outcomes, config))
    # The cases written for the DSP kernels ran them on the M4F, and only there.
    dsp_cases = [o for o in outcomes if o.case.label.startswith("dsp")]
    assert dsp_cases and all(o.dsp == config.target.startswith("mps2") for o in dsp_cases)


def _pad_graph(rng, side: int):
    """int8 PAD of a side x side image by 4 on each side: about 2 * side^2 bytes of arena."""
    q = act_q(rng)
    x = Tensor("x", (1, side, side, 1), "int8", quant=q)
    y = Tensor("y", (1, side + 8, side + 8, 1), "int8", quant=q)
    return single_node_graph("PAD", [x], [y], {"pads": ((0, 0), (4, 4), (4, 4), (0, 0)),
                                               "value": None})


@needs_qemu
def test_models_too_big_for_one_image_are_split(tmp_path, cache_dir):
    """Three ~23 KB arenas (and the harness's shared ~23 KB of buffers) cannot share the M3's
    64 KiB of RAM: each model ends up in an image of its own, all outputs still right."""
    graphs = [_pad_graph(np.random.default_rng(k), 100) for k in range(3)]
    results = [emit_graph(g, tmp_path, f"p{k}", "qemu_cortex_m3", cache_dir=cache_dir)
               for k, g in enumerate(graphs)]
    samples = [random_inputs(g, 2, seed=k) for k, g in enumerate(graphs)]
    for graph, inputs, outputs in zip(graphs, samples, run_models(results, samples)):
        for sample, (got,) in zip(inputs, outputs):
            np.testing.assert_array_equal(got, interpret(graph, {"x": sample[0]})["y"])
    assert sorted(p.name for p in tmp_path.glob("batch_*.elf")) == [
        "batch_p0_1.elf", "batch_p1_1.elf", "batch_p2_1.elf"]
