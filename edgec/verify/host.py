"""Host verification: the generated C compiled with a harness for the host (the target's
compiler and flags), run on packed samples (``edgec.verify.harness``)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from edgec import __version__
from edgec.build import BuildResult
from edgec.templating import render
from edgec.errors import EdgecError
from edgec.ir import Graph
from edgec.options import Constants
from edgec.verify.harness import (harness_context, pack_samples, packed_layout, run_tool,
                                  unpack_samples)


def render_harness(result: BuildResult, layers: list[dict] | None = None) -> str:
    """The C source of the test harness for ``result``'s model; with ``layers``
    (``edgec.verify.layers.layer_table``) it also dumps every node's outputs."""
    return render("harness.c.j2", {**harness_context(result), "version": __version__,
                                   "static_arena": result.options.static_arena,
                                   "layers": layers,
                                   "partition": model_image(result) is not None})


def model_image(result: BuildResult) -> Path | None:
    """The model image ``NAME.bin`` of a ``--model-partition`` build, else None."""
    if result.options.constants is not Constants.PARTITION:
        return None
    return result.out_dir / f"{result.name}.bin"


def observe_flag(result: BuildResult) -> str:
    """The define that turns on the model's per-step hook (``NAME_AFTER_STEP``)."""
    return f"-D{result.name.upper()}_OBSERVE"


def compile_host(result: BuildResult, extra_flags: tuple[str, ...] = (),
                 layers: list[dict] | None = None) -> Path:
    """Compile the built model with its harness using the target's compiler and flags (and
    ``extra_flags``); the harness owns the arena when the model's does not
    (``result.options.arena``). With ``layers`` the harness takes a third file, the dump of
    those tensors after each step."""
    harness = result.out_dir / f"{result.name}_harness.c"
    harness.write_bytes(render_harness(result, layers).encode("ascii"))
    exe = result.out_dir / f"{result.name}_harness"
    target = result.target
    if layers:
        extra_flags = (*extra_flags, observe_flag(result))
    run_tool([target["compiler"], *target["cflags"], *extra_flags, "-I", str(result.out_dir),
              str(result.out_dir / f"{result.name}.c"), str(harness), "-o", str(exe),
              *target.get("libs", [])], "compiling the generated C")
    return exe


def run_harness(exe: Path, graph: Graph, samples: list[list[np.ndarray]],
                layer_dump: list | None = None,
                image: Path | None = None) -> list[list[np.ndarray]]:
    """Run the compiled harness on ``samples`` (arrays in ``graph.inputs`` order); return the
    outputs of each sample in ``graph.outputs`` order. A harness compiled with layers
    appends its dump's bytes to ``layer_dump``. ``image``: the model image a
    ``--model-partition`` harness reads its constants from (``model_image``)."""
    in_layout, in_size = packed_layout(graph, graph.inputs)
    out_layout, out_size = packed_layout(graph, graph.outputs)
    with tempfile.TemporaryDirectory(prefix="edgec-run-") as tmp:
        in_file, out_file = Path(tmp) / "inputs.bin", Path(tmp) / "outputs.bin"
        layer_file = Path(tmp) / "layers.bin"
        in_file.write_bytes(pack_samples(samples, in_layout, in_size))
        extra = [str(layer_file)] if layer_dump is not None else []
        extra += [str(image)] if image is not None else []
        run_tool([str(exe), str(in_file), str(out_file), *extra], "running the generated C")
        blob = out_file.read_bytes()
        if layer_dump is not None:
            layer_dump.append(layer_file.read_bytes())
    if len(blob) != out_size * len(samples):
        raise EdgecError(f"the harness wrote {len(blob)} bytes for {len(samples)} samples, "
                         f"expected {out_size * len(samples)}", "this is a bug in edgec")
    return unpack_samples(blob, out_layout, out_size, len(samples))
