"""int8 CONV_2D with SMLAD (``templates/kernels/dsp/conv.c.j2``).

Per output pixel, its window is copied into the arena scratch as int16 (input minus zero
point, SXTAB16 four values at a time when the input channels are a multiple of four; zeros for
taps outside the image), so 1x1 and KxK convolutions, strides, dilations and paddings all
reduce to one matrix-vector product, the channel loop shared with FULLY_CONNECTED
(``_gemv.j2``): four output channels at a time, per four window values two words of window and
eight of weights feed eight SMLADs. The window is extended once and reused by every output
channel. (Two pixels by two channels would load fewer words per SMLAD but needs more
registers than the M4 has: GCC spilled them and the kernel was slower.)

Compact form (``--optimize size``, ``conv_compact.c.j2``): int8 weights (``layout.blocked8``)
and no int16 window. With input channels a multiple of four the channel loop reads the input
in place, one run per window row inside the image (one per inside tap when dilated across),
widening four values with two SXTAB16 as it goes; no scratch. Other channel counts (a
network's first layer, 1 or 3 channels) copy the window as int8: ``4 * ceil(K/4)`` bytes of
scratch, half the speed form's.
"""

from __future__ import annotations

from edgec.lower import consts
from edgec.lower.dsp import layout
from edgec.lower.dsp.common import bias_or_zeros, compact, int8_output, kernel_plan
from edgec.lower.registry import lowering_variant


@lowering_variant("CONV_2D", "dsp", "int8")
def conv_2d_dsp(ctx):
    """int8 CONV_2D (TFLM ``ConvPerChannel``) for cores with the DSP extension."""
    if not int8_output(ctx) or ctx.ins[1].shape[3] != ctx.ins[0].shape[3]:  # grouped: portable
        return None
    n, h, w, cin = ctx.ins[0].shape
    cout, kh, kw, _ = ctx.ins[1].shape
    _, oh, ow, _ = ctx.outs[0].shape
    weights = consts.constant_input(ctx, 1, "weights").reshape(cout, -1)
    k = kh * kw * cin
    groups = -(-k // 4)
    a = ctx.attrs
    geometry = dict(n=n, h=h, w=w, cin=cin, oh=oh, ow=ow, cout=cout, kh=kh, kw=kw,
                    sh=a["strides"][0], sw=a["strides"][1], dh=a["dilations"][0],
                    dw=a["dilations"][1], pt=a["pads"][0], pl=a["pads"][1], k=k, groups=groups)
    bias = bias_or_zeros(consts.constant_input(ctx, 2, "bias"), cout)
    quant = consts.conv_requant(ctx, cout)
    if compact(ctx):
        scratch = 0 if cin % 4 == 0 else groups * 4
        return kernel_plan(ctx, "conv_compact.c.j2", layout.blocked8(weights, 4), bias, quant,
                           scratch_bytes=scratch, scratch=scratch > 0, **geometry)
    return kernel_plan(ctx, "conv.c.j2", layout.blocked(weights, 4), bias, quant,
                       scratch_bytes=groups * 8, scratch_ctype="int32_t", **geometry)
