"""Verification: the generated C run on inputs and compared with the reference interpreter.

- ``harness``: what host and emulated runs share (packed sample layout, harness context,
  random inputs, the tool runner);
- ``host``: the C compiled with a harness and run on the host;
- ``cortexm``: the C linked into bare-metal firmware and run under QEMU, measured;
- ``compare``: the pass criteria (integers bit for bit, floats within ``FLOAT_RTOL``);
- ``check``: ``verify``, what ``edgec verify`` runs.
"""

from edgec.verify.check import verify
from edgec.verify.compare import FLOAT_RTOL, VerifyResult, compare
from edgec.verify.harness import (harness_context, pack_samples, packed_layout, random_inputs,
                                  run_tool, unpack_samples)
from edgec.verify.host import compile_host, render_harness, run_harness

__all__ = ["FLOAT_RTOL", "VerifyResult", "compare", "compile_host", "harness_context",
           "pack_samples", "packed_layout", "random_inputs", "render_harness", "run_harness",
           "run_tool", "unpack_samples", "verify"]
