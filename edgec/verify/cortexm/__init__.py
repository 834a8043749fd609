"""Verification on emulated Cortex-M: the generated C, linked with a bare-metal harness,
runs under QEMU (``-icount shift=0``, so instruction counts are exact and repeatable).

- ``machines``: what edgec knows about each emulated machine (memory origins, stack size,
  instructions per SysTick tick) and which targets run on one.
- ``firmware``: the harness sources from ``templates/cortexm/``, compiled and linked with the
  target's compiler and flags.
- ``footprint``: flash and RAM of the model from the linker map; the whole image's sizes.
- ``qemu``: one QEMU run over files shared through semihosting.
- ``run``: samples in, outputs and measurements out (``run_emulated``, ``run_samples``,
  ``calibrate``).
- ``batch``: many graphs in one firmware image (the op grid tests).
"""

from edgec.verify.cortexm.machines import Machine, emulated_machine, is_emulated
from edgec.verify.cortexm.run import DeviceStats, calibrate, run_emulated, run_samples

__all__ = ["DeviceStats", "Machine", "calibrate", "emulated_machine", "is_emulated",
           "run_emulated", "run_samples"]
