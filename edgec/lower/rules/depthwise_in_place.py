"""int8 DEPTHWISE_CONV_2D in place: the output overwrites the input channel by channel
(``templates/kernels/depthwise_in_place.c.j2``), with one padded input channel of scratch.

A memory variant (``lowering_variant(op, "in_place", dtype)``), not the default lowering: the
build takes it for a node only where it lowers the arena (``edgec.ram``), since it reads the
input channel by channel instead of four channels to a word. It adds no MAC. Bit-exact by
construction: channel ``c`` of the output depends on channel ``c`` of the input alone, which
the kernel copies into the scratch before writing any of channel ``c``; the arithmetic is the
portable rule's (raw inputs, the zero point folded into the bias, int32 sums, TFLite's
``MultiplyByQuantizedMultiplier``).

Taken for depth multiplier 1, int8 weights and output, and an output of the input's shape
(stride 1, ``SAME``), so the planner's in-place pairing (``Kernel.in_place``) applies.
"""

from __future__ import annotations

import numpy as np

from edgec.cdefs import CParam
from edgec.lower import consts, templates
from edgec.lower.registry import KernelPlan, Param, lowering_variant
from edgec.lower.rules._te import const_param, named_constants, sum_fits_int32

TEMPLATE = "depthwise_in_place.c.j2"
ROLES = ("w", "bias", "rq", "params")


def _accepts(ctx) -> bool:
    x, w, y = ctx.ins[0], ctx.ins[1], ctx.outs[0]
    return (ctx.attrs["depth_multiplier"] == 1 and w.dtype == "int8" and y.dtype == "int8"
            and x.shape == y.shape and tuple(ctx.attrs["strides"]) == (1, 1))


@lowering_variant("DEPTHWISE_CONV_2D", "in_place", "int8")
def depthwise_in_place_int8(ctx) -> KernelPlan | None:
    """int8 DEPTHWISE_CONV_2D (TFLM ``DepthwiseConvPerChannel``) overwriting its input."""
    if not _accepts(ctx):
        return None
    n, h, w, c = ctx.ins[0].shape
    _, kh, kw, _ = ctx.ins[1].shape
    dh, dw = ctx.attrs["dilations"]
    pt, pl = ctx.attrs["pads"][:2]
    weights = consts.constant_input(ctx, 1, "weights").astype(np.int64)
    quant = consts.conv_requant(ctx, c)
    bias = consts.folded_bias(consts.constant_input(ctx, 2, "bias"), weights.sum(axis=(0, 1, 2)),
                              int(quant["params"][0]))
    if not sum_fits_int32((kh * kw) << 14, bias):
        return None
    left = bool((quant["shift"] > 0).any())
    mbqm = "edgec_mbqm_left" if left else "edgec_mbqm"
    geometry = dict(n=n, h=h, w=w, c=c, kh=kh, kw=kw, dh=dh, dw=dw, pt=pt, pl=pl,
                    ph=h + (kh - 1) * dh, pw=w + (kw - 1) * dw, mbqm=mbqm)
    per_channel = weights.reshape(kh * kw, c).T.astype(np.int8)  # [c][tap]
    rq = np.stack([quant["mult"], quant["shift"]], axis=1).astype(np.int32).reshape(-1)
    constants = {"w": per_channel.reshape(-1), "bias": bias, "rq": rq,
                 "params": quant["params"]}
    params = [Param("x", ctx.node.inputs[0])] + [const_param(ctx, r) for r in ROLES]
    params.append(Param("y", ctx.node.outputs[0]))
    signature = [CParam("x", "int8_t", const=True, restrict=False),
                 CParam("w", "int8_t", const=True)]
    signature += [CParam(r, "int32_t", const=True) for r in ROLES[1:]]
    signature += [CParam("y", "int8_t", restrict=False), CParam("scratch", "int8_t")]
    return KernelPlan(params, named_constants(ctx, constants),
                      c_template=lambda: templates.render(TEMPLATE, **geometry),
                      signature=signature, helpers=("mbqm_left" if left else "mbqm",),
                      key=("in_place", templates.digest(TEMPLATE), left),
                      scratch_bytes=geometry["ph"] * geometry["pw"], in_place=("x",))
