"""BATCH_MATMUL: ``x @ y`` over the last two axes (``adj_x`` / ``adj_y`` transpose them
first), leading batch axes broadcast as numpy does; both operands may be computed at run time.

int8 follows TFLite Micro's ``reference_ops::BatchMatMul`` (``batch_matmul.cc``): int32 sums
of ``(x - zp_x) * (y - zp_y)``, one ``MultiplyByQuantizedMultiplier`` by
``QuantizeMultiplier((double)s_x * s_y / s_out)``, plus the output zero point, clamped to int8
(the op has no fused activation).

Float: the products summed in float64, rounded once to float32 (TFLite sums in float32; the
results agree within float rounding).
"""

from __future__ import annotations

import numpy as np

from edgec.errors import EdgecError
from edgec.ir.quant import multiply_by_quantized_multiplier, quantize_multiplier, wrap32
from edgec.ir.registry import define_op, kernel


def _operand_dims(shape, adj: bool, left: bool):
    """(rows, columns) of an operand as it enters the product."""
    rows, cols = shape[-2], shape[-1]
    if adj:
        rows, cols = cols, rows
    return rows, cols


def _shape(node, ins):
    x, y = ins[0].shape, ins[1].shape
    if len(x) < 2 or len(y) < 2:
        raise EdgecError(f"node '{node.name}' (BATCH_MATMUL) multiplies {list(x)} by {list(y)}",
                         "both operands need at least two axes")
    m, k = _operand_dims(x, node.attrs["adj_x"], True)
    k2, n = _operand_dims(y, node.attrs["adj_y"], False)
    try:
        batch = np.broadcast_shapes(tuple(x[:-2]), tuple(y[:-2]))
    except ValueError:
        batch = None
    if k != k2 or batch is None:
        raise EdgecError(f"node '{node.name}' (BATCH_MATMUL): {list(x)} and {list(y)} "
                         f"(adj_x={node.attrs['adj_x']}, adj_y={node.attrs['adj_y']}) do not "
                         "multiply", "inner dimensions must agree and batch axes broadcast")
    return [(*batch, m, n)]


def _macs(node, ins, outs):
    x = ins[0].shape
    k = x[-2] if node.attrs["adj_x"] else x[-1]
    return int(np.prod(outs[0].shape)) * k


define_op("BATCH_MATMUL", attrs={"adj_x": False, "adj_y": False}, infer_shapes=_shape,
          macs=_macs, min_inputs=2, requantizes=True,
          doc="batched x @ y over the last two axes (adj_x / adj_y transpose an operand), "
              "batch axes broadcast")


def _operands(call, dtype):
    x, y = (v.astype(dtype) for v in call.inputs[:2])
    if call.attrs["adj_x"]:
        x = np.swapaxes(x, -1, -2)
    if call.attrs["adj_y"]:
        y = np.swapaxes(y, -1, -2)
    return x, y


def batch_matmul_multiplier(x_scale: float, y_scale: float, out_scale: float):
    """TFLM's ``QuantizeMultiplier((double)s_x * (double)s_y / (double)s_out)``."""
    s = [float(np.float32(v)) for v in (x_scale, y_scale, out_scale)]
    return quantize_multiplier(s[0] * s[1] / s[2])


@kernel("BATCH_MATMUL", "int8")
def batch_matmul_int8(call):
    qx, qy, qo = call.in_q(0), call.in_q(1), call.out_q()
    x, y = _operands(call, np.float64)
    # float64 is exact: |products| <= 255**2 and far fewer than 2**37 of them.
    acc = wrap32(np.matmul(x - qx.zp, y - qy.zp).astype(np.int64))
    mult, shift = batch_matmul_multiplier(qx.s, qy.s, qo.s)
    out = multiply_by_quantized_multiplier(acc, mult, shift) + qo.zp
    return [np.clip(out, -128, 127).astype(np.int8)]


@kernel("BATCH_MATMUL", "float32")
def batch_matmul_float(call):
    x, y = _operands(call, np.float64)
    return [np.matmul(x, y).astype(np.float32)]
