"""SVDF, int8 and float32, as C templates (``templates/kernels/svdf_int8.c.j2``,
``svdf_float.c.j2``): a stateful op, which TE cannot express (its state input is updated in
place). The state parameter is declared in ``KernelPlan.states``: the emitter passes a static
buffer that persists between calls of the generated ``<prefix>_run`` and that
``<prefix>_reset()`` sets back to its initial value (docs/IR.md "Recurrent state"). The
scratch holds one int32 (float) per filter.
"""

from __future__ import annotations

import numpy as np

from edgec.cdefs import C_TYPES, CParam
from edgec.ir.ops import svdf
from edgec.lower import consts, templates
from edgec.lower.registry import KernelPlan, Param, lowering_rule
from edgec.lower.rules._te import const_param

INT8_TEMPLATE, FLOAT_TEMPLATE = "svdf_int8.c.j2", "svdf_float.c.j2"


def _sizes(ctx) -> dict:
    x, wt = ctx.ins[svdf.X], ctx.ins[svdf.WT]
    return {"batch": x.shape[0], "features": x.shape[1], "filters": wt.shape[0],
            "memory": wt.shape[1], "rank": int(ctx.attrs["rank"]),
            "has_bias": ctx.ins[svdf.BIAS] is not None}


def _literal(value: float) -> str:
    """A float literal of the float32 ``value``, or empty for an infinite bound."""
    return f"{float(np.float32(value)):.9e}f" if np.isfinite(value) else ""


def _params(ctx, weights_ctypes) -> tuple[list[Param], list[CParam]]:
    """x, wf, wt, bias (when present): read-only inputs."""
    names = ["x", "wf", "wt", "bias"]
    params, signature = [], []
    for i, (name, wtype) in enumerate(zip(names, weights_ctypes)):
        if ctx.node.inputs[i]:
            params.append(Param(name, ctx.node.inputs[i]))
            signature.append(CParam(name, wtype, const=True))
    return params, signature


@lowering_rule("SVDF", "int8")
def svdf_int8(ctx) -> KernelPlan:
    """TFLM's int8 SVDF, int16 or int8 state and time weights."""
    ins = ctx.ins
    (m1, s1), (m2, s2) = svdf.int8_multipliers(
        *(ins[i].quant for i in (svdf.X, svdf.WF, svdf.WT, svdf.STATE)), ctx.outs[0].quant)
    values = [m1, s1, m2, s2, ins[svdf.X].quant.zp, ins[svdf.STATE].quant.zp,
              ctx.outs[0].quant.zp]
    state_dtype = ins[svdf.STATE].dtype
    info = np.iinfo(state_dtype)
    sizes = _sizes(ctx)
    params, signature = _params(ctx, ["int8_t", "int8_t", C_TYPES[ins[svdf.WT].dtype], "int32_t"])
    params += [const_param(ctx, "params"), Param("state", ctx.node.inputs[svdf.STATE]),
               Param("y", ctx.node.outputs[0])]
    signature += [CParam("params", "int32_t", const=True),
                  CParam("state", C_TYPES[state_dtype]), CParam("y", "int8_t"),
                  CParam("scratch", "int32_t")]
    context = dict(sizes, state_ctype=C_TYPES[state_dtype], state_min=int(info.min),
                   state_max=int(info.max), state_mask=(1 << info.bits) - 1)
    return KernelPlan(params, {f"{ctx.func_name}_params": consts.int32_array(values)},
                      c_template=lambda: templates.render(INT8_TEMPLATE, **context),
                      signature=signature, helpers=("mbqm_left",),
                      key=(templates.digest(INT8_TEMPLATE),),
                      scratch_bytes=4 * sizes["filters"], states=("state",))


@lowering_rule("SVDF", "float32")
def svdf_float(ctx) -> KernelPlan:
    """float32 SVDF with its fused activation."""
    sizes = _sizes(ctx)
    lo, hi = consts.activation_bounds(ctx.attrs["activation"])
    params, signature = _params(ctx, ["float"] * 4)
    params += [Param("state", ctx.node.inputs[svdf.STATE]), Param("y", ctx.node.outputs[0])]
    signature += [CParam("state", "float"), CParam("y", "float"), CParam("scratch", "float")]
    context = dict(sizes, lo=_literal(lo), hi=_literal(hi))
    return KernelPlan(params, c_template=lambda: templates.render(FLOAT_TEMPLATE, **context),
                      signature=signature, key=(templates.digest(FLOAT_TEMPLATE),),
                      scratch_bytes=4 * sizes["filters"], states=("state",))
