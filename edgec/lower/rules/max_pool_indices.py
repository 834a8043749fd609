"""MAX_POOL_2D_INDICES (float32) as a C template (``templates/kernels/
max_pool_indices_float.c.j2``): an argmax over each window, which TE has no plain reduction
for (a first-maximum index is a two-value reduction); four nested loops and a tap loop."""

from __future__ import annotations

from edgec.cdefs import CParam
from edgec.lower import templates
from edgec.lower.registry import KernelPlan, Param, lowering_rule

TEMPLATE = "max_pool_indices_float.c.j2"


@lowering_rule("MAX_POOL_2D_INDICES", "float32")
def max_pool_indices_float(ctx) -> KernelPlan:
    """float32 MAX_POOL_2D_INDICES, ONNX MaxPool's Indices."""
    a = ctx.attrs
    n, h, w, c = ctx.ins[0].shape
    _, _, oh, ow = ctx.outs[0].shape
    sizes = {"batch": n, "height": h, "width": w, "channels": c, "out_h": oh, "out_w": ow,
             "kernel_h": a["filter"][0], "kernel_w": a["filter"][1],
             "stride_h": a["strides"][0], "stride_w": a["strides"][1],
             "dilation_h": a["dilations"][0], "dilation_w": a["dilations"][1],
             "pad_top": a["pads"][0], "pad_left": a["pads"][1],
             "storage_order": int(a["storage_order"])}
    params = [Param("x", ctx.node.inputs[0]), Param("y", ctx.node.outputs[0])]
    signature = [CParam("x", "float", const=True), CParam("y", "int32_t")]
    return KernelPlan(params, c_template=lambda: templates.render(TEMPLATE, **sizes),
                      signature=signature, key=(templates.digest(TEMPLATE),))
