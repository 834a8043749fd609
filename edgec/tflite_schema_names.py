"""TFLite schema names shared by the reader (``edgec.frontends.tflite_schema``) and the
writer (``edgec.export``): one table each, both directions derived from it.
"""

from __future__ import annotations

import tflite

# TensorType member name <-> IR dtype; every IR dtype has one (a test checks).
DTYPES = {"FLOAT32": "float32", "INT8": "int8", "UINT8": "uint8", "INT16": "int16",
          "UINT16": "uint16", "INT32": "int32", "UINT32": "uint32", "INT64": "int64",
          "UINT64": "uint64", "BOOL": "bool", "INT4": "int4",
          "FLOAT16": "float16", "FLOAT64": "float64",  # plain floats (edgec.ir.floats)
          "BFLOAT16": "bfloat16"}
TENSOR_TYPES = {dtype: name for name, dtype in DTYPES.items()}

# Options fields whose integer value names a member of a schema enum: the reader gives the
# member's name, the writer takes it.
ENUM_FIELDS = {
    "padding": tflite.Padding,
    "fused_activation_function": tflite.ActivationFunctionType,
    "weights_format": tflite.FullyConnectedOptionsWeightsFormat,
    "mode": tflite.MirrorPadMode,
}
# Options fields holding a TensorType: the reader keeps the number, the writer also takes a
# member name ("INT32").
TENSOR_TYPE_FIELDS = ("quantized_bias_type", "out_type", "in_data_type", "out_data_type")

# Builtin operator -> the options table it carries (operators without one are absent).
OPTIONS_TABLES = {
    "CONV_2D": "Conv2DOptions",
    "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
    "FULLY_CONNECTED": "FullyConnectedOptions",
    "AVERAGE_POOL_2D": "Pool2DOptions",
    "MAX_POOL_2D": "Pool2DOptions",
    "ADD": "AddOptions",
    "SUB": "SubOptions",
    "MUL": "MulOptions",
    "DIV": "DivOptions",
    "CONCATENATION": "ConcatenationOptions",
    "RESHAPE": "ReshapeOptions",
    "SQUEEZE": "SqueezeOptions",
    "EXPAND_DIMS": "ExpandDimsOptions",
    "PAD": "PadOptions",
    "PADV2": "PadV2Options",
    "MEAN": "ReducerOptions",
    "SUM": "ReducerOptions",
    "REDUCE_MAX": "ReducerOptions",
    "REDUCE_ANY": "ReducerOptions",
    "SOFTMAX": "SoftmaxOptions",
    "QUANTIZE": "QuantizeOptions",
    "DEQUANTIZE": "DequantizeOptions",
    "TRANSPOSE": "TransposeOptions",
    "SPACE_TO_BATCH_ND": "SpaceToBatchNDOptions",
    "BATCH_TO_SPACE_ND": "BatchToSpaceNDOptions",
    "SHAPE": "ShapeOptions",
    "UNIDIRECTIONAL_SEQUENCE_LSTM": "UnidirectionalSequenceLSTMOptions",
    "SVDF": "SVDFOptions",
    "STRIDED_SLICE": "StridedSliceOptions",
    "PACK": "PackOptions",
    "GATHER": "GatherOptions",
    "CAST": "CastOptions",
    "SLICE": "SliceOptions",
    "LEAKY_RELU": "LeakyReluOptions",
    "TRANSPOSE_CONV": "TransposeConvOptions",
    "MIRROR_PAD": "MirrorPadOptions",
    "RESIZE_NEAREST_NEIGHBOR": "ResizeNearestNeighborOptions",
    "RESIZE_BILINEAR": "ResizeBilinearOptions",
    "BATCH_MATMUL": "BatchMatMulOptions",
    "SPLIT": "SplitOptions",
    "SPLIT_V": "SplitVOptions",
    "UNPACK": "UnpackOptions",
    "FILL": "FillOptions",
    "CALL_ONCE": "CallOnceOptions",
    "VAR_HANDLE": "VarHandleOptions",
}


def enum_names(enum_class) -> dict[int, str]:
    """A schema enum's ``{value: member name}``."""
    return {v: k for k, v in vars(enum_class).items() if not k.startswith("_")}


def enum_value(key: str, value):
    """The number an options field ``key`` stores for ``value`` (a member name or a number)."""
    if not isinstance(value, str):
        return value
    enum = tflite.TensorType if key in TENSOR_TYPE_FIELDS else ENUM_FIELDS[key]
    return getattr(enum, value)
