"""The build driver: model file -> [PTQ] -> passes -> lowering -> memory plan -> C files and a
report.

``build`` is what ``edgec build`` runs; tests and ``edgec verify`` call it directly. With a
``Quantization`` a float model is quantized (``edgec.quantize``) before anything else, so
``edgec build --calibrate`` compiles what ``edgec quantize`` would write.

Every choice is one ``BuildOptions`` (``edgec.options``). ``optimize`` (``--optimize
speed|size``) picks between kernel variants that trade speed for flash and arena (today the
DSP kernels: int16 or int8 weights), taking only the memory kernels that cost at most
``edgec.ram.FREE_MARGIN`` of the estimate; without it, ``choose_optimize`` says which modes'
kernels may be used (both while speed's constants fit half the flash, else size's) and
``_per_step`` picks among them step by step (``edgec.choice``: the fastest kernels by the
cost model whose plan stays within the arena the one-mode default build needs). Targets
without such variants (the host) build the same C either way.
``kernels="portable"`` (``--kernels portable``) ignores the target's CPU features, so a DSP
core gets the host's plain C99 kernels: the baseline the DSP variants are measured against.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

from edgec.report_view import memory_plan_svg, report_html
from edgec.emit import EmitOptions, check_identifier, emit_model, identifier_from_stem
from edgec import __version__
from edgec.emit.codesize import compile_facts
from edgec.emit.report import emitted_constant_bytes, format_report, io_entries, kernel_rows
from edgec.errors import EdgecError
from edgec.ir import Graph, Node
from edgec.lower.kernel import Kernel
from edgec.options import BuildOptions, Optimize, Quantization
from edgec.outdir import OutputFolder
from edgec.plan import MemoryPlan, plan_memory

__all__ = ["BuildOptions", "BuildResult", "Quantization", "build", "load_graph", "load_target"]

Progress = Callable[[int, int, Node], None]
# The default is "speed" while the speed build's constant bytes take at most this share of the
# target's flash: room is left for the application, the RTOS and a second firmware slot.
SPEED_FLASH_SHARE = 0.5


@dataclass
class BuildResult:
    """What a build produced, for callers that go on (verify) or report."""

    out_dir: Path
    name: str
    files: list[Path]
    graph: Graph
    kernels: list[Kernel]
    plan: MemoryPlan
    report: dict
    target: dict
    options: BuildOptions = field(default_factory=BuildOptions)


def load_graph(model: str | os.PathLike, quantization: Quantization | None = None,
               recurrent_state: str = "reset") -> Graph:
    """The IR of ``model``, quantized when ``quantization`` is given (bad calibration data
    raises the one-line ``EdgecError`` of ``edgec quantize``); with ``recurrent_state``
    ``carry`` its recurrent layers keep their state between inferences
    (``edgec.passes.recurrent_state``)."""
    from edgec.frontends import load_model  # lazy: frontends pull in heavy readers
    from edgec.passes.recurrent_state import carry_before_quantization, carry_recurrent_state
    from edgec.quantize import load_calibration, quantize_graph

    graph = load_model(model)
    if quantization is not None:
        if recurrent_state == "carry":  # a GRU becomes primitive ops: mark it before
            graph = carry_before_quantization(graph)
        q = quantization
        graph = quantize_graph(graph, load_calibration(q.calibration), observer=q.observer,
                               percentile=q.percentile, io=q.io, weights=q.weights,
                               activations=q.activations)
    return carry_recurrent_state(graph) if recurrent_state == "carry" else graph


def load_target(name: str) -> dict:
    """The target description ``targets/<name>.yaml`` (a name or an alias), checked against
    the schema in ``edgec.targets``."""
    from edgec.targets import load_target as load_checked_target

    return load_checked_target(name)


def model_name(model: Path, name: str | None) -> str:
    """``name`` checked as a C identifier, or one made from the model file's stem."""
    return check_identifier(name) if name is not None else identifier_from_stem(model.stem)


def prepare_out_dir(out_dir: Path) -> None:
    """Create ``out_dir`` and prove it writable before any slow work starts."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".edgec-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise EdgecError(f"cannot write to output folder '{out_dir}': {exc.strerror or exc}",
                         "choose a writable folder with -o") from exc


def check_ram_limit(plan: MemoryPlan, ram_limit: int | None) -> None:
    """Refuse a plan whose arena exceeds ``ram_limit`` bytes."""
    if ram_limit is not None and plan.arena_bytes > ram_limit:
        raise EdgecError(
            f"the arena needs {plan.arena_bytes} bytes, more than --ram-limit {ram_limit}",
            f"the op-by-op lower bound is {plan.lower_bound} bytes; use a smaller model or "
            "raise the limit")


def choose_optimize(requested: str | None, target: dict, speed_weight_bytes: int) -> dict:
    """The build's optimize mode and why: ``requested`` when given; else ``speed`` when the
    speed build's constants (``speed_weight_bytes``) fit ``SPEED_FLASH_SHARE`` of the
    target's ``flash_bytes`` (or the target states no flash), else ``size``."""
    if requested is not None:
        mode = Optimize(requested).value
        return {"mode": mode, "requested": mode, "reason": "asked for"}
    flash = target.get("flash_bytes")
    if flash is None:
        return {"mode": "speed", "requested": None, "reason": "default: no flash budget"}
    fits = speed_weight_bytes <= SPEED_FLASH_SHARE * flash
    reason = (f"default: speed build's {speed_weight_bytes:,} B of constants "
              f"{'<=' if fits else '>'} {SPEED_FLASH_SHARE:.0%} of {flash:,} B flash")
    return {"mode": "speed" if fits else "size", "requested": None, "reason": reason}


def memory_entry(graph: Graph, fast: list[Kernel], kernels: list[Kernel], plan: MemoryPlan,
                 variants: list[int]) -> dict:
    """What the memory modes did and cost: the arena with them and without them (``fast``,
    the kernels lowering chose, and no trailing write), the steps using each (``variants``:
    every step lowered with a memory variant, in place, raster or without scratch; of them,
    ``no_scratch_variants`` the ones that are not in place and dropped scratch the fast kernel
    had), the MACs they add (none: every mode computes each output once)."""
    plain = [replace(k, access="") for k in fast]
    no_scratch = [s for s in variants if s not in plan.in_place
                  and kernels[s].scratch_bytes < fast[s].scratch_bytes]
    return {"arena_bytes": plan.arena_bytes,
            "without_memory_modes_bytes": plan_memory(graph, plain).arena_bytes,
            "trailing_writes": sorted(plan.overlaps), "in_place": sorted(plan.in_place),
            "in_place_variants": list(variants), "no_scratch_variants": no_scratch,
            "extra_macs": 0}


def _lower_graph(graph: Graph, target: dict, options: BuildOptions, progress):
    """Kernels, memory plan and the optimize choice (``choose_optimize``): lowered for speed
    first unless ``size`` is asked for, again for size when the default rule says so. Memory
    variants that cost instructions (in-place kernels, ``edgec.ram``) are used where the arena
    needs them (the default build's start) or wherever they help (``ram``); ``speed`` or
    ``size`` asked for by name keeps that mode's kernels, with the trailing writes and the
    memory kernels the arena needs where they cost at most ``edgec.ram.FREE_MARGIN`` of the
    estimate. The default build then chooses step by step (``_per_step``)."""
    from edgec.lower import lower_graph, node_lowerer  # lazy: lowering is a heavy import
    from edgec.ram import mix_for_arena, shrink_arena
    from edgec.room import use_room

    def lowered(mode: Optimize):
        mode_options = replace(options, optimize=mode)
        fast = lower_graph(graph, mode_options, progress=progress)
        if options.optimize in (Optimize.SPEED, Optimize.SIZE):  # asked for by name: that
            plan = plan_memory(graph, fast)  # mode's kernels, memory kernels nearly free
            kernels, plan, variants = _named_variants(graph, target, mode_options, fast, plan)
            # and kernels spending scratch where the arena has room (edgec.room)
            kernels, plan, _ = use_room(graph, kernels, plan, node_lowerer(graph, mode_options))
            return kernels, plan, memory_entry(graph, fast, kernels, plan, variants)
        kernels, plan, variants = shrink_arena(graph, fast, plan_memory(graph, fast),
                                               node_lowerer(graph, mode_options),
                                               keep_all=mode is Optimize.RAM)
        if mode is Optimize.RAM:  # size's kernels, speed's where they need less
            speed_options = replace(options, optimize=Optimize.SPEED)
            speed = lower_graph(graph, speed_options)
            kernels, plan = mix_for_arena(graph, kernels, plan, speed)
            kernels, plan, variants = _smaller_with_speed(graph, speed, speed_options,
                                                          (kernels, plan, variants))
        kernels, plan, _ = use_room(graph, kernels, plan, node_lowerer(graph, mode_options))
        return kernels, plan, memory_entry(graph, fast, kernels, plan, variants)

    first = options.optimize or Optimize.SPEED
    kernels, plan, memory = lowered(first)
    choice = choose_optimize(options.optimize, target,
                             emitted_constant_bytes(graph, kernels, plan))
    if choice["mode"] != first:
        kernels, plan, memory = lowered(Optimize(choice["mode"]))
    if options.optimize is None:
        kernels, plan, choice, memory = _per_step(graph, target, options, choice,
                                                  (kernels, plan, memory))
    choice["memory"] = memory
    return kernels, plan, choice


def _named_variants(graph: Graph, target: dict, options: BuildOptions, fast: list[Kernel],
                    plan: MemoryPlan) -> tuple:
    """``--optimize speed`` or ``size`` by name: the memory kernels the arena needs (the
    mode's memory variants; for size also ``ram``'s int8 kernels, which keep less scratch)
    where together they cost at most ``edgec.ram.FREE_MARGIN`` of the mode's estimated
    instructions (``edgec.ram.free_variants``); none without a cost model."""
    from edgec.choice import kernel_row, known
    from edgec.estimate import estimate_row
    from edgec.lower import node_lowerer
    from edgec.ram import free_variants

    costs = _cost_model(target, options)
    if costs is None:
        return fast, plan, []
    lowers = [node_lowerer(graph, options)]
    if options.optimize is Optimize.SIZE:
        lowers.append(node_lowerer(graph, replace(options, optimize=Optimize.RAM)))

    return free_variants(graph, fast, plan, lowers,
                         lambda s, k: estimate_row(kernel_row(graph, s, k), costs),
                         known=lambda s, k: known(kernel_row(graph, s, k), costs))


def _cost_model(target: dict, options: BuildOptions) -> dict | None:
    """The cost model's lines for this target's core and kernel choice, or None."""
    from edgec.estimate import BORROWED, load_costs

    cpu = target.get("cpu") or ""
    costs = load_costs(BORROWED.get(cpu, cpu))
    if costs is None or options.kernels.value not in costs["kernels"]:
        return None
    return costs["kernels"][options.kernels.value]


def _per_step(graph: Graph, target: dict, options: BuildOptions, choice: dict,
              base: tuple) -> tuple:
    """The default build's kernels step by step (``edgec.choice``): every kernel the modes
    ``choose_optimize`` allows (both while speed's constants fit its flash share, else size
    alone) lowers, with and without memory variants, the fastest by the cost model whose
    plan stays within ``base``'s arena (the one-mode default: its kernels with the memory
    variants the arena needs). Returns ``(kernels, plan, choice, memory entry)``; ``base``
    unchanged where there is no cost model or only one kernel per step."""
    from edgec.choice import Planner, candidates, choose, summary
    from edgec.lower import lower_graph, node_lowerer
    from edgec.ram import MEMORY_VARIANTS
    from edgec.room import use_room

    kernels, plan, memory = base
    costs = _cost_model(target, options)
    if costs is None:
        return kernels, plan, choice, memory
    modes = ([Optimize.SPEED, Optimize.SIZE] if choice["mode"] == "speed"
             else [Optimize.SIZE]) + [Optimize.RAM]  # ram: int8, the least scratch
    lowered, starts = {}, [kernels]
    for mode in modes:
        mode_options = replace(options, optimize=mode)
        fast = lower_graph(graph, mode_options)
        lower = node_lowerer(graph, mode_options)
        lowered[mode.value] = (fast, [lower(s, MEMORY_VARIANTS) for s in range(len(fast))])
        if mode.value == choice["mode"]:  # the start's room kernels (edgec.room) too
            lowered[mode.value] += (kernels,)
        if mode is not Optimize.RAM and plan_memory(graph, fast).arena_bytes <= plan.arena_bytes:
            starts.append(fast)  # a mode's own kernels where they fit: a start too
    cands = candidates(graph, lowered, costs)
    if all(len(c) == 1 for c in cands):
        return kernels, plan, choice, memory
    budget = plan.arena_bytes
    planner = Planner(graph)
    best = min((choose(graph, cands, start, budget, planner) for start in starts),
               key=lambda c: (c.estimate, emitted_constant_bytes(graph, c.kernels, c.plan)))
    chosen = best.kernels
    new_plan = plan_memory(graph, chosen)  # the plan of exactly these kernels
    assert new_plan.arena_bytes <= budget, "per-step choice over its arena budget"
    # steps that took size's kernel spend scratch where the arena has room (edgec.room)
    chosen, new_plan, _ = use_room(graph, chosen, new_plan,
                                   node_lowerer(graph, replace(options, optimize=Optimize.SIZE)))
    before = sum(find_estimate(cands[s], k) for s, k in enumerate(kernels))
    int16 = sum(1 for c in best.chosen if c.modes == ["speed"])
    int8 = sum(1 for c in best.chosen if "speed" not in c.modes)
    fast = [lowered[c.mode][0][s] for s, c in enumerate(best.chosen)]
    variants = [s for s, c in enumerate(best.chosen)
                if c.variant and not c.kernel.body == fast[s].body]
    entry = {
        "mode": "per-step", "requested": None, "base": choice["mode"],
        "reason": (f"default: per step the fastest kernel by the cost model within the "
                   f"{budget:,} B arena of the {choice['mode']} build; {int8} step(s) with "
                   f"size's or ram's kernel (int8 weights), {int16} with speed's (int16 "
                   f"weights), the rest the same in every mode; estimate {best.estimate:,} instructions "
                   f"({before:,} with {choice['mode']}'s kernels)"),
        "modes_allowed": [m.value for m in modes], "flash_rule": choice["reason"],
        "budget_bytes": budget, "estimate": best.estimate, "estimate_base": before,
        "plans": best.plans, "steps": summary(graph, cands, best)}
    return chosen, new_plan, entry, memory_entry(graph, fast, chosen, new_plan, variants)


def find_estimate(cands: list, kernel: Kernel) -> int:
    from edgec.choice import find

    return find(cands, kernel).estimate


def _lower_patched(graph: Graph, options: BuildOptions, mode: str, progress):
    """Kernels and plan of a graph in row bands (``edgec.passes.patch``): ``mode``'s kernels
    and, unless ``speed`` or ``size`` was asked for by name, every in-place variant when they
    lower the arena together (``ram``: also speed's kernels with theirs, when smaller). No
    step-by-step search: the bands multiply the steps, and each trial is a plan."""
    from edgec.lower import lower_graph, node_lowerer
    from edgec.ram import shrink_arena

    mode_options = replace(options, optimize=Optimize(mode))
    fast = lower_graph(graph, mode_options, progress=progress)
    if options.optimize in (Optimize.SPEED, Optimize.SIZE):
        plan = plan_memory(graph, fast)
        return fast, plan, memory_entry(graph, fast, fast, plan, [])
    kernels, plan, variants = shrink_arena(graph, fast, plan_memory(graph, fast),
                                           node_lowerer(graph, mode_options), keep_all=True)
    if options.optimize is Optimize.RAM:
        speed_options = replace(options, optimize=Optimize.SPEED)
        kernels, plan, variants = _smaller_with_speed(
            graph, lower_graph(graph, speed_options), speed_options, (kernels, plan, variants))
    return kernels, plan, memory_entry(graph, fast, kernels, plan, variants)


def _smaller_with_speed(graph: Graph, speed: list[Kernel], speed_options: BuildOptions,
                        current: tuple) -> tuple:
    """``(kernels, plan, variant steps)``: ``current``, or speed's kernels with every memory
    variant that helps (``edgec.ram.shrink_arena``) where their arena is smaller (``ram``)."""
    from edgec.lower import node_lowerer
    from edgec.ram import shrink_arena

    alt = shrink_arena(graph, speed, plan_memory(graph, speed),
                       node_lowerer(graph, speed_options), keep_all=True)
    return alt if alt[1].arena_bytes < current[1].arena_bytes else current


def patch_wanted(options: BuildOptions, target: dict, mode: str, arena: int) -> bool:
    """Whether the build tries row bands (``BuildOptions.patch``): a band count always;
    ``auto`` in ``--optimize ram``, and in the default build when ``arena`` exceeds the
    target's RAM."""
    if options.patch == "off":
        return False
    if isinstance(options.patch, (int, tuple)) or Optimize.RAM in (options.optimize, mode):
        return True
    ram = target.get("ram_bytes")
    return options.optimize is None and ram is not None and arena > ram


def _lower(graph: Graph, target: dict, options: BuildOptions, progress):
    """``_lower_graph``, then, where ``patch_wanted``, the same on the graph with its first
    layers in row bands (``edgec.passes.patch``; cut and band count by ``edgec.ram.
    choose_patch``), kept when its arena is smaller (or the band count was asked for).
    Returns the graph compiled, kernels, plan and the optimize choice."""
    kernels, plan, choice = _lower_graph(graph, target, options, progress)
    if not patch_wanted(options, target, choice["mode"], plan.arena_bytes):
        return graph, kernels, plan, choice
    from edgec.passes.patch import patch_graph, patch_macs
    from edgec.ram import choose_patch

    forced = options.patch if isinstance(options.patch, int) else None
    if isinstance(options.patch, tuple):  # CUT:N, no search
        best, tried, forced = options.patch, [], options.patch[1]
    else:
        best, tried = choose_patch(graph, kernels, options.patch_budget, forced)
    base_macs = patch_macs(graph)
    entry = {"asked": _options_entry(options)["patch"], "budget": options.patch_budget,
             "arena_without_bytes": plan.arena_bytes, "candidates": tried, "chosen": None}
    if best is None and forced and tried:
        best = (min(tried, key=lambda t: t["arena_bytes"])["cut"], forced)
    if best is not None:
        patched = patch_graph(graph, *best)
        p_kernels, p_plan, p_memory = _lower_patched(patched, options,
                                                     choice.get("base", choice["mode"]),
                                                     progress)
        if p_plan.arena_bytes < plan.arena_bytes or forced:
            macs = patch_macs(patched)
            entry["chosen"] = {"cut": best[0], "cut_tensor": graph.nodes[best[0]].outputs[0],
                               "bands": best[1], "macs": macs, "extra_macs": macs - base_macs,
                               "macs_ratio": round(macs / base_macs, 4)}
            p_memory["extra_macs"] = macs - base_macs
            p_plan.lower_bound = plan.lower_bound  # the model's op-by-op bound, not the bands'
            graph, kernels, plan = patched, p_kernels, p_plan
            choice = {**choice, "memory": p_memory}
    choice["memory"]["patch"] = entry
    return graph, kernels, plan, choice


def _write(out_dir: Path, files: dict[str, str | bytes]) -> list[Path]:
    paths = []
    for file_name, text in files.items():
        path = out_dir / file_name
        try:  # bytes: no newline translation anywhere
            path.write_bytes(text if isinstance(text, bytes) else text.encode("ascii"))
        except OSError as exc:
            raise EdgecError(f"cannot write '{path}': {exc.strerror or exc}",
                             "choose a writable folder with -o") from exc
        paths.append(path)
    return paths


def _options_entry(options: BuildOptions) -> dict:
    """The build options as given (not where the kernel cache lies: the report must not
    depend on the machine)."""
    return {"target": options.target, "name": options.name,
            "optimize": options.optimize.value if options.optimize else None,
            "kernels": options.kernels.value, "arena": options.arena.value,
            "ram_limit": options.ram_limit,
            "patch": list(options.patch) if isinstance(options.patch, tuple) else options.patch,
            "patch_budget": options.patch_budget,
            "recurrent_state": options.recurrent_state.value,
            "quantization": _quantization_entry(options.quantization)}


def _report(model: Path, name: str, target: dict, result: tuple, seconds: float,
            facts: tuple, options: BuildOptions, optimize: dict) -> dict:
    from edgec.estimate import estimates

    graph, kernels, plan = result
    code, stack = facts
    weights = emitted_constant_bytes(graph, kernels, plan)
    report = {
        "edgec_version": __version__,
        "model": model.name, "model_sha256": hashlib.sha256(model.read_bytes()).hexdigest(),
        "name": name, "target": target["name"],
        "options": _options_entry(options),
        "quantization": _quantization_entry(options.quantization),
        "optimize": optimize,
        "kernel_choice": options.kernels.value,
        "constants": options.constants.value,
        "io": io_entries(graph),
        "kernels": kernel_rows(graph, kernels, plan),
        "stack": stack.as_json() if stack is not None else None,
        "estimate": None,
        "application": None,
        "totals": {
            "macs": sum(int(k.macs) for k in kernels),
            "weight_bytes": weights,
            "code_bytes": code,
            "code_method": f"{target['compiler']} -Os .text of {name}.c" if code is not None
            else f"not estimated: {target['compiler']} or binutils size unavailable",
            "flash_bytes": weights + code if code is not None else None,
            "arena_bytes": plan.arena_bytes,
            "lower_bound_bytes": plan.lower_bound,
            "no_reuse_bytes": plan.linear_bytes,
            "state_bytes": state_bytes(graph, kernels),
            "stack_bytes": stack.bytes if stack is not None else None,
            "build_seconds": round(seconds, 3),
        },
    }
    estimated = estimates(report, target)
    for row, value in zip(report["kernels"], estimated["per_layer"] if estimated else
                          [None] * len(report["kernels"])):
        row["estimated_instructions"] = value
    if estimated is not None:
        report["estimate"] = {k: v for k, v in estimated.items() if k != "per_layer"}
    return report


def state_bytes(graph: Graph, kernels) -> int:
    """Bytes of persistent state (``Kernel.states``: the static ``NAME_stateN`` buffers the
    C keeps between calls, outside the arena), each state tensor once."""
    return sum(graph.tensors[name].nbytes for name in {s for k in kernels for s in k.states})


def _stack_entry(graph: Graph, name: str) -> str:
    """The entry point an application calls: ``NAME_invoke`` (which calls ``NAME_run``) for
    one input and one output, else ``NAME_run``."""
    return f"{name}_invoke" if len(graph.inputs) == len(graph.outputs) == 1 else f"{name}_run"


def report_files(report: dict, plan: MemoryPlan, steps: int) -> dict[str, str]:
    """The report as ``report.txt``, ``report.json``, ``report.html`` and
    ``memory_plan.svg`` (rewritten by a board build once the application's budget is
    known)."""
    svg = memory_plan_svg(plan, steps)
    return {"report.txt": format_report(report),
            "report.json": json.dumps(report, indent=2) + "\n",
            "report.html": report_html(report, svg), "memory_plan.svg": svg}


def _quantization_entry(quantization: Quantization | None) -> dict | None:
    """The report's account of PTQ: the options, the calibration file by name only (the
    report must not depend on where it lies)."""
    if quantization is None:
        return None
    return {**asdict(quantization), "calibration": Path(quantization.calibration).name}


def build(model: str | os.PathLike, out_dir: str | os.PathLike,
          options: BuildOptions = BuildOptions(), *, progress: Progress | None = None,
          loaded: Graph | None = None, force: bool = False) -> BuildResult:
    """Compile ``model`` into ``out_dir`` as ``options`` say: ``NAME.h``, ``NAME.c``,
    ``CMakeLists.txt``, ``report.txt`` and ``report.json``; a float model is first quantized
    when ``options.quantization`` is given. ``loaded`` is ``load_graph(model,
    options.quantization)`` when the caller has it already (``edgec verify``: the reference
    graph is then the compiled one). ``progress(k, n, node)`` is called before each kernel is
    lowered. Raises ``EdgecError`` for a bad name, target, output folder, model, calibration,
    or an arena over ``options.ram_limit``. Files are staged and moved into ``out_dir`` only
    on success; a folder holding another model's project is refused unless ``force``
    (``edgec.outdir``)."""
    from edgec.passes import run_passes

    started = time.perf_counter()
    model, out_dir = Path(model), Path(out_dir)
    name = model_name(model, options.name)
    target_info = load_target(options.target)
    prepare_out_dir(out_dir)
    folder = OutputFolder(out_dir, name, force)
    graph = run_passes(loaded if loaded is not None
                       else load_graph(model, options.quantization, options.recurrent_state))
    graph, lowered, plan, choice = _lower(graph, target_info, options, progress)
    check_ram_limit(plan, options.ram_limit)
    emit_options = EmitOptions(name, options.arena.value, model.name,
                               hashlib.sha256(model.read_bytes()).hexdigest(), options.target,
                               options.constants.value)
    with folder.staging() as stage:  # nothing lands in out_dir unless everything succeeded
        staged = _write(stage, emit_model(graph, lowered, plan, emit_options))
        facts = compile_facts(stage / f"{name}.c", target_info["compiler"],
                              [f for f in target_info["cflags"] if f != "-Werror"],
                              _stack_entry(graph, name))
        report = _report(model, name, target_info, (graph, lowered, plan),
                         time.perf_counter() - started, facts, options, choice)
        staged += _write(stage, report_files(report, plan, len(graph.nodes)))
        paths = folder.commit(stage, [p.name for p in staged])
    return BuildResult(out_dir, name, paths, graph, lowered, plan, report, target_info, options)
