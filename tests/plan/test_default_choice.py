"""The default build's per-step kernel choice (``edgec.choice``): within its arena budget,
never slower by the estimate than a named mode that fits it, every mix bit-exact, every plan
replayed clean; the named modes' nearly free memory kernels (``edgec.ram.free_variants``)."""

import dataclasses
import shutil

import numpy as np
import pytest

from edgec.build import _cost_model, build, load_graph
from edgec.choice import candidates, choose, kernel_row
from edgec.emit import EmitOptions, emit_model
from edgec.estimate import estimate_row
from edgec.ir import interpret
from edgec.lower import lower_graph, node_lowerer
from edgec.options import BuildOptions
from edgec.passes import run_passes
from edgec.plan import plan_memory
from edgec.ram import FREE_MARGIN, MEMORY_VARIANTS, free_variants
from edgec.targets import load_target
from edgec.verify import compile_host, random_inputs, run_harness
from tests.plan.replay import replay
from tests.plan.test_below_bound import (SANITIZE, every_mode_model,
                                         expand_then_stride2_model)

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
TARGET = "mps2_an386"
MODELS = {"every_mode": every_mode_model, "expand_stride2": expand_then_stride2_model}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("edgec-kernel-cache")


@pytest.fixture(scope="module", params=sorted(MODELS))
def model(request, tmp_path_factory):
    return MODELS[request.param](tmp_path_factory.mktemp("choice") / f"{request.param}.tflite")


def _estimate(result) -> int:
    return result.report["estimate"]["instructions"]


def _lowered(graph, cache_dir):
    """Every mode's kernels with and without memory variants, as the default build lowers
    them, and the cost model."""
    out = {}
    for mode in ("speed", "size", "ram"):
        options = BuildOptions(target=TARGET, optimize=mode, cache_dir=cache_dir)
        lower = node_lowerer(graph, options)
        out[mode] = (lower_graph(graph, options),
                     [lower(s, MEMORY_VARIANTS) for s in range(len(graph.nodes))])
    return out, _cost_model(load_target(TARGET), BuildOptions(target=TARGET))


def test_default_is_never_slower_than_a_named_mode_within_its_budget(tmp_path, model,
                                                                     cache_dir):
    builds = {mode: build(model, tmp_path / str(mode),
                          BuildOptions(target=TARGET, optimize=mode, cache_dir=cache_dir))
              for mode in (None, "speed", "size")}
    default = builds[None]
    choice = default.report["optimize"]
    assert choice["mode"] == "per-step" and choice["base"] == "speed"
    budget = choice["budget_bytes"]
    assert default.plan.arena_bytes <= budget
    assert _estimate(default) <= choice["estimate_base"]
    fitting = [m for m in ("speed", "size") if builds[m].plan.arena_bytes <= budget]
    assert fitting, "no named mode within the budget: the comparison would test nothing"
    for mode in fitting:
        assert _estimate(default) <= _estimate(builds[mode]), mode
    assert _estimate(default) <= max(_estimate(builds[m]) for m in ("speed", "size"))
    for step in choice["steps"]:  # the report says what each step took and why
        assert step["chosen"] in step["candidates"] and step["why"]
        fastest = min([c["estimated_instructions"] for c in step["candidates"]
                       if c["cost_line"] == "own"], default=None)
        if fastest is not None and step["chosen"]["estimated_instructions"] > fastest:
            assert "refused" in step["why"] or step["why"] == "start"
    assert replay(default.graph, default.plan, default.kernels) == (default.plan.in_place, [])
    text = (tmp_path / "None" / "report.txt").read_text()
    assert "optimize   per-step (default: per step the fastest kernel" in text
    assert "choice     step" in text


def test_choice_takes_the_fastest_kernels_when_the_budget_allows(model, cache_dir):
    graph = run_passes(load_graph(model))
    lowered, costs = _lowered(graph, cache_dir)
    cands = candidates(graph, lowered, costs)
    assert any(len(c) > 1 for c in cands)
    for step, found in enumerate(cands):  # distinct kernels, known then cheapest first
        ranks = [(not c.known, c.estimate) for c in found]
        assert ranks == sorted(ranks)
        assert all(c.estimate == estimate_row(kernel_row(graph, step, c.kernel), costs)
                   for c in found)
    start = lowered["speed"][0]
    base = plan_memory(graph, start).arena_bytes
    free = choose(graph, cands, start, 1 << 30)
    for chosen, found, kernel in zip(free.chosen, cands, start):  # the best known kernel
        assert chosen is found[0] or not found[0].known and chosen.kernel.body == kernel.body
    tight = choose(graph, cands, start, base)
    assert tight.plan.arena_bytes <= base
    assert plan_memory(graph, tight.kernels).arena_bytes <= base
    assert free.estimate <= tight.estimate or any(not c.known for c in tight.chosen)
    assert tight.estimate <= sum(next(c.estimate for c in found if c.kernel.body == k.body)
                                 for found, k in zip(cands, start))
    with pytest.raises(ValueError, match="exceeds the budget"):
        choose(graph, cands, start, base - 1)


@needs_gcc
def test_every_mix_is_bit_exact_on_the_host(tmp_path, model, cache_dir):
    """Kernels of different modes and memory variants side by side (each step the i-th
    candidate, round robin), planned, replayed clean and run on the host (the DSP C with the
    intrinsics' stand-ins, under the sanitizers) against the reference interpreter; and
    the default build's own mix."""
    graph = run_passes(load_graph(model))
    lowered, costs = _lowered(graph, cache_dir)
    cands = candidates(graph, lowered, costs)
    mixes = [[found[(step + shift) % len(found)].kernel for step, found in enumerate(cands)]
             for shift in range(max(len(c) for c in cands))]
    default = build(model, tmp_path / "default", BuildOptions(target=TARGET,
                                                              cache_dir=cache_dir))
    mixes.append(default.kernels)
    samples = random_inputs(graph, 3, 5)
    expected = [interpret(graph, dict(zip(graph.inputs, s))) for s in samples]
    for index, kernels in enumerate(mixes):
        plan = plan_memory(graph, kernels)
        assert replay(graph, plan, kernels) == (plan.in_place, [])
        out = tmp_path / f"mix{index}"
        out.mkdir()
        for name, text in emit_model(graph, kernels, plan, EmitOptions("m")).items():
            (out / name).write_text(text)
        result = dataclasses.replace(default, out_dir=out, name="m", graph=graph,
                                     kernels=kernels, plan=plan, target=load_target("host"))
        for got, want in zip(run_harness(compile_host(result, SANITIZE), graph, samples),
                             expected):
            for name, array in zip(graph.outputs, got):
                np.testing.assert_array_equal(array, want[name])


def test_named_modes_take_memory_kernels_only_when_nearly_free(model, cache_dir):
    graph = run_passes(load_graph(model))
    costs = _cost_model(load_target(TARGET), BuildOptions(target=TARGET))
    options = BuildOptions(target=TARGET, optimize="speed", cache_dir=cache_dir)
    fast = lower_graph(graph, options)
    plan = plan_memory(graph, fast)

    def estimate(step, kernel):
        return estimate_row(kernel_row(graph, step, kernel), costs)

    lowers = [node_lowerer(graph, options)]
    total = sum(estimate(s, k) for s, k in enumerate(fast))
    kernels, new_plan, steps = free_variants(graph, fast, plan, lowers, estimate)
    extra = sum(estimate(s, k) for s, k in enumerate(kernels)) - total
    assert extra <= 0.01 * total and new_plan.arena_bytes <= plan.arena_bytes
    assert (new_plan.arena_bytes < plan.arena_bytes) == bool(steps)
    # with no margin at all, only variants that cost nothing by the estimate
    kernels, _, steps = free_variants(graph, fast, plan, lowers, estimate, margin=0.0)
    assert all(estimate(s, kernels[s]) <= estimate(s, fast[s]) for s in steps) or not steps
    # a generous margin takes what the arena needs, as the default build's base does
    kernels, wide_plan, _ = free_variants(graph, fast, plan, lowers, estimate, margin=1.0)
    assert wide_plan.arena_bytes <= new_plan.arena_bytes


def test_speed_by_name_takes_the_raster_depthwise_when_nearly_free(tmp_path, cache_dir):
    """The stride-2 depthwise's plane kernel cannot trail its input; ``--optimize speed``
    takes its raster variant exactly when that costs at most ``FREE_MARGIN`` of the model's
    estimate, and then reaches the default build's arena (MobileNetV2: 143,236 -> 110,688 B)."""
    model = expand_then_stride2_model(tmp_path / "block.tflite")
    results = {m: build(model, tmp_path / str(m), BuildOptions(target=TARGET, optimize=m,
                                                               cache_dir=cache_dir))
               for m in (None, "speed")}
    speed = results["speed"]
    graph = speed.graph
    step = [n.op for n in graph.nodes].index("DEPTHWISE_CONV_2D")
    options = BuildOptions(target=TARGET, optimize="speed", cache_dir=cache_dir)
    fast = lower_graph(graph, options)
    raster = node_lowerer(graph, options)(step, MEMORY_VARIANTS)
    costs = _cost_model(load_target(TARGET), options)
    total = sum(estimate_row(kernel_row(graph, s, k), costs) for s, k in enumerate(fast))
    extra = (estimate_row(kernel_row(graph, step, raster), costs)
             - estimate_row(kernel_row(graph, step, fast[step]), costs))
    assert fast[step].access == "" and raster.access == "raster"
    taken = step in speed.report["optimize"]["memory"]["in_place_variants"]
    assert taken == (extra <= FREE_MARGIN * total)
    if taken:
        assert speed.plan.arena_bytes <= results[None].plan.arena_bytes
        assert speed.plan.arena_bytes < plan_memory(graph, fast).arena_bytes
    assert replay(graph, speed.plan, speed.kernels) == (speed.plan.in_place, [])
    assert speed.report["optimize"]["mode"] == "speed"
