"""A test-only TFLite flatbuffer writer built on the ``tflite`` package's generated builders.

Tests describe a model tensor by tensor and op by op; ``build`` serialises it into the bytes a
``.tflite`` file holds, which TFLite Micro, LiteRT and edgec's frontend all load::

    b = TFLiteBuilder()
    x = b.tensor("x", (1, 8, 8, 3), "int8", scale=0.1, zero_point=3)
    w = b.tensor("w", (4, 3, 3, 3), "int8", data=w_arr, scale=w_scales, zero_point=[0] * 4)
    y = b.tensor("y", (1, 8, 8, 4), "int8", scale=0.2, zero_point=-5)
    b.op("CONV_2D", [x, w, None], [y], padding="SAME", stride_w=1, stride_h=1)
    model_bytes = b.build(inputs=[x], outputs=[y])

``op`` takes the BuiltinOperator name and the fields of that operator's ``*Options`` table as
snake_case keywords; enum fields take the enum member's name (``padding="SAME"``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

import flatbuffers
import numpy as np
import tflite

# Builtin operator -> the name of its options table, where the name is not derivable.
OPTIONS_TABLE = {
    "CONV_2D": "Conv2DOptions",
    "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
    "FULLY_CONNECTED": "FullyConnectedOptions",
    "AVERAGE_POOL_2D": "Pool2DOptions",
    "MAX_POOL_2D": "Pool2DOptions",
    "ADD": "AddOptions",
    "SUB": "SubOptions",
    "MUL": "MulOptions",
    "CONCATENATION": "ConcatenationOptions",
    "RESHAPE": "ReshapeOptions",
    "SQUEEZE": "SqueezeOptions",
    "EXPAND_DIMS": "ExpandDimsOptions",
    "PAD": "PadOptions",
    "PADV2": "PadV2Options",
    "MEAN": "ReducerOptions",
    "SUM": "ReducerOptions",
    "SOFTMAX": "SoftmaxOptions",
    "QUANTIZE": "QuantizeOptions",
    "DEQUANTIZE": "DequantizeOptions",
    "TRANSPOSE": "TransposeOptions",
    "SPACE_TO_BATCH_ND": "SpaceToBatchNDOptions",
    "BATCH_TO_SPACE_ND": "BatchToSpaceNDOptions",
    "SHAPE": "ShapeOptions",
    "STRIDED_SLICE": "StridedSliceOptions",
    "PACK": "PackOptions",
    "GATHER": "GatherOptions",
    "CAST": "CastOptions",
    "SLICE": "SliceOptions",
    "LEAKY_RELU": "LeakyReluOptions",
}

# Options fields whose value is an enum, and the enum's class in the schema.
ENUM_FIELDS = {
    "padding": "Padding",
    "fused_activation_function": "ActivationFunctionType",
    "weights_format": "FullyConnectedOptionsWeightsFormat",
    "quantized_bias_type": "TensorType",
    "out_type": "TensorType",
    "in_data_type": "TensorType",
    "out_data_type": "TensorType",
}

# Ops without an options table (RELU, LOGISTIC, ...) simply have no entry above.
_PLACEHOLDER_FOR_GREATER_OP_CODES = 127


def _camel(snake: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in snake.split("_"))


def tensor_type(dtype: str) -> int:
    """The schema's TensorType code of a numpy dtype name (``"int8"`` -> ``INT8``)."""
    name = {"float32": "FLOAT32", "bool": "BOOL"}.get(dtype, dtype.upper())
    return getattr(tflite.TensorType, name)


@dataclass
class _Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: str
    data: np.ndarray | None
    scale: list[float] | None
    zero_point: list[int] | None
    quantized_dimension: int
    shape_signature: tuple[int, ...] | None


@dataclass
class _Op:
    name: str
    inputs: list[int]
    outputs: list[int]
    options: dict[str, Any] = field(default_factory=dict)
    version: int = 1


class TFLiteBuilder:
    """Collects tensors and operators of one subgraph; ``build`` returns the model bytes."""

    def __init__(self):
        self._tensors: list[_Tensor] = []
        self._ops: list[_Op] = []

    def tensor(self, name: str, shape, dtype: str, data=None, scale=None, zero_point=None,
               quantized_dimension: int = 0, shape_signature=None) -> int:
        """Add a tensor and return its index. ``data`` makes it a constant (with a buffer).

        ``scale``/``zero_point`` may be scalars (per-tensor) or lists (per-axis along
        ``quantized_dimension``); a missing zero point is 0. Float tensors omit both.
        """
        if data is not None:
            data = np.ascontiguousarray(np.asarray(data, dtype=dtype).reshape(shape))
        scales = None if scale is None else [float(s) for s in np.atleast_1d(scale)]
        zps = None
        if scales is not None:
            zps = [0] * len(scales) if zero_point is None else \
                [int(z) for z in np.atleast_1d(zero_point)]
        self._tensors.append(_Tensor(name, tuple(int(d) for d in shape), dtype, data, scales, zps,
                                     quantized_dimension,
                                     None if shape_signature is None else tuple(shape_signature)))
        return len(self._tensors) - 1

    def const(self, name: str, values, dtype: str = "int32") -> int:
        """A constant parameter tensor (reshape shape, pad amounts, axes...) from a list."""
        arr = np.asarray(values, dtype=dtype)
        return self.tensor(name, arr.shape, dtype, data=arr)

    def op(self, name: str, inputs, outputs, version: int = 1, **options) -> None:
        """Add operator ``name`` (a BuiltinOperator name) reading ``inputs`` (None = absent
        optional input) and writing ``outputs``; keywords are its options table's fields."""
        if not hasattr(tflite.BuiltinOperator, name):
            raise ValueError(f"unknown TFLite builtin operator {name}")
        if options and name not in OPTIONS_TABLE:
            raise ValueError(f"{name} has no options table known to the builder")
        ins = [-1 if i is None else int(i) for i in inputs]
        self._ops.append(_Op(name, ins, [int(o) for o in outputs], dict(options), version))

    def build(self, inputs, outputs) -> bytes:
        """Serialise the model with subgraph inputs/outputs given as tensor indices."""
        fb = flatbuffers.Builder(1024)
        op_names = list(dict.fromkeys(op.name for op in self._ops))
        buffers, buffer_of = self._buffers(fb)
        tensors = [self._write_tensor(fb, t, buffer_of.get(i, 0)) for i, t in enumerate(self._tensors)]
        operators = [self._write_op(fb, op, op_names.index(op.name)) for op in self._ops]
        subgraph = self._write_subgraph(fb, tensors, operators, inputs, outputs)
        codes = [self._write_opcode(fb, name, max(o.version for o in self._ops if o.name == name))
                 for name in op_names]
        description = fb.CreateString("edgec test model")
        model = importlib.import_module("tflite.Model")
        vectors = [_offsets(fb, model.StartOperatorCodesVector, codes),
                   _offsets(fb, model.StartSubgraphsVector, [subgraph]),
                   _offsets(fb, model.StartBuffersVector, buffers)]
        model.Start(fb)
        model.AddVersion(fb, 3)
        model.AddOperatorCodes(fb, vectors[0])
        model.AddSubgraphs(fb, vectors[1])
        model.AddDescription(fb, description)
        model.AddBuffers(fb, vectors[2])
        fb.Finish(model.End(fb), file_identifier=b"TFL3")
        return bytes(fb.Output())

    # -- serialisation helpers -----------------------------------------------------------

    def _buffers(self, fb):
        """Buffer 0 is the empty sentinel; every constant gets its own buffer."""
        mod = importlib.import_module("tflite.Buffer")
        offsets, buffer_of = [], {}
        mod.Start(fb)
        offsets.append(mod.End(fb))
        for i, t in enumerate(self._tensors):
            if t.data is None:
                continue
            raw = t.data.tobytes()
            data = _aligned_bytes(fb, raw)
            mod.Start(fb)
            mod.AddData(fb, data)
            offsets.append(mod.End(fb))
            buffer_of[i] = len(offsets) - 1
        return offsets, buffer_of

    def _write_tensor(self, fb, t: _Tensor, buffer: int) -> int:
        mod = importlib.import_module("tflite.Tensor")
        name = fb.CreateString(t.name)
        shape = fb.CreateNumpyVector(np.asarray(t.shape, np.int32))
        signature = None if t.shape_signature is None else \
            fb.CreateNumpyVector(np.asarray(t.shape_signature, np.int32))
        quant = self._write_quant(fb, t) if t.scale is not None else None
        mod.Start(fb)
        mod.AddShape(fb, shape)
        mod.AddType(fb, tensor_type(t.dtype))
        mod.AddBuffer(fb, buffer)
        mod.AddName(fb, name)
        if quant is not None:
            mod.AddQuantization(fb, quant)
        if signature is not None:
            mod.AddShapeSignature(fb, signature)
        return mod.End(fb)

    @staticmethod
    def _write_quant(fb, t: _Tensor) -> int:
        mod = importlib.import_module("tflite.QuantizationParameters")
        scale = fb.CreateNumpyVector(np.asarray(t.scale, np.float32))
        zero_point = fb.CreateNumpyVector(np.asarray(t.zero_point, np.int64))
        mod.Start(fb)
        mod.AddScale(fb, scale)
        mod.AddZeroPoint(fb, zero_point)
        mod.AddQuantizedDimension(fb, t.quantized_dimension)
        return mod.End(fb)

    @staticmethod
    def _write_op(fb, op: _Op, opcode_index: int) -> int:
        mod = importlib.import_module("tflite.Operator")
        inputs = fb.CreateNumpyVector(np.asarray(op.inputs, np.int32))
        outputs = fb.CreateNumpyVector(np.asarray(op.outputs, np.int32))
        table = OPTIONS_TABLE.get(op.name)
        options = _write_options(fb, table, op.options) if table else None
        mod.Start(fb)
        mod.AddOpcodeIndex(fb, opcode_index)
        mod.AddInputs(fb, inputs)
        mod.AddOutputs(fb, outputs)
        if options is not None:
            mod.AddBuiltinOptionsType(fb, getattr(tflite.BuiltinOptions, table))
            mod.AddBuiltinOptions(fb, options)
        return mod.End(fb)

    @staticmethod
    def _write_subgraph(fb, tensors, operators, inputs, outputs) -> int:
        mod = importlib.import_module("tflite.SubGraph")
        t_vec = _offsets(fb, mod.StartTensorsVector, tensors)
        o_vec = _offsets(fb, mod.StartOperatorsVector, operators)
        in_vec = fb.CreateNumpyVector(np.asarray(inputs, np.int32))
        out_vec = fb.CreateNumpyVector(np.asarray(outputs, np.int32))
        name = fb.CreateString("main")
        mod.Start(fb)
        mod.AddTensors(fb, t_vec)
        mod.AddInputs(fb, in_vec)
        mod.AddOutputs(fb, out_vec)
        mod.AddOperators(fb, o_vec)
        mod.AddName(fb, name)
        return mod.End(fb)

    @staticmethod
    def _write_opcode(fb, name: str, version: int) -> int:
        mod = importlib.import_module("tflite.OperatorCode")
        code = getattr(tflite.BuiltinOperator, name)
        mod.Start(fb)
        # Codes above 127 live only in builtin_code; the deprecated byte holds the placeholder.
        mod.AddDeprecatedBuiltinCode(fb, min(code, _PLACEHOLDER_FOR_GREATER_OP_CODES))
        mod.AddBuiltinCode(fb, code)
        mod.AddVersion(fb, version)
        return mod.End(fb)


def _write_options(fb, table: str, options: dict[str, Any]) -> int:
    """Write an options table generically: each keyword maps to ``Add<CamelCaseField>``."""
    mod = importlib.import_module(f"tflite.{table}")
    vectors = {}
    for key, value in options.items():
        if hasattr(mod, f"Start{_camel(key)}Vector"):
            vectors[key] = fb.CreateNumpyVector(np.asarray(value, np.int32))
    mod.Start(fb)
    for key, value in options.items():
        adder = getattr(mod, f"Add{_camel(key)}", None)
        if adder is None:
            fields = sorted(n[3:] for n in dir(mod) if n.startswith("Add"))
            raise ValueError(f"{table} has no field '{key}' (fields: {fields})")
        if key in vectors:
            value = vectors[key]
        elif isinstance(value, str):
            value = getattr(getattr(tflite, ENUM_FIELDS[key]), value)
        adder(fb, value)
    return mod.End(fb)


def _offsets(fb, start_vector, offsets) -> int:
    """A vector of table offsets (written back to front, as flatbuffers requires)."""
    start_vector(fb, len(offsets))
    for off in reversed(offsets):
        fb.PrependUOffsetTRelative(off)
    return fb.EndVector()


def _aligned_bytes(fb, raw: bytes) -> int:
    """A byte vector whose data starts 16-byte aligned (constant tensors are read in place)."""
    fb.StartVector(1, len(raw), 16)
    fb.head -= len(raw)
    fb.Bytes[fb.head:fb.head + len(raw)] = raw
    return fb.EndVector()
