"""``edgec verify``: build a model, run its generated C on inputs (on the host or an emulated
Cortex-M target) and compare every output with the reference interpreter."""

from __future__ import annotations

import os
import tempfile

import numpy as np

from edgec.build import build, load_graph
from edgec.ir import interpret
from edgec.ir.interpret import check_inputs
from edgec.options import BuildOptions
from edgec.verify.compare import VerifyResult, compare, term_scales
from edgec.verify.harness import random_inputs
from edgec.verify.host import compile_host, run_harness


def verify(model: str | os.PathLike, options: BuildOptions = BuildOptions(), *,
           count: int = 10, extra_inputs: list[dict[str, np.ndarray]] = (), seed: int = 0,
           extra_flags: tuple[str, ...] = (), progress=None) -> VerifyResult:
    """Build ``model`` as ``options`` say in a temporary folder, run ``count`` random inputs
    plus ``extra_inputs`` (dicts by input name) through the compiled C (on the host, or under
    QEMU for an emulated ``options.target``), compare with ``interpret`` (of the quantized
    graph when ``options.quantization`` is given: the graph that was compiled).
    ``extra_flags`` go to the host compiler."""
    from edgec.build import load_target

    emulated = options.target != "host"
    if emulated:
        from edgec.verify.cortexm import emulated_machine
        from edgec.verify.riscv import is_riscv

        riscv = is_riscv(load_target(options.target))
        if not riscv:
            emulated_machine(load_target(options.target))  # refuse before the slow build

    reference = load_graph(model, options.quantization)
    samples = [[check_inputs(reference, x)[n] for n in reference.inputs] for x in extra_inputs]
    samples += random_inputs(reference, count, seed)
    with tempfile.TemporaryDirectory(prefix="edgec-verify-") as tmp:
        result = build(model, tmp, options, progress=progress, loaded=reference)
        if emulated:
            if riscv:
                from edgec.verify.riscv import run_emulated
            else:
                from edgec.verify.cortexm import run_emulated

            actual, device = run_emulated(result, samples)
        else:
            exe = compile_host(result, extra_flags)
            actual, device = run_harness(exe, result.graph, samples), None
    state: dict = {}  # a stateful model's C keeps its state from sample to sample: so does this
    runs = [interpret(reference, s, keep=True, state=state) for s in samples]
    expected = [[run[n] for n in reference.outputs] for run in runs]
    outcome = compare(reference, expected, actual, [term_scales(reference, run) for run in runs])
    outcome.device = device
    if options.quantization is not None:  # the C matches what it compiled; how far from the float?
        from edgec.verify.float_ref import compare_with_float

        outcome.float_comparison = compare_with_float(load_graph(model, None), reference,
                                                      samples, actual)
        outcome.message = (f"vs the quantized graph: {outcome.message}; "
                           f"{outcome.float_comparison.summary()}")
    return outcome
