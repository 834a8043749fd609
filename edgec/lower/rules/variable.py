"""READ_VARIABLE and ASSIGN_VARIABLE as a C template (``templates/kernels/variable.c.j2``):
ASSIGN_VARIABLE writes its input 0, the variable's persistent state buffer, which TE cannot
express. The variable is declared in ``KernelPlan.states``: the emitter passes the static
buffer ``NAME_stateN`` that persists between calls and that ``NAME_reset()`` sets back to
the initial value (docs/IR.md "Recurrent state"), the mechanism SVDF's and a carried LSTM's
state use.
"""

from __future__ import annotations

from edgec.cdefs import C_TYPES, CParam
from edgec.ir.ops.variable import DTYPES, VALUE, VARIABLE
from edgec.lower import templates
from edgec.lower.registry import KernelPlan, Param, lowering_rule

TEMPLATE = "variable.c.j2"


def _plan(ctx, assign: bool) -> KernelPlan:
    ctype, size = C_TYPES[ctx.dtype], ctx.outs[0].size
    params = [Param("state", ctx.node.inputs[VARIABLE])]
    signature = [CParam("state", ctype, const=not assign)]
    if assign:
        params.append(Param("value", ctx.node.inputs[VALUE]))
        signature.append(CParam("value", ctype, const=True))
    params.append(Param("y", ctx.node.outputs[0]))
    signature.append(CParam("y", ctype))
    return KernelPlan(params, c_template=lambda: templates.render(TEMPLATE, size=size,
                                                                  assign=assign),
                      signature=signature, key=(templates.digest(TEMPLATE),),
                      states=("state",))


@lowering_rule("READ_VARIABLE", *DTYPES)
def read_variable(ctx) -> KernelPlan:
    """y = the variable's current value."""
    return _plan(ctx, assign=False)


@lowering_rule("ASSIGN_VARIABLE", *DTYPES)
def assign_variable(ctx) -> KernelPlan:
    """The variable (and y) = value."""
    return _plan(ctx, assign=True)
