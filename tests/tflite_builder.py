"""A test-only front end to edgec's TFLite flatbuffer writer (``edgec.export.flatbuffer``).

Tests describe a model tensor by tensor and op by op; ``build`` serialises it into the bytes a
``.tflite`` file holds, which TFLite Micro, LiteRT and edgec's frontend all load::

    b = TFLiteBuilder()
    x = b.tensor("x", (1, 8, 8, 3), "int8", scale=0.1, zero_point=3)
    w = b.tensor("w", (4, 3, 3, 3), "int8", data=w_arr, scale=w_scales, zero_point=[0] * 4)
    y = b.tensor("y", (1, 8, 8, 4), "int8", scale=0.2, zero_point=-5)
    b.op("CONV_2D", [x, w, None], [y], padding="SAME", stride_w=1, stride_h=1)
    model_bytes = b.build(inputs=[x], outputs=[y])

``op`` takes the BuiltinOperator name and the fields of that operator's ``*Options`` table as
snake_case keywords; enum fields take the enum member's name (``padding="SAME"``). Unlike the
exporter, every operator with an options table (``OPTIONS_TABLES``) gets one, empty or not.
"""

from __future__ import annotations

import numpy as np
import tflite

from edgec.export.flatbuffer import ModelWriter, TfliteOp, TfliteTensor
from edgec.tflite_schema_names import OPTIONS_TABLES


def _type_name(dtype: str) -> str:
    """The schema's TensorType member name of a numpy dtype name (``"int8"`` -> ``INT8``)."""
    return {"float32": "FLOAT32", "bool": "BOOL"}.get(dtype, dtype.upper())


class TFLiteBuilder:
    """Collects tensors and operators of one subgraph; ``build`` returns the model bytes."""

    def __init__(self):
        self._writer = ModelWriter("edgec test model")

    def tensor(self, name: str, shape, dtype: str, data=None, scale=None, zero_point=None,
               quantized_dimension: int = 0, shape_signature=None,
               is_variable: bool = False) -> int:
        """Add a tensor and return its index. ``data`` makes it a constant (with a buffer).

        ``scale``/``zero_point`` may be scalars (per-tensor) or lists (per-axis along
        ``quantized_dimension``); a missing zero point is 0. Float tensors omit both.
        """
        shape = tuple(int(d) for d in shape)
        raw = None
        if data is not None:
            raw = np.ascontiguousarray(np.asarray(data, dtype=dtype).reshape(shape)).tobytes()
        signature = None if shape_signature is None else tuple(shape_signature)
        t = TfliteTensor(name, shape, _type_name(dtype), raw,
                         quantized_dimension=quantized_dimension, shape_signature=signature,
                         is_variable=is_variable)
        if scale is not None:
            t.scale = np.asarray([float(s) for s in np.atleast_1d(scale)], np.float32)
            t.zero_point = np.zeros(len(t.scale), np.int64) if zero_point is None else \
                np.asarray([int(z) for z in np.atleast_1d(zero_point)], np.int64)
        return self._writer.add_tensor(t)

    def const(self, name: str, values, dtype: str = "int32") -> int:
        """A constant parameter tensor (reshape shape, pad amounts, axes...) from a list."""
        arr = np.asarray(values, dtype=dtype)
        return self.tensor(name, arr.shape, dtype, data=arr)

    def op(self, name: str, inputs, outputs, version: int = 1, **options) -> None:
        """Add operator ``name`` (a BuiltinOperator name) reading ``inputs`` (None = absent
        optional input) and writing ``outputs``; keywords are its options table's fields."""
        if not hasattr(tflite.BuiltinOperator, name):
            raise ValueError(f"unknown TFLite builtin operator {name}")
        if options and name not in OPTIONS_TABLES:
            raise ValueError(f"{name} has no options table known to the builder")
        ins = [-1 if i is None else int(i) for i in inputs]
        self._writer.add_op(TfliteOp(name, ins, [int(o) for o in outputs],
                                     OPTIONS_TABLES.get(name), dict(options), version))

    def build(self, inputs, outputs) -> bytes:
        """Serialise the model with subgraph inputs/outputs given as tensor indices."""
        return self._writer.build(inputs, outputs)
