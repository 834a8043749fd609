"""Verification: the generated C run on inputs and compared with the reference interpreter.

- ``harness``: what host and emulated runs share (packed sample layout, harness context,
  random inputs, the tool runner);
- ``host``: the C compiled with a harness and run on the host;
- ``cortexm``: the C linked into bare-metal firmware and run under QEMU, measured;
- ``zephyr``: the inputs replayed through the generated Zephyr application on native_sim or
  QEMU (``edgec verify --target native_sim``, ``--zephyr``);
- ``compare``: the pass criteria (integers bit for bit, floats within ``FLOAT_RTOL``);
- ``layers``: ``--layers``, every intermediate tensor against the reference;
- ``outcome``: the ``--per-layer`` table and the ``--json`` outcome;
- ``check``: ``verify``, what ``edgec verify`` runs.
"""

import sys
import types

from edgec.verify.check import verify
from edgec.verify.compare import FLOAT_RTOL, VerifyResult, compare
from edgec.verify.harness import (harness_context, pack_samples, packed_layout, random_inputs,
                                  run_tool, unpack_samples)
from edgec.verify.host import compile_host, render_harness, run_harness

__all__ = ["FLOAT_RTOL", "VerifyResult", "compare", "compile_host", "harness_context",
           "pack_samples", "packed_layout", "random_inputs", "render_harness", "run_harness",
           "run_tool", "unpack_samples", "verify"]


class _CallableModule(types.ModuleType):
    """``edgec.verify(model, ...)`` is ``edgec.verify.verify(model, ...)`` (the Python API)."""

    def __call__(self, model, *, count: int = 10, seed: int = 0, extra_inputs=(),
                 layers: bool = False, per_layer: bool = False, **options):
        from edgec.options import BuildOptions  # options: BuildOptions fields, by keyword

        return verify(model, BuildOptions(**options), count=count, seed=seed,
                      extra_inputs=extra_inputs, layers=layers, per_layer=per_layer)


sys.modules[__name__].__class__ = _CallableModule
