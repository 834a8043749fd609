"""AVERAGE_POOL_2D and MAX_POOL_2D over NHWC windows; taps in the padding are skipped.
``dilations`` (ONNX's; TFLite pools have none) space the taps as in a dilated convolution.

int8 follows TFLite Micro's ``reference_integer_ops::AveragePool`` / ``MaxPool``: the input and
output quantization must be equal, the average is the int32 sum of the raw values inside the
image divided by their count with rounding half away from zero
(``(sum +- count / 2) / count``, C division), and both results are clamped by the fused
activation computed from the output quantization. int16 is the same with int16 bounds.

MAX_POOL_2D also takes plain int8 / uint8 / int16 (ONNX MaxPool of integers; docs/IR.md
"Plain integers"): the largest value of each window, no activation.
"""

from __future__ import annotations

import numpy as np

from edgec.errors import EdgecError
from edgec.ir.ops._window import patches, valid_mask, window_output_shape
from edgec.ir.quant import activation_range, apply_float_activation
from edgec.ir.registry import REQUIRED, Channels, Ptq, define_op, kernel

POOL_ATTRS = {"filter": REQUIRED, "strides": (1, 1), "dilations": (1, 1), "pads": (0, 0, 0, 0),
              "activation": "NONE"}


def _shape(node, ins):
    x = ins[0]
    return [window_output_shape(x.shape, node.attrs["filter"], node.attrs["strides"],
                                node.attrs["dilations"], node.attrs["pads"], x.shape[3])]


PLAIN_MAX_POOL = ("plain_int8", "plain_uint8", "plain_int16")

for _name, _plain in (("AVERAGE_POOL_2D", ()), ("MAX_POOL_2D", PLAIN_MAX_POOL)):
    define_op(_name, attrs=dict(POOL_ATTRS), infer_shapes=_shape,
              doc=f"{_name.split('_')[0].lower()} over 2-D windows of NHWC x; padded taps skipped",
              channels=Channels.SAME, ptq=Ptq.SAME_AS_INPUT, ranks=(4,),
              dtypes=("float32", "int8", "int16", *_plain),
              tflite_dtypes=("float32", "int8", "int16"))


def _windows(call, fill):
    """``([N, OH, OW, KH*KW, C] windows, [1, OH, OW, KH*KW, 1] inside-the-image mask)``."""
    a = call.attrs
    x = call.inputs[0]
    args = (a["filter"], a["strides"], a["dilations"], a["pads"])
    cols = patches(x, *args, fill)
    mask = valid_mask(x.shape, *args)
    n, oh, ow = cols.shape[:3]
    return cols.reshape(n, oh, ow, -1, x.shape[3]), mask.reshape(1, oh, ow, -1, 1)


def _int8_clamp_range(call) -> tuple[int, int]:
    x_q, y_q = call.in_q(0), call.out_q()
    if abs(x_q.s - y_q.s) > 1e-6 or x_q.zp != y_q.zp:
        raise EdgecError(
            f"node '{call.node.name}' ({call.node.op}): integer pooling needs equal input and "
            f"output quantization, got {x_q} and {y_q}",
            "TFLite Micro has the same restriction; requantize with a QUANTIZE node")
    return activation_range(call.attrs["activation"], y_q.s, y_q.zp,
                            call.out_tensors[0].dtype)


@kernel("AVERAGE_POOL_2D", "int8", "int16")
def average_pool_2d_int8(call):
    lo, hi = _int8_clamp_range(call)
    cols, mask = _windows(call, 0)
    total = cols.astype(np.int64).sum(axis=3)
    count = mask.sum(axis=3).astype(np.int64)
    # C's (sum + count/2) / count for positive sums, (sum - count/2) / count otherwise,
    # both truncating toward zero: rounding half away from zero.
    half = count // 2
    rounded = np.where(total > 0, (total + half) // count, -((-total + half) // count))
    return [np.clip(rounded, lo, hi).astype(call.out_tensors[0].dtype)]


@kernel("MAX_POOL_2D", "int8", "int16")
def max_pool_2d_int8(call):
    lo, hi = _int8_clamp_range(call)
    dtype = call.out_tensors[0].dtype
    cols, _ = _windows(call, np.iinfo(dtype).min)
    return [np.clip(cols.max(axis=3), lo, hi).astype(dtype)]


@kernel("MAX_POOL_2D", *PLAIN_MAX_POOL)
def max_pool_2d_plain(call):
    if call.attrs["activation"] != "NONE":
        raise EdgecError(f"node '{call.node.name}' (MAX_POOL_2D): a fused activation on plain "
                         "integers is not supported", "clamp with MAXIMUM / MINIMUM")
    dtype = call.out_tensors[0].dtype
    cols, _ = _windows(call, np.iinfo(dtype).min)
    return [cols.max(axis=3).astype(dtype)]


@kernel("AVERAGE_POOL_2D", "float32")
def average_pool_2d_float(call):
    cols, mask = _windows(call, 0.0)
    # Summed in float32 in window order, as LiteRT and the generated C do: a window of
    # 3.4e38-sized values overflows to inf there too (a float64 sum would stay finite).
    acc = np.zeros(cols[:, :, :, 0].shape, np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(cols.shape[3]):
            acc += cols[:, :, :, k].astype(np.float32)
        out = (acc / mask.sum(axis=3)).astype(np.float32)
    return [apply_float_activation(out, call.attrs["activation"])]


@kernel("MAX_POOL_2D", "float32")
def max_pool_2d_float(call):
    cols, _ = _windows(call, -np.inf)
    out = cols.max(axis=3)
    return [apply_float_activation(out.astype(np.float32), call.attrs["activation"])]
