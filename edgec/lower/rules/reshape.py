"""RESHAPE: a flat copy (NHWC data is contiguous, so a reshape moves no element).

Every RESHAPE gets a kernel so that ``lower_graph`` stays one kernel per node; the memory
planner may alias output to input and drop the call.
"""

from __future__ import annotations

from edgec.ir.registry import MOVE_DTYPES
from edgec.lower.registry import Built, KernelPlan, Param, lowering_rule
from edgec.lower.rules._te import placeholder

COPY_DTYPES = MOVE_DTYPES


@lowering_rule("RESHAPE", *COPY_DTYPES)
def reshape(ctx) -> KernelPlan:
    """RESHAPE as ``y[i] = x[i]`` over the flat element count."""
    size, dtype = ctx.outs[0].size, ctx.outs[0].dtype

    def build() -> Built:
        from tvm import te

        x = placeholder((size,), dtype, "x")
        y = te.compute((size,), lambda i: x[i], name="y")
        return Built([x, y], lambda sch: None)

    return KernelPlan([Param("x", ctx.node.inputs[0]), Param("y", ctx.node.outputs[0])],
                      build=build)
