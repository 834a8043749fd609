"""What the DSP variants share: the constants every kernel receives and its ``KernelPlan``."""

from __future__ import annotations

import numpy as np

from edgec.cdefs import CParam
from edgec.lower import templates
from edgec.lower.dsp.requant import MMLA_MAX_SUM, RQ_WIDTH, mmla_table, requant_table
from edgec.lower.registry import KernelPlan, Param

# Templates the kernel templates build on: the shared helper blocks (emitted once per file,
# the compact ones for the --optimize size kernels) and the imported macros.
HELPERS = ("dsp/_intrinsics.h.j2", "dsp/_gemv.j2", "dsp/_compact.h.j2",
           "dsp/_int4.h.j2", "dsp/_rows.h.j2", "dsp/_rows_out.h.j2",
           "dsp/_depthwise_plane.h.j2", "dsp/_split.h.j2")
# The int4 kernels' accumulators hold 16 times the sum: |16 * sum| < 2**31 for reduction
# lengths K up to this (inputs minus zero point within [-255, 255], weights within [-8, 8]).
INT4_MAX_K = (2 ** 31 - 1) // (16 * 255 * 8)
# The helper blocks of the int4 (W4A8) kernels, in both modes.
INT4_HELPERS = ("dsp", "dsp_compact", "dsp_int4")
ROLES = ("w", "bias", "rq", "params")


def compact(ctx) -> bool:
    """Whether the build optimizes for size (or RAM): int8 weights and the least scratch (the
    ``*_compact`` templates) instead of int16 weights and pre-widened inputs."""
    return ctx.optimize in ("size", "ram")


def int8_weights(ctx) -> bool:
    """Whether the node's weights are int8 (int4 ones: only the conv variant takes them)."""
    return ctx.ins[1].dtype == "int8"


def int8_output(ctx) -> bool:
    """Whether the node writes int8 (the kernels' requantization produces nothing else)."""
    return ctx.outs[0].dtype == "int8"


def bias_or_zeros(bias: np.ndarray | None, channels: int) -> np.ndarray:
    """The int32 bias, zeros when the node has none. Not folded with the input zero point:
    the kernels subtract it from the inputs, so padding taps can simply contribute zero."""
    return np.zeros(channels, np.int32) if bias is None else bias.astype(np.int32)


def kernel_plan(ctx, template: str, weights: np.ndarray, bias: np.ndarray, quant: dict,
                scratch_bytes: int, scratch_ctype: str = "int8_t", helpers=None, access: str = "",
                w_ctype: str = "int32_t", in_place: bool = False, acc_bound: int | None = None,
                **geometry) -> KernelPlan:
    """The plan of a DSP kernel rendered from ``templates/kernels/dsp/<template>``.

    C parameters: ``x, w, bias, rq, params, y`` and, when ``scratch_bytes`` > 0, ``scratch``
    (of ``scratch_ctype`` elements); ``quant`` holds ``mult`` and
    ``shift`` per channel and ``params = [input zp, output zp, act min, act max]``.
    ``geometry`` (shapes and attributes only, never quantization values, but flags derived
    from them may be: it is part of the cache key) fills the template.
    ``helpers``: the helper blocks (default: the compact ones too in size mode).
    Templates receive ``fast``: False (the exact form), True, or ``"nonneg"`` (the fast form
    where the activation's floor is at or above the output zero point, ``requant.py``).
    Per-tensor weight scales get one ``rq`` row shared by every channel (``per_tensor``): the
    layout of the scales is part of the cache key, their values are not. ``access`` is
    ``Kernel.access`` (``"raster"``: pixels in raster order, ``edgec.plan.overlap``).
    ``acc_bound``: the accumulators' largest magnitude, where the kernel knows it; below
    ``MMLA_MAX_SUM`` a fast table takes ``requant.mmla_row`` rows and the template gets
    ``mmla`` true (the doubled-sum SMMLAR form, ``_rows_out.h.j2``).
    """
    params = quant["params"]
    per_tensor = ctx.ins[1].quant.scale.size == 1
    rows = slice(0, 1) if per_tensor else slice(None)
    rq, fast = requant_table(quant["mult"][rows], quant["shift"][rows], int(params[1]))
    if fast and int(params[2]) >= int(params[1]):  # floor at or above the zero point
        fast = "nonneg"  # the four-channel requantization drops its sign correction
    mmla = bool(fast) and acc_bound is not None and acc_bound < MMLA_MAX_SUM
    if mmla:
        rq = mmla_table(quant["mult"][rows], quant["shift"][rows], int(params[1]))
    arrays = {"w": weights, "bias": bias, "rq": rq.reshape(-1), "params": params}
    names = {role: f"{ctx.func_name}_{role}" for role in ROLES}
    path = f"dsp/{template}"

    def render() -> str:
        return templates.render(path, fast=fast, per_tensor=per_tensor, rq_width=RQ_WIDTH,
                                mmla=mmla, **geometry)

    c_params = [Param("x", ctx.node.inputs[0])]
    c_params += [Param(role, names[role]) for role in ROLES]
    c_params.append(Param("y", ctx.node.outputs[0]))
    key = ("dsp", ctx.optimize, fast, mmla, bool(geometry.get("int4")), in_place, w_ctype,
           repr(sorted(geometry.items())), templates.digest(path),
           *(templates.digest(h) for h in HELPERS))
    signature = [CParam("x", "int8_t", const=True, restrict=not in_place)]
    signature += [CParam(role, w_ctype if role == "w" else "int32_t", const=True)
                  for role in ROLES]
    signature.append(CParam("y", "int8_t", restrict=not in_place))
    if scratch_bytes > 0:
        signature.append(CParam("scratch", scratch_ctype))
    if helpers is None:
        helpers = ("dsp", "dsp_compact") if compact(ctx) else ("dsp",)
    return KernelPlan(c_params, {names[r]: arrays[r] for r in ROLES}, c_template=render,
                      signature=signature, helpers=helpers, key=key,
                      scratch_bytes=scratch_bytes, access=access,
                      in_place=("x",) if in_place else (),
                      form=path + (" int8" if compact(ctx) else ""))
