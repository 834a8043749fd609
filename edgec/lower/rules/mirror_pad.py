"""MIRROR_PAD, any dtype: ``y[i] = x[src(i)]``, each axis's source index a select on where
``i`` falls (before, inside, after the input), as ``edgec.ir.ops.mirror_pad.source_index``."""

from __future__ import annotations

from edgec.lower.registry import Built, KernelPlan, Param, lowering_rule
from edgec.lower.rules._te import placeholder
from edgec.lower.rules.layout import ANY_DTYPES


def _source(i, before: int, n: int, mode: str):
    """The TIR source index along one axis of output index ``i``."""
    from tvm import tirx

    u = i - before
    if mode == "WRAP":  # u + k * n >= 0 for every output index: C's % is the modulo
        return tirx.truncmod(u + (-(-before // n)) * n, n)
    low = {"REFLECT": -u, "SYMMETRIC": -u - 1, "EDGE": tirx.const(0, "int32")}[mode]
    high = {"REFLECT": 2 * n - 2 - u, "SYMMETRIC": 2 * n - 1 - u,
            "EDGE": tirx.const(n - 1, "int32")}[mode]
    return tirx.Select(u < 0, low, tirx.Select(u >= n, high, u))


@lowering_rule("MIRROR_PAD", *ANY_DTYPES)
def mirror_pad(ctx) -> KernelPlan:
    """MIRROR_PAD: a gather whose indices are computed, no data-dependent reads."""
    x_t, y_t, mode = ctx.ins[0], ctx.outs[0], ctx.attrs["mode"]
    pads = [tuple(int(v) for v in p) for p in ctx.attrs["pads"]]

    def build() -> Built:
        from tvm import te

        x = placeholder(x_t.shape, x_t.dtype, "x")

        def value_at(*i):
            return x[tuple(i[d] if pads[d] == (0, 0) else _source(i[d], pads[d][0], n, mode)
                           for d, n in enumerate(x_t.shape))]

        y = te.compute(y_t.shape, value_at, name="y")
        return Built([x, y], lambda sch: None)

    return KernelPlan([Param("x", ctx.node.inputs[0]), Param("y", ctx.node.outputs[0])],
                      build=build)
