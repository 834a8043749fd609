"""int4 (W4A8) DEPTHWISE_CONV_2D and FULLY_CONNECTED for cores with the DSP extension.

The weights stay two to a byte in flash, as the int4 tensor stores them, but reordered at
compile time so that a 32-bit word holds two groups of four weights that meet the same input
lanes: one group in the high nibbles, the other in the low nibbles of the same four bytes
(``layout.depthwise4``, ``layout.blocked4``). ``word & 0xF0F0F0F0`` is then four int8 of 16
times the first group's weights, ``(word << 4) & 0xF0F0F0F0`` the second's (one AND each:
the mask sits in a register, the shift in AND's operand), and SXTB16 / SXTB16 ROR #8 widen
them exactly as the int8-weight kernels widen an int8 weight word. The sums come out 16
times too large, exactly; the kernels shift them back before the bias (``INT4_MAX_K`` bounds
the reduction so the scaled sums fit in int32; longer ones keep the portable kernel).

- DEPTHWISE_CONV_2D (``depthwise_s4.c.j2``): ``depthwise.c.j2``'s compact form with the
  unpacking AND added: 11 instructions a tap and four channels against 10. The first group
  of a pair reads its tap words for the high nibbles, the second reads them again for the
  low ones (no register is left to keep nine words).
- FULLY_CONNECTED (``fully_connected_s4.c.j2``): the former int8 compact FC form with
  ``edgec_dot4_s4``: the row read in place, four channels at a time, per pair of input groups
  the four weight words ANDed for the first group and read again and ANDed shifted for the
  second: 52 instructions per 32 multiply-accumulates against 44.

Both run in both ``--optimize`` modes (int4 weights have no int16 form).
"""

from __future__ import annotations

from edgec.ir.ops.fully_connected import int8_multipliers
from edgec.lower import consts
from edgec.lower.dsp import layout
from edgec.lower.dsp.common import (INT4_HELPERS, INT4_MAX_K, bias_or_zeros, int8_output,
                                    kernel_plan)

# Depthwise tap loops written out up to this many taps (3x3, 4x4), rolled beyond.
MAX_UNROLLED_TAPS = 16


def depthwise_plan(ctx):
    """The W4A8 DEPTHWISE_CONV_2D plan, None where the portable kernel stays (a depth
    multiplier above 1, a non-int8 output, too many taps for the scaled sums)."""
    n, h, w, c = ctx.ins[0].shape
    _, kh, kw, _ = ctx.ins[1].shape
    taps = kh * kw
    if not int8_output(ctx) or ctx.attrs["depth_multiplier"] != 1 or taps > INT4_MAX_K:
        return None
    _, oh, ow, _ = ctx.outs[0].shape
    a = ctx.attrs
    geometry = dict(n=n, h=h, w=w, c=c, oh=oh, ow=ow, kh=kh, kw=kw, sh=a["strides"][0],
                    sw=a["strides"][1], dh=a["dilations"][0], dw=a["dilations"][1],
                    pt=a["pads"][0], pl=a["pads"][1], taps=taps,
                    unroll=taps <= MAX_UNROLLED_TAPS)
    weights = layout.depthwise4(consts.constant_input(ctx, 1, "weights"))
    bias = bias_or_zeros(consts.constant_input(ctx, 2, "bias"), c)
    return kernel_plan(ctx, "depthwise_s4.c.j2", weights, bias, consts.conv_requant(ctx, c),
                       scratch_bytes=c, access="raster", helpers=INT4_HELPERS, int4=True,
                       **geometry)


def fully_connected_plan(ctx, quant_of):
    """The W4A8 FULLY_CONNECTED plan (``quant_of(ctx, channels, mult, shift)``: the
    requantization arrays, as for int8 weights), None where the portable kernel stays (a
    weight zero point, a non-int8 output, a reduction too long for the scaled sums)."""
    cout, k = ctx.ins[1].shape
    if not int8_output(ctx) or k > INT4_MAX_K:
        return None
    mult, shift, w_offset = int8_multipliers(ctx.ins[0].quant, ctx.ins[1].quant,
                                             ctx.outs[0].quant)
    if w_offset != 0:
        return None
    weights = layout.blocked4(consts.constant_input(ctx, 1, "weights"), 4)
    bias = bias_or_zeros(consts.constant_input(ctx, 2, "bias"), cout)
    geometry = dict(rows=ctx.ins[0].size // k, k=k, cout=cout, pairs=-(-k // 8))
    return kernel_plan(ctx, "fully_connected_s4.c.j2", weights, bias,
                       quant_of(ctx, cout, mult, shift), scratch_bytes=0,
                       helpers=INT4_HELPERS, int4=True, **geometry)
