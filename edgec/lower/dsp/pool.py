"""int8 AVERAGE_POOL_2D with SXTAB16, MAX_POOL_2D with SSUB8/SEL
(``templates/kernels/dsp/pool.c.j2``).

TFLM's reference pooling (``edgec.ir.ops.pool_2d``) sums each window's int8 taps in int32 and
divides by the count of taps inside the image, rounding half away from zero. Here four
channels share each loaded word: SXTAB16 adds its even and odd bytes to two halfword-pair
accumulators (three instructions per four taps against the portable kernel's eleven), exact
while a window has at most 255 taps (255 * 128 < 2**15). The division and the activation
clamp run once per output. MAX_POOL_2D keeps four lane maxima per word (SSUB8 and SEL, two
instructions per four taps) from -128, what the reference pads with. Channels not a multiple
of four, dilated windows and (average) windows above 255 taps keep the portable rule
(``edgec/lower/rules/pool.py``).
"""

from __future__ import annotations

from edgec.cdefs import CParam
from edgec.ir.quant import activation_range
from edgec.lower import consts, templates
from edgec.lower.dsp.common import HELPERS
from edgec.lower.registry import KernelPlan, Param, lowering_variant

TEMPLATE = "dsp/pool.c.j2"
MAX_TAPS = 255  # halfword lanes: 255 * 128 <= 32767


@lowering_variant("AVERAGE_POOL_2D", "dsp", "int8")
def average_pool_dsp(ctx):
    """int8 AVERAGE_POOL_2D (TFLM ``reference_integer_ops::AveragePool``), four channels a
    word; ``None`` (the portable rule) for what it does not handle."""
    return _plan(ctx, is_max=False)


@lowering_variant("MAX_POOL_2D", "dsp", "int8")
def max_pool_dsp(ctx):
    """int8 MAX_POOL_2D (TFLM ``reference_integer_ops::MaxPool``), four channels a word."""
    return _plan(ctx, is_max=True)


def _plan(ctx, is_max: bool):
    x, y = ctx.ins[0], ctx.outs[0]
    (fh, fw), (sh, sw) = ctx.attrs["filter"], ctx.attrs["strides"]
    n, h, w, c = x.shape
    _, oh, ow, _ = y.shape
    if (y.dtype != "int8" or c % 4 or (fh * fw > MAX_TAPS and not is_max)
            or tuple(ctx.attrs["dilations"]) != (1, 1)):
        return None
    top, left = ctx.attrs["pads"][:2]
    inside = (top <= 0 and left <= 0 and (oh - 1) * sh - top + fh <= h
              and (ow - 1) * sw - left + fw <= w)
    lo, hi = activation_range(ctx.attrs["activation"], y.quant.s, y.quant.zp)
    params = consts.int32_array([0, 0, lo, hi])
    name = f"{ctx.func_name}_params"
    geometry = dict(n=n, h=h, w=w, c=c, oh=oh, ow=ow, fh=fh, fw=fw, sh=sh, sw=sw, pt=top,
                    pl=left, inside=inside, is_max=is_max)

    def render() -> str:
        return templates.render(TEMPLATE, **geometry)

    c_params = [Param("x", ctx.node.inputs[0]), Param("params", name),
                Param("y", ctx.node.outputs[0])]
    signature = [CParam("x", "int8_t", const=True), CParam("params", "int32_t", const=True),
                 CParam("y", "int8_t")]
    key = ("dsp", inside, is_max, templates.digest(TEMPLATE), templates.digest(HELPERS[0]))
    return KernelPlan(c_params, {name: params}, c_template=render, signature=signature,
                      helpers=("dsp",), key=key, access="raster")
