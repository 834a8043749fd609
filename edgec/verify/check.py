"""``edgec verify``: build a model, run its generated C on inputs (on the host or an emulated
Cortex-M target) and compare every output with the reference interpreter."""

from __future__ import annotations

import os
import tempfile

import numpy as np

from edgec.build import build, load_graph
from edgec.ir import interpret
from edgec.errors import EdgecError
from edgec.ir.interpret import check_inputs
from edgec.options import BuildOptions, Constants
from edgec.verify.compare import VerifyResult, compare, term_scales
from edgec.verify.harness import random_inputs
from edgec.verify.layers import first_layer_difference, layer_table, unpack_layers
from edgec.verify.host import compile_host, model_image, run_harness


def verify(model: str | os.PathLike, options: BuildOptions = BuildOptions(), *,
           count: int = 10, extra_inputs: list[dict[str, np.ndarray]] = (), seed: int = 0,
           extra_flags: tuple[str, ...] = (), progress=None, layers: bool = False,
           per_layer: bool = False, zephyr: bool = False, zephyr_base: str | None = None,
           build_dir: str | None = None) -> VerifyResult:
    """Build ``model`` as ``options`` say in a temporary folder, run ``count`` random inputs
    plus ``extra_inputs`` (dicts by input name) through the compiled C (on the host, or under
    QEMU for an emulated ``options.target``), compare with ``interpret`` (of the quantized
    graph when ``options.quantization`` is given: the graph that was compiled).
    ``extra_flags`` go to the host compiler. ``layers``: also compare every intermediate
    tensor (``edgec.verify.layers``; ``result.layers``); ``per_layer``: on an emulated
    Cortex-M target, also count the instructions of each kernel (``result.device``).
    ``zephyr`` (always for native_sim): run them in the generated Zephyr application instead
    (``edgec.verify.zephyr``), built against ``zephyr_base`` (default ``$ZEPHYR_BASE``) in
    ``build_dir`` (kept and reused; default a temporary folder)."""
    from edgec.build import load_target

    emulated = options.target != "host"
    target = load_target(options.target)
    if zephyr or target["emulator"] == ["native"]:
        if layers or per_layer or options.constants is Constants.PARTITION:
            raise EdgecError("--layers, --per-layer and --model-partition are not verified in "
                             "the Zephyr application", "verify on the host or on a QEMU target "
                             "without --zephyr")
        return _verify_zephyr(model, options, target, count, extra_inputs, seed, progress,
                              zephyr_base, build_dir)
    if emulated:
        from edgec.verify.cortexm import emulated_machine
        from edgec.verify.riscv import is_riscv

        if options.constants is Constants.PARTITION:
            raise EdgecError(f"--model-partition is verified on the host, not on "
                             f"{options.target}", "verify without --target, or without "
                             "--model-partition (the kernels are the same)")
        riscv = is_riscv(target)
        if not riscv:
            emulated_machine(target)  # refuse before the slow build
        elif layers or per_layer:
            raise EdgecError("--layers and --per-layer run on the host and on the Cortex-M "
                             f"QEMU targets, not on '{options.target}'",
                             "use --target host or mps2_an386")
    elif per_layer:
        raise EdgecError("--per-layer counts instructions on an emulated Cortex-M target",
                         "add --target mps2_an386 (or another Cortex-M QEMU target)")

    reference = load_graph(model, options.quantization, options.recurrent_state)
    samples = [[check_inputs(reference, x)[n] for n in reference.inputs] for x in extra_inputs]
    samples += random_inputs(reference, count, seed)
    with tempfile.TemporaryDirectory(prefix="edgec-verify-") as tmp:
        result = build(model, tmp, options, progress=progress, loaded=reference)
        table = layer_table(result.graph, result.plan) if layers else None
        dump: list[bytes] = []
        if emulated and riscv:
            from edgec.verify.riscv import run_emulated

            actual, device = run_emulated(result, samples)
        elif emulated:
            from edgec.verify.cortexm import run_emulated

            actual, device = run_emulated(result, samples, layers=table, per_layer=per_layer,
                                          layer_dump=dump)
        else:
            exe = compile_host(result, extra_flags, table)
            actual = run_harness(exe, result.graph, samples, dump if layers else None,
                                 image=model_image(result))
            device = None
    state: dict = {}  # a stateful model's C keeps its state from sample to sample: so does this
    runs = [interpret(reference, s, keep=True, state=state) for s in samples]
    expected = [[run[n] for n in reference.outputs] for run in runs]
    outcome = compare(reference, expected, actual, [term_scales(reference, run) for run in runs])
    outcome.device = device
    if device is not None and device.layer_instructions is not None:
        from edgec.estimate import estimates
        from edgec.verify.outcome import per_layer_rows

        estimated = estimates(result.report, result.target)
        outcome.per_layer = per_layer_rows(result.report["kernels"], device.layer_instructions,
                                           estimated and estimated["per_layer"])
    if layers:
        outcome.layers = first_layer_difference(
            result.graph, table, samples, unpack_layers(dump[0], table, len(samples)))
    if options.quantization is not None:  # the C matches what it compiled; how far from the float?
        from edgec.verify.float_ref import compare_with_float

        outcome.float_comparison = compare_with_float(load_graph(model, None), reference,
                                                      samples, actual)
        outcome.message = (f"vs the quantized graph: {outcome.message}; "
                           f"{outcome.float_comparison.summary()}")
    return outcome


def _verify_zephyr(model, options, target, count, extra_inputs, seed, progress, zephyr_base,
                   build_dir) -> VerifyResult:
    """``verify`` through the Zephyr application on an emulated board."""
    from pathlib import Path

    from edgec.project.zephyr import find_zephyr_base
    from edgec.verify.zephyr import (app_input, check_zephyr_target, expected_line,
                                     run_in_zephyr, samples_of)

    check_zephyr_target(target)
    base = find_zephyr_base(zephyr_base)  # refuse before the slow build
    reference = load_graph(model, options.quantization, options.recurrent_state)
    samples = [[check_inputs(reference, x)[n] for n in reference.inputs] for x in extra_inputs]
    samples += random_inputs(reference, count, seed)
    with tempfile.TemporaryDirectory(prefix="edgec-verify-") as tmp:
        work = Path(build_dir) if build_dir else Path(tmp) / "zephyr"
        result = build(model, Path(tmp) / "model", options, progress=progress,
                       loaded=reference)
        actual, lines, context = run_in_zephyr(result, samples, work, base)
    # the reference runs on what the app fed the model (its quantization of the samples)
    window = result.graph.tensors[result.graph.inputs[0]].size
    flat = samples_of(reference, samples)
    fed = [[app_input(reference, flat[k * window:(k + 1) * window])]
           for k in range(len(samples))]
    state: dict = {}  # a stateful model's app keeps its state from sample to sample
    runs = [interpret(reference, s, keep=True, state=state) for s in fed]
    expected = [[run[n] for n in reference.outputs] for run in runs]
    outcome = compare(reference, expected, [[a] for a in actual],
                      [term_scales(reference, run) for run in runs])
    want = [expected_line(reference, e[0], context["labels"]) for e in expected]
    got = [line.rsplit(",", 1)[0] for line in lines]
    wrong = [k for k, (w, g) in enumerate(zip(want, got)) if w != g]
    where = f"Zephyr app on {target['zephyr_board']}"
    if wrong:
        outcome.ok = False
        k = wrong[0]
        outcome.message = (f"{where}: {len(wrong)} of {len(want)} result lines differ from the "
                           f"reference (first: input {k}: printed '{got[k]}', expected "
                           f"'{want[k]}'); {outcome.message}")
    else:
        outcome.message = (f"{where}: {len(want)} result lines as the reference; "
                           f"{outcome.message}")
    return outcome
