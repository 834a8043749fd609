"""MAX_POOL_2D_INDICES: where each MAX_POOL_2D maximum comes from, as ONNX MaxPool's second
output (``Indices``) gives it.

Over the same windows as MAX_POOL_2D of NHWC ``x`` (taps in the padding skipped), the output
``[N, C, OH, OW]`` (ONNX order, int32) holds the index of the first largest tap in the input
seen as a flat NCHW array: ``(n * C + c) * H * W + h * W + w``, or with ``storage_order`` 1
(column major) ``(n * C + c) * H * W + h + w * H``. A window with no tap inside the input
gives -1. float32 only; TFLite has no builtin for it and edgec's PTQ does not quantize it."""

from __future__ import annotations

import numpy as np

from edgec.ir.ops._window import window_output_shape
from edgec.ir.registry import REQUIRED, Ptq, define_op, kernel

ATTRS = {"filter": REQUIRED, "strides": (1, 1), "dilations": (1, 1), "pads": (0, 0, 0, 0),
         "storage_order": 0}


def _shape(node, ins):
    x = ins[0]
    n, oh, ow, c = window_output_shape(x.shape, node.attrs["filter"], node.attrs["strides"],
                                       node.attrs["dilations"], node.attrs["pads"], x.shape[3])
    return [(n, c, oh, ow)]


define_op("MAX_POOL_2D_INDICES", attrs=ATTRS, infer_shapes=_shape,
          doc="flat NCHW index of each 2-D max-pool window's first maximum (int32, NCHW out)",
          ranks=(4,), dtypes=("float32",), retypes=True, converts=True, ptq=Ptq.UNSUPPORTED,
          exempt={"export": "TFLite has no builtin for pooling indices (MaxPoolWithArgmax "
                            "is a custom op)",
                  "frontend": "no TFLite builtin: it comes from ONNX MaxPool's Indices"})


@kernel("MAX_POOL_2D_INDICES", "float32")
def max_pool_indices(call):
    a = call.attrs
    x = call.inputs[0].astype(np.float32)
    n, h, w, c = x.shape
    _, _, oh, ow = call.out_tensors[0].shape
    (kh, kw), (sh, sw), (dh, dw) = a["filter"], a["strides"], a["dilations"]
    top_pad, left_pad = a["pads"][:2]
    plane = (np.arange(n).reshape(n, 1) * c + np.arange(c).reshape(1, c)) * (h * w)
    out = np.full((n, c, oh, ow), -1, np.int32)
    for oy in range(oh):
        for ox in range(ow):
            best = np.full((n, c), -1, np.int64)
            top = np.zeros((n, c), np.float32)
            for ky in range(kh):
                iy = oy * sh + ky * dh - top_pad
                for kx in range(kw):
                    ix = ox * sw + kx * dw - left_pad
                    if not (0 <= iy < h and 0 <= ix < w):
                        continue
                    v = x[:, iy, ix, :]
                    take = (best < 0) | (v > top)  # the first maximum; NaN compares false
                    top = np.where(take, v, top)
                    best = np.where(take, iy * w + ix if a["storage_order"] == 0
                                    else iy + ix * h, best)
            out[:, :, oy, ox] = np.where(best < 0, -1, plane + best)
    return [out]
