"""Many models in one firmware image: the op tests' way to run hundreds of small graphs on
an emulated core without paying the compile, link and QEMU start-up once per graph.

``emit_graph`` lowers, plans and emits an IR graph (no passes: the op tests check the rules
themselves) into a shared folder under its own symbol prefix; ``run_models`` links every
model emitted there with one harness (``templates/cortexm/batch_harness.c.j2``), runs the
samples of each in turn and returns their outputs. An image that does not fit the target's
memory is split in two and each half linked again, so the caller never sizes batches.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from edgec import __version__
from edgec.build import BuildResult, load_target
from edgec.verify.cortexm.firmware import HARNESS_FLAGS, compile_objects, link, write_support
from edgec.verify.cortexm.machines import emulated_machine
from edgec.verify.cortexm.qemu import run_elf
from edgec.verify.cortexm.run import BASE_TIMEOUT_S, TIMEOUT_S_PER_SAMPLE
from edgec.emit import EmitOptions, emit_model
from edgec.templating import render
from edgec.errors import EdgecError
from edgec.ir import Graph
from edgec.options import BuildOptions
from edgec.verify.harness import pack_samples, packed_layout, unpack_samples

Samples = list[list[np.ndarray]]  # per sample, one array per graph input (or output)
# Parallel compiler processes: the models' objects are independent.
COMPILE_JOBS = 2


def emit_graph(graph: Graph, out_dir: Path, name: str, target: str, *,
               optimize: str = "speed", cache_dir=None) -> BuildResult:
    """Write ``name.c`` and ``name.h`` for ``graph`` lowered for ``target`` into ``out_dir``."""
    from edgec.lower import lower_graph  # lazy: lowering is a heavy import
    from edgec.plan import plan_memory

    target_info = load_target(target)
    options = BuildOptions(target=target, name=name, optimize=optimize, cache_dir=cache_dir)
    kernels = lower_graph(graph, options)
    plan = plan_memory(graph, kernels)
    files = emit_model(graph, kernels, plan, EmitOptions(name, target=target))
    paths = []
    for file_name, text in files.items():
        if file_name.endswith((".c", ".h")):
            paths.append(out_dir / file_name)
            paths[-1].write_bytes(text.encode("ascii"))
    return BuildResult(out_dir, name, paths, graph, kernels, plan, {}, target_info, options)


def _model_entry(result: BuildResult, samples: int) -> dict:
    inputs, in_bytes = packed_layout(result.graph, result.graph.inputs)
    outputs, out_bytes = packed_layout(result.graph, result.graph.outputs)
    return {"name": result.name, "inputs": inputs, "outputs": outputs, "samples": samples,
            "input_bytes": in_bytes, "output_bytes": out_bytes}


def _compile_models(results: list[BuildResult], target: dict) -> dict[str, Path]:
    """Each model's object, compiled once whichever images it ends up in."""
    def one(result: BuildResult) -> Path:
        return compile_objects([result.out_dir / f"{result.name}.c"], target,
                               result.out_dir)[0]

    with ThreadPoolExecutor(COMPILE_JOBS) as pool:
        return dict(zip((r.name for r in results), pool.map(one, results)))


class _Batch:
    """The shared state of one ``run_models`` call: folder, target, objects, samples."""

    def __init__(self, results: list[BuildResult], samples: list[Samples]):
        self.folder = results[0].out_dir
        self.target = results[0].target
        self.machine = emulated_machine(self.target)
        self.support = compile_objects(write_support(self.folder, self.target, self.machine),
                                       self.target, self.folder, HARNESS_FLAGS)
        self.objects = _compile_models(results, self.target)
        self.samples = dict(zip((r.name for r in results), samples))
        self.results = {r.name: r for r in results}

    def run(self, names: list[str]) -> dict[str, Samples]:
        """The outputs of the models ``names``, in as many images as their sizes need."""
        try:
            elf = self._link(names)
        except EdgecError as exc:
            if "does not fit" not in exc.full_message or len(names) == 1:
                raise
            half = len(names) // 2
            return {**self.run(names[:half]), **self.run(names[half:])}
        return self._execute(names, elf)

    def _link(self, names: list[str]) -> Path:
        entries = [_model_entry(self.results[n], len(self.samples[n])) for n in names]
        stem = f"batch_{names[0]}_{len(names)}"
        context = {"version": __version__, "target": self.target["name"],
                   "machine": self.machine.qemu_name, "stem": stem, "models": entries,
                   "input_bytes": max(e["input_bytes"] for e in entries),
                   "output_bytes": max(e["output_bytes"] for e in entries)}
        harness = self.folder / f"{stem}.c"
        harness.write_bytes(render("cortexm/batch_harness.c.j2", context).encode("ascii"))
        objects = compile_objects([harness], self.target, self.folder, HARNESS_FLAGS)
        return link([*(self.objects[n] for n in names), *objects, *self.support],
                    self.target, self.folder, stem)[0]

    def _execute(self, names: list[str], elf: Path) -> dict[str, Samples]:
        entries = [_model_entry(self.results[n], len(self.samples[n])) for n in names]
        blob = b"".join(pack_samples(self.samples[n], e["inputs"], e["input_bytes"])
                        for n, e in zip(names, entries))
        with tempfile.TemporaryDirectory(prefix="edgec-batch-") as tmp:
            work = Path(tmp)
            (work / "inputs.bin").write_bytes(blob)
            run_elf(self.target["emulator"], elf, work, BASE_TIMEOUT_S + TIMEOUT_S_PER_SAMPLE
                    * sum(e["samples"] for e in entries))
            outputs = (work / "outputs.bin").read_bytes()
        expected = sum(e["samples"] * e["output_bytes"] for e in entries)
        if len(outputs) != expected:
            raise EdgecError(f"the firmware wrote {len(outputs)} bytes, expected {expected}",
                             "this is a bug in edgec's Cortex-M batch harness")
        results, at = {}, 0
        for name, e in zip(names, entries):
            size = e["output_bytes"] * e["samples"]
            results[name] = unpack_samples(outputs[at:at + size], e["outputs"],
                                           e["output_bytes"], e["samples"])
            at += size
        return results


def run_models(results: list[BuildResult], samples: list[Samples]) -> list[Samples]:
    """Run ``samples[i]`` through ``results[i]``'s model on their emulated target; every
    model was emitted into one folder for one target (``emit_graph``). Returns each model's
    outputs, per sample in graph output order."""
    folders = {r.out_dir for r in results}
    targets = {r.target["name"] for r in results}
    if len(folders) != 1 or len(targets) != 1:
        raise ValueError("run_models takes models emitted into one folder for one target")
    outputs = _Batch(results, samples).run([r.name for r in results])
    return [outputs[r.name] for r in results]
