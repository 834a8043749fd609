"""int8 DEPTHWISE_CONV_2D with SMLABB/SMLATT (``templates/kernels/dsp/depthwise.c.j2``).

Channels are the inner dimension of NHWC, so four neighbouring channels are one 32-bit load;
SXTAB16 turns it into two halfword pairs minus the input zero point, and SMLABB/SMLATT
multiply-accumulate each lane against weights stored at compile time as int16 in the same lane
order, group by group and tap by tap (``layout.depthwise``): eight instructions per tap and
four channels. Each output pixel first points every tap at its input; taps outside the image
point at a row of input zero points in the arena scratch, which adds zero (TFLM skips them),
so every pixel runs the same unrolled tap sequence. A depth multiplier above 1 keeps the
portable rule.

Compact form (``--optimize size``): int8 weights, one word per tap and four channels
(``layout.depthwise8``), widened by SXTB16 and SXTB16 ROR #8 into the lanes SXTAB16 gives the
inputs: two more instructions per tap. The scratch stays: ``C`` bytes of zero points.

A 3x3 kernel with stride 1 or 2 takes the plane kernel instead (``depthwise_plane.py``):
int8 weights, and on KWS's 25x5x64 layers 237,520 instructions against 323,200 (this file's
speed form) and 354,880 (compact), measured on mps2-an386 by ``python benchmarks/layers.py
kws_dscnn_int8``; where it cannot work in place only in speed mode (``_plane_first``).
These kernels keep the other shapes.

int4 weights (W4A8): ``edgec.lower.dsp.int4`` (``depthwise_s4.c.j2``), in both modes.
"""

from __future__ import annotations

from edgec.lower import consts
from edgec.lower.dsp import depthwise_plane, int4, layout
from edgec.lower.dsp.common import (bias_or_zeros, compact, int8_output, int8_weights,
                                    kernel_plan)
from edgec.lower.registry import lowering_variant

MAX_UNROLLED_TAPS = 16


def _accepts(ctx) -> bool:
    return int8_output(ctx) and int8_weights(ctx) and ctx.attrs["depth_multiplier"] == 1


def _plane_first(ctx) -> bool:
    """Whether the plane kernel is tried first: where it works in place (never a larger
    arena), and in speed mode everywhere (stride 2 and VALID too, though channel by channel
    its output cannot trail its dying input as a raster kernel's can: MobileNetV2's arena
    143,236 B against 110,688; the default and ram builds swap the raster kernel back where
    the arena needs it, ``raster_dsp`` below and ``edgec.ram``)."""
    return depthwise_plane.can_be_in_place(ctx) or ctx.optimize == "speed"


@lowering_variant("DEPTHWISE_CONV_2D", "dsp", "int8")
def depthwise_conv_2d_dsp(ctx):
    """int8 DEPTHWISE_CONV_2D (TFLM ``DepthwiseConvPerChannel``), depth multiplier 1."""
    if ctx.ins[1].dtype == "int4":
        return int4.depthwise_plan(ctx)
    if not _accepts(ctx):
        return None
    if _plane_first(ctx):
        plan = depthwise_plane.plane_plan(ctx, in_place=depthwise_plane.can_be_in_place(ctx))
        if plan is not None:  # 3x3, stride 1 or 2, int8 weights
            return plan
    return raster_plan(ctx)


@lowering_variant("DEPTHWISE_CONV_2D", "raster:dsp", "int8")
def raster_dsp(ctx):
    """The memory variant (``edgec.ram``) of a node the plane kernel takes: this file's
    raster kernel, whose output may trail its dying input. In place the plane kernel needs no
    more than its input's bytes and a small scratch, but its output sits exactly on its input,
    which may place the tensors around it worse than a trailing write (MobileNetV2: the
    default build keeps the raster kernel where that makes the arena smaller)."""
    if not (_accepts(ctx) and _plane_first(ctx)):
        return None
    in_place = depthwise_plane.can_be_in_place(ctx)
    if depthwise_plane.plane_plan(ctx, in_place=in_place) is None:
        return None
    return raster_plan(ctx)


def raster_plan(ctx):
    """The one-pixel raster kernel (``depthwise.c.j2``), int16 or int8 weights by mode."""
    n, h, w, c = ctx.ins[0].shape
    _, kh, kw, _ = ctx.ins[1].shape
    _, oh, ow, _ = ctx.outs[0].shape
    a = ctx.attrs
    taps = kh * kw
    geometry = dict(n=n, h=h, w=w, c=c, oh=oh, ow=ow, kh=kh, kw=kw, sh=a["strides"][0],
                    sw=a["strides"][1], dh=a["dilations"][0], dw=a["dilations"][1],
                    pt=a["pads"][0], pl=a["pads"][1], taps=taps,
                    unroll=taps <= MAX_UNROLLED_TAPS, compact=compact(ctx))
    arrange = layout.depthwise8 if compact(ctx) else layout.depthwise
    weights = arrange(consts.constant_input(ctx, 1, "weights"))
    bias = bias_or_zeros(consts.constant_input(ctx, 2, "bias"), c)
    return kernel_plan(ctx, "depthwise.c.j2", weights, bias, consts.conv_requant(ctx, c),
                       scratch_bytes=c, access="raster", **geometry)
