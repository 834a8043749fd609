"""Lowering variants for Arm cores with the DSP extension (Armv7E-M: Cortex-M4/M7/M33).

int8 CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED get kernels built on SMLAD (two 16x16
multiply-accumulates per instruction) and SXTAB16 (two int8 lanes sign-extended and offset by
the input zero point in one instruction), with TFLite's requantization fused in. They are
registered with ``lowering_variant(op, "dsp", "int8")`` and chosen for targets whose YAML says
``dsp: true``; a node a variant does not handle (depth multiplier above 1, a FULLY_CONNECTED
weight zero point) keeps the portable TE rule, like TFLM's CMSIS-NN kernels falling back to
the reference ones.

Why whole C templates (``templates/kernels/dsp/``) parameterised from Python, not TVM
schedules calling a micro-kernel: the speed comes from what TE cannot state. The inner loop
reinterprets four int8 values as one 32-bit word and keeps the halfword lanes in the order
SXTAB16 produces them; the weights are packed at compile time to match (``layout.py``); the
requantization is one 64-bit multiply-accumulate and an arithmetic shift (``requant.py``),
exact but not expressible without a 64-bit high-word extract TVM would not keep. TVM 0.27 has
no ``tensorize`` path to an unpacked C printer for such intrinsics (TVM_NOTES), and the outer
loops here are a fixed nest over pixels and channel blocks that gains nothing from a
scheduler. Python computes every parameter once (weights, multipliers, rounding constants);
the C only receives arrays, so one C text serves every node with the same shapes.

Intrinsics come from ``<arm_acle.h>``; four helpers are GNU inline asm instead, each because
GCC 12 (at -O2 and -Os alike) produced measurably more instructions from the C: SXTAB16 with
its ROR #8 operand (GCC does not fold the rotate), the four-channel SMLAD loop and the
depthwise tap (GCC split the paired LDRD loads and spilled the loop counter), and SSUB8+SEL
(the GE flags must not be separated).

The same C compiles for the host: ``_intrinsics.h.j2`` uses ``<arm_acle.h>`` when
``__ARM_FEATURE_DSP`` is defined and bit-identical plain C otherwise, so the tests run the
DSP kernels on x86 against ``edgec.ir.interpret``.

``--optimize size`` (``ctx.optimize``) makes the conv, depthwise and fully connected variants
keep int8 weights (the ``*_compact`` templates, ``_compact.h.j2``): half the weight flash and
no int16 copies of inputs in the arena, for about a third more instructions. Same-shape int8
ADD and SUB (``add.py``) use per-input lookup tables built at compile time, in both modes.
"""

from edgec.lower.dsp import add, conv, depthwise, fully_connected  # noqa: F401  (registration)
