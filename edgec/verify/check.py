"""``edgec verify``: build a model, run its generated C on inputs (on the host or an emulated
Cortex-M target) and compare every output with the reference interpreter."""

from __future__ import annotations

import os
import tempfile

import numpy as np

from edgec.build import Quantization, build, load_graph
from edgec.ir import interpret
from edgec.ir.interpret import check_inputs
from edgec.verify.compare import VerifyResult, compare
from edgec.verify.harness import random_inputs
from edgec.verify.host import compile_host, run_harness


def verify(model: str | os.PathLike, *, target: str = "host", count: int = 10,
           extra_inputs: list[dict[str, np.ndarray]] = (), seed: int = 0,
           arena: str = "static", extra_flags: tuple[str, ...] = (),
           cache_dir: str | os.PathLike | None = None, progress=None,
           quantization: Quantization | None = None,
           optimize: str | None = None, kernels: str = "auto") -> VerifyResult:
    """Build ``model`` in a temporary folder, run ``count`` random inputs plus
    ``extra_inputs`` (dicts by input name) through the compiled C, compare with ``interpret``
    (of the quantized graph when ``quantization`` is given: the graph that was compiled).
    ``optimize`` and ``kernels`` go to ``build``."""
    from edgec.build import load_target

    emulated = target != "host"
    if emulated:
        from edgec.verify.cortexm import emulated_machine

        emulated_machine(load_target(target))  # refuse before the slow build

    reference = load_graph(model, quantization)
    samples = [[check_inputs(reference, x)[n] for n in reference.inputs] for x in extra_inputs]
    samples += random_inputs(reference, count, seed)
    with tempfile.TemporaryDirectory(prefix="edgec-verify-") as tmp:
        result = build(model, tmp, target=target, arena=arena, cache_dir=cache_dir,
                       progress=progress, quantization=quantization, loaded=reference,
                       optimize=optimize, kernels=kernels)
        if emulated:
            from edgec.verify.cortexm import run_emulated

            actual, device = run_emulated(result, samples, arena == "static")
        else:
            exe = compile_host(result, arena == "static", extra_flags)
            actual, device = run_harness(exe, result.graph, samples), None
    expected = [[interpret(reference, s)[n] for n in reference.outputs] for s in samples]
    outcome = compare(reference, expected, actual)
    outcome.device = device
    return outcome
