"""``edgec.room``: kernels spending scratch where the arena has room, never growing it."""

from __future__ import annotations

from dataclasses import replace

from edgec.build import load_graph
from edgec.lower import lower_graph, node_lowerer
from edgec.options import BuildOptions
from edgec.plan import plan_memory
from edgec.room import room_at, use_room
from tests.plan.replay import replay
from tests.shared_models import model_path


def _ic(cache_dir, optimize="size"):
    graph = load_graph(model_path("ic_resnet8_int8"))
    options = BuildOptions(target="mps2_an386", optimize=optimize, cache_dir=cache_dir)
    kernels = lower_graph(graph, options)
    return graph, kernels, plan_memory(graph, kernels), node_lowerer(graph, options)


def test_room_variants_keep_the_arena_and_widen_bands_where_it_has_room(cache_dir):
    """IC in size mode: its 3x3 convs off the peak (32x32 maps: the peak) take bands or
    the whole image; the arena stays; the plan replays clean with the new scratch."""
    graph, kernels, plan, lower = _ic(cache_dir)
    roomy, roomy_plan, steps = use_room(graph, kernels, plan, lower)
    assert roomy_plan.arena_bytes == plan.arena_bytes
    assert steps and all(graph.nodes[s].op == "CONV_2D" for s in steps)
    for step in steps:
        assert roomy[step].scratch_bytes > kernels[step].scratch_bytes
        assert "once for the" in roomy[step].c_source
    for step in (1, 2):  # the 32x32x16 convs hold the arena's peak: no room
        assert step not in steps
    assert replay(graph, roomy_plan, roomy)[1] == []


def test_room_at_is_the_free_span_of_the_present_plan(cache_dir):
    """Steps 1 and 2 hold the size-mode arena's peak (their input, their output trailing it,
    their scratch): no room; where ``room_at`` is positive, that much more scratch on the
    plan's present choices fits (growing it by one byte beyond may still fit: the planner
    can take another trailing write)."""
    graph, kernels, plan, _ = _ic(cache_dir)
    for step in range(len(graph.nodes)):
        room = room_at(plan, step)
        assert 0 <= room <= plan.arena_bytes
        if step in (1, 2):
            assert room <= 16 * 34  # at most the trailing write's slack
    step = 8  # the 16x16x32 -> 8x8x64 conv: room for its widened image
    trial = list(kernels)
    trial[step] = replace(kernels[step], scratch_bytes=kernels[step].scratch_bytes
                          + room_at(plan, step) // 2)
    assert plan_memory(graph, trial).arena_bytes == plan.arena_bytes


def test_steps_with_another_kernel_and_other_modes_stay(cache_dir):
    """A step whose kernel is not the mode's default (here: speed mode's kernels lowered in
    ram mode) is left alone; speed's only room variant is the 1x1 unit-stride conv's, which
    IC does not have."""
    graph, kernels, plan, _ = _ic(cache_dir, "speed")
    ram_lower = node_lowerer(graph, BuildOptions(target="mps2_an386", optimize="ram",
                                                 cache_dir=cache_dir))
    same, same_plan, steps = use_room(graph, kernels, plan, ram_lower)
    assert steps == [] and same == kernels and same_plan is plan
    graph, kernels, plan, lower = _ic(cache_dir, "speed")
    assert use_room(graph, kernels, plan, lower)[2] == []


def test_speed_room_takes_the_three_pixel_pointwise_conv_on_kws(cache_dir):
    """KWS in speed mode: its four 1x1 convs (25x5x64, trailing their input) have 328 B
    free below the arena at their step, enough for the three-pixel kernel's 384 B of
    scratch instead of the window kernel's 128 B (``conv_pointwise3.c.j2``); the arena stays
    and the plan (output over the input, ``raster_buffered``) replays clean."""
    graph = load_graph(model_path("kws_dscnn_int8"))
    options = BuildOptions(target="mps2_an386", optimize="speed", cache_dir=cache_dir)
    kernels = lower_graph(graph, options)
    plan = plan_memory(graph, kernels)
    roomy, roomy_plan, steps = use_room(graph, kernels, plan, node_lowerer(graph, options))
    assert steps == [2, 4, 6, 8]
    assert roomy_plan.arena_bytes == plan.arena_bytes
    for step in steps:
        assert roomy[step].form == "dsp/conv_pointwise3.c.j2 room1:dsp"
        assert roomy[step].scratch_bytes == 384 and roomy[step].access == "raster_buffered"
        assert step in roomy_plan.overlaps  # the output still trails its input
    assert replay(graph, roomy_plan, roomy)[1] == []
