"""GRU (float32) as a C template (``templates/kernels/gru_float.c.j2``): a loop carrying the
hidden state from step to step, as the LSTM (``rules/lstm.py`` says why this is not TE). The
scratch holds the update and reset gates, the candidate's two products and the state. With
``carry_state`` h0 is a persistent state buffer the kernel writes its final state back to."""

from __future__ import annotations

from edgec.cdefs import CParam
from edgec.ir.ops import lstm
from edgec.lower import templates
from edgec.lower.registry import KernelPlan, Param, lowering_rule

TEMPLATE = "gru_float.c.j2"


@lowering_rule("GRU", "float32")
def gru_float(ctx) -> KernelPlan:
    """float32 GRU, ONNX semantics (``linear_before_reset`` both ways)."""
    batch, steps, features = lstm.sizes(ctx.node, ctx.ins[0].shape)
    hidden = ctx.ins[2].shape[1]
    sizes = {"batch": batch, "steps": steps, "features": features, "hidden": hidden,
             "time_major": bool(ctx.attrs["time_major"]),
             "return_sequences": bool(ctx.attrs["return_sequences"]),
             "reverse": bool(ctx.attrs["reverse"]),
             "linear_before_reset": bool(ctx.attrs["linear_before_reset"]),
             "carry": bool(ctx.attrs["carry_state"])}
    names = ["x", "w", "r", "wb", "rb", "h0"]
    params = [Param(n, src) for n, src in zip(names, ctx.node.inputs)]
    params.append(Param("y", ctx.node.outputs[0]))
    signature = [CParam(n, "float", const=not (sizes["carry"] and n == "h0")) for n in names] + \
        [CParam("y", "float"), CParam("scratch", "float")]
    return KernelPlan(params, c_template=lambda: templates.render(TEMPLATE, **sizes),
                      signature=signature, key=(templates.digest(TEMPLATE),),
                      scratch_bytes=5 * 4 * batch * hidden, math=("expf", "tanhf"),
                      states=("h0",) if sizes["carry"] else ())
