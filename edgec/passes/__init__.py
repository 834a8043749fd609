"""Graph -> Graph rewrites. Each pass returns a new graph and never mutates its input.

``PIPELINE`` is the order passes run in, read top to bottom like a recipe. ``patch``
(row bands of the first layers) is not in it: it trades MACs for arena, so the build runs
it where ``--patch`` / ``--optimize ram`` ask, at the cut the arena search picks
(``edgec.build``, ``edgec.ram.choose_patch``).
"""

from __future__ import annotations

from typing import Callable

from edgec.errors import EdgecError
from edgec.ir.graph import Graph
from edgec.passes.activation_fusion import fuse_activations
from edgec.passes.constant_fold import fold_constants
from edgec.passes.dead_channels import remove_dead_channels
from edgec.passes.dilated_conv import fold_dilated_conv
from edgec.passes.identity import remove_identities
from edgec.passes.pad_fusion import fuse_pads
from edgec.passes.scale_shift import fold_scale_shift
from edgec.passes.slice_concat import fold_slice_concat

Pass = Callable[[Graph], Graph]

PIPELINE: list[tuple[str, Pass]] = [
    # SPACE_TO_BATCH_ND -> conv -> BATCH_TO_SPACE_ND becomes one convolution with dilations.
    ("dilated_conv", fold_dilated_conv),
    # Slices of concatenations read the pieces (an unrolled loop's output buffer: one copy).
    ("slice_concat", fold_slice_concat),
    # Nodes whose inputs are all constants become constants (evaluated by their kernels).
    ("constant_fold", fold_constants),
    # Identity RESHAPE / TRANSPOSE / QUANTIZE / PAD go, layout chains merge, dead nodes go.
    ("identity", remove_identities),
    # Float per-channel MUL / ADD after a conv or dense layer move into its weights and bias.
    ("scale_shift", fold_scale_shift),
    # PAD before a convolution or pool becomes the window op's own pads, where exact.
    ("pad_fusion", fuse_pads),
    # RELU / RELU6 become the producing op's fused activation, where exact.
    ("activation_fusion", fuse_activations),
    # All-zero filters (pruned models) go, with the channels they feed downstream.
    ("dead_channels", remove_dead_channels),
]


def pass_names() -> list[str]:
    """The names of the passes in ``PIPELINE``, in order."""
    return [name for name, _ in PIPELINE]


def run_passes(graph: Graph, names: list[str] | None = None) -> Graph:
    """Run the passes of ``PIPELINE`` (all, or only those in ``names``, in pipeline order)."""
    unknown = sorted(set(names or ()) - set(pass_names()))
    if unknown:
        raise EdgecError(f"unknown pass(es) {unknown}", f"known passes: {', '.join(pass_names())}")
    for name, run in PIPELINE:
        if names is None or name in names:
            graph = run(graph)
    return graph
