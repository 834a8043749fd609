"""int8 CONV_2D with SMLAD (``templates/kernels/dsp/conv.c.j2``).

Two output pixels at a time: each one's window is copied into the arena scratch as int16
(input minus zero point, SXTAB16 four values at a time when the input channels are a multiple
of four; zeros for taps outside the image), so 1x1 and KxK convolutions, strides, dilations
and paddings all reduce to one matrix product. Each pair of output channels then accumulates
the two pixels over the reduction: per four reduction values, four words of window and four of
weights feed eight SMLADs (sixteen multiply-accumulates). The window is extended once per pixel
and reused by every output channel.
"""

from __future__ import annotations

from edgec.lower import consts
from edgec.lower.dsp import layout
from edgec.lower.dsp.common import bias_or_zeros, int8_output, kernel_plan
from edgec.lower.registry import lowering_variant


@lowering_variant("CONV_2D", "dsp", "int8")
def conv_2d_dsp(ctx):
    """int8 CONV_2D (TFLM ``ConvPerChannel``) for cores with the DSP extension."""
    if not int8_output(ctx):
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
    return kernel_plan(ctx, "conv.c.j2", layout.blocked(weights, 2), bias,
                       consts.conv_requant(ctx, cout), scratch_bytes=groups * 16, **geometry)
