"""Lowering variants for Arm cores with the DSP extension (Armv7E-M: Cortex-M4/M7/M33).

int8 CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED get kernels built on SMLAD (two 16x16
multiply-accumulates per instruction) and SXTAB16 (two int8 lanes sign-extended and offset by
the input zero point in one instruction), with TFLite's requantization fused in; int8
AVERAGE_POOL_2D (``pool.py``) sums four channels a word in halfword lanes with SXTAB16,
MAX_POOL_2D keeps four lane maxima a word with SSUB8/SEL, and
same-shape ADD/SUB (``add.py``) use compile-time tables. They are
registered with ``lowering_variant(op, "dsp", "int8")`` and chosen for targets whose YAML says
``dsp: true``; a node a variant does not handle (depth multiplier above 1, a FULLY_CONNECTED
weight zero point) keeps the portable TE rule, like TFLM's CMSIS-NN kernels falling back to
the reference ones.

Why whole C templates (``templates/kernels/dsp/``) parameterised from Python, not TVM
schedules calling a micro-kernel: the speed comes from what TE cannot state. The inner loop
reinterprets four int8 values as one 32-bit word and keeps the halfword lanes in the order
SXTAB16 produces them; the weights are packed at compile time to match (``layout.py``); the
requantization is one 64-bit multiply-accumulate (SMLAL), a sign correction on the high
word (BIC, ADD ASR #31; dropped where the activation floor is at or above the output zero
point), an arithmetic shift and SSAT (``requant.py``), four channels per asm block with one
LDM per row and BFI packing (``edgec_scale4_fast``): exact for every int32 accumulator, but
not expressible without a 64-bit high-word extract TVM would not keep. TVM 0.27 has
no ``tensorize`` path to an unpacked C printer for such intrinsics (TVM_NOTES), and the outer
loops here are a fixed nest over pixels and channel blocks that gains nothing from a
scheduler. Python computes every parameter once (weights, multipliers, rounding constants);
the C only receives arrays, so one C text serves every node with the same shapes.

Intrinsics come from ``<arm_acle.h>``; some helpers are GNU inline asm instead, each because
GCC 12 (at -O2 and -Os alike) produced measurably more instructions from the C: SXTAB16 with
its ROR #8 operand (GCC does not fold the rotate), the four-channel SMLAD loops
(``edgec_dot4``, ``edgec_dot4_x8``) and the depthwise tap (GCC split the paired LDRD loads
and spilled the loop counter), SSUB8+SEL (the GE flags must not be separated), BFI packing
(GCC built it from eight masks and shifts), the four-channel requantization (one LDM per
row; GCC loaded each row in three) and SMMLAR (no ACLE intrinsic). The ones with fixed or
many registers fall back to the same arithmetic in C at -O0, where GCC finds no registers.

The same C compiles for the host: ``_intrinsics.h.j2`` uses ``<arm_acle.h>`` when
``__ARM_FEATURE_DSP`` is defined and bit-identical plain C otherwise, so the tests run the
DSP kernels on x86 against ``edgec.ir.interpret``.

``--optimize size`` (``ctx.optimize``) keeps weights int8. CONV_2D then takes the row
kernel (``conv.py``, ``conv_rows.c.j2``): input rows widened once into a kh-row ring, three
pixels by two channels per micro-kernel call over the whole window, each channel pair's
weights widened once per output row where the row is wide enough (17 instructions per 24
multiply-accumulates; 20 where the weights are widened in the loop; bands of output rows
sharing one widening of the weights where the arena has room, ``edgec.room``; strided 1x1
convs widen only the pixels they read); left-padded strided 1x1 convs,
dilated rows, one- or two-channel inputs and ``--optimize ram`` keep the pair kernel
(``conv_pair.c.j2``: two output pixels by two channels, 15 instructions per 16).
FULLY_CONNECTED takes the split-word kernel (``fc_split.py``): its weights are used once per
inference (a one-row FULLY_CONNECTED), so no blocking shares a widened weight; instead one
word holds two output channels' weights for two inputs (halfwords ``256 * w(o1) + w(o2)``),
one SMLAD accumulates both channels and SXTB16 + SMLAD the low one alone: 3 instructions per
4 multiply-accumulates, 27 per 32 with the loads (the row widened once into scratch; 31 per
32 reading it in place, the ``no_scratch:dsp`` variant the default build takes where the
scratch would raise the arena). A 3x3
DEPTHWISE_CONV_2D (stride 1 or 2) takes the plane kernel in every mode
(``depthwise_plane.py``): one channel at a time copied into an int16 plane in scratch, where
two adjacent values are one SMLAD operand and the channel's nine weights stay in registers as
six halfword pairs; in place where the output has the input's shape (the in-place arena at no
instruction cost). Other depthwise shapes keep the one-pixel kernels. int4 (W4A8) CONV_2D weights take
the row kernel on rows wide enough (nibbles unpacked once per output row and channel pair)
and the pair kernel otherwise, eight weights a word unpacked in registers
(``layout.blocked4``), in both modes; int4 DEPTHWISE_CONV_2D and FULLY_CONNECTED take their
own kernels (``int4.py``: ``depthwise_s4.c.j2``, ``fully_connected_s4.c.j2``, helpers in
``_int4.h.j2``), two groups of four weights a word, one AND per four weights. Same-shape int8
ADD and SUB (``add.py``) use per-input lookup tables built at compile time, in both modes.

The speed FULLY_CONNECTED copies its input row to int16 scratch; its memory variant
(``no_scratch:dsp``, ``edgec.ram``) widens the row in registers per four channels instead,
and the default build takes it where the copy would raise the arena's peak (AD: 768 B). The
size one (split words) widens its row into scratch (8 bytes per four inputs) and has the same
memory variant reading the int8 row in place.

Whether speed mode (int16 weights) still earns its flash (issue 15; ``python
benchmarks/run.py --layers``, docs/BENCHMARKS.md): with the row kernel (size) against int16
weights (speed) it no longer does for IC, barely for KWS; for AD's one-row FULLY_CONNECTEDs the
split-word kernel now beats speed mode too (``edgec verify --optimize size``: 247,480
instructions, 276,980 B of flash; ``--optimize speed``: 251,200, 537,928 B; at the 768 B
arena, where the first and last layers read their rows in place: 261,040 against speed's
264,560). In the pair kernel the int16 weights
needed no widening (13 instructions per 16 multiply-accumulates against 15); the row kernel
widens them once per output row instead. AD's 200,000 is out of reach with int8 weights on
this ISA: the split word's 3 instructions per 4 multiply-accumulates alone are 198,144 for
AD's 264,192 (``fc_split.py`` says why no int8 form needs fewer), before any load,
widening or requantization (1,672 outputs). The default build chooses
between the modes' kernels step by step (``edgec.choice``: the fastest by the cost model
within the one-mode default's arena), so IC takes the row kernel where its ring fits.

int8 SOFTMAX (``softmax.py``) reads exp(max - x) from a table computed at compile time with
the interpreter's arithmetic (TFLM's gemmlowp exp of the 256 possible differences), plain C.

16x8 (int16 activations, int8 weights, int64 bias; ``int16.py``, ``*_16x8.c.j2``,
``_int16.h.j2``, ``_gemv16.j2``): CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED, registered
with ``lowering_variant(op, "dsp", "int16")``. Zero points are 0, so int16 pairs feed SMLAD
as they lie in memory (the same ``edgec_dot4`` loop, weights as natural-order int16 pairs;
size mode: int8 weights widened by SXTB16, the window reordered by PKHBT/PKHTB). TFLM's int64
sums are int32 partial sums (at most 126 groups of four: exact) added by one SMLAL each into
the 64-bit requantization, whose int64 bias and rounding are folded into one constant. Shared
models quantized 16x8 by edgec (``python benchmarks/int16.py``), mps2-an386 instructions per
inference, portable -> DSP speed / size: KWS 11,248,500 -> 3,731,900 / 4,486,500, IC
40,147,720 -> 13,805,460 / 16,818,660, AD 860,920 -> 285,800 / 406,840. Same-shape 16x8
ADD, SUB and MUL (``elementwise16.py``) compute TFLM's arithmetic per element (int8's 256-entry tables would need 65,536 entries).

int8 and 16x8 UNIDIRECTIONAL_SEQUENCE_LSTM (``lstm.py``, ``lstm.c.j2``, ``_lstm.h.j2``):
the four gates' input and recurrent products as two matrices of 4 * hidden rows, four rows
a pass over the step's input and hidden state widened once into scratch (``edgec_dot4`` on
int16 weights; size mode int8 weights widened by SXTB16), the rest TFLM's integer steps
with SSAT and one-SMMLAR requantizations where the weights bound the sums (2.6x fewer
instructions than the portable kernel on an ONNX LSTM 32 x 8 -> 16, int8 and 16x8).

Which kernels stay C templates rather than TIR schedules with a tensorized micro-kernel, and
why: all of them, for now. The micro-kernels (``edgec_dot2x2_s8``, ``edgec_dot2x2_s4``) are
already isolated helpers a TIR ``call_extern`` could invoke, but around them the kernels
need (1) words of four int8 values reinterpreted from int8 buffers and scratch laid out as
interleaved halfword pairs, which TE cannot state (a buffer has one dtype), (2) the
requantization's 64-bit high-word form (``requant.py``), which TVM's simplifier rewrites,
and (3) register-exact blocking: the 2x2 block is what fits in 13 registers; GCC spilled
larger ones, and a schedule search over block shapes would explore only spilling variants.
A TIR path would also need our printer to emit the asm helpers' call contract (pointer
post-increment through ``int32_t **``). The outer loops (pixel pairs, channel pairs) are
fixed nests with no tuning freedom left once the block is fixed. The split-word FULLY_CONNECTED
(``EDGEC_SPLIT4``) adds a fourth reason: its speed is the LDM of four weight words and of
four input pairs, whose register lists must ascend, so the asm names every register (r0-r12,
lr); the weights' layout (two channels' bytes interleaved in one word) is no tensor TE can
describe either.
"""

from edgec.lower.dsp import (add, conv, depthwise, depthwise_plane,  # noqa: F401  (registration)
                             fully_connected, int4, pool, softmax)
from edgec.lower.dsp import elementwise16, int16  # noqa: F401  (registration)
from edgec.lower.dsp import lstm  # noqa: F401  (registration)
