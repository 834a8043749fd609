"""Per-op quantization rules in TFLite's conventions: which output quantization an op must
have, and which of its inputs are weights.

Anything not listed here takes its output quantization from calibration.
"""

from __future__ import annotations

# Ops whose int8 output quantization TFLite fixes: (scale, zero point).
FIXED_OUTPUT = {
    "SOFTMAX": (1.0 / 256.0, -128),
    "LOGISTIC": (1.0 / 256.0, -128),
    "TANH": (1.0 / 128.0, 0),
}

# Ops that only move or select values: the output shares the input's quantization (TFLite
# Micro's int8 kernels for them copy bytes and do not rescale).
SAME_AS_INPUT = {"MAX_POOL_2D", "AVERAGE_POOL_2D", "RESHAPE", "PAD", "TRANSPOSE",
                 "SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND"}

# Ops whose inputs and output must all share one quantization (TFLite Micro's int8
# CONCATENATION copies bytes): the output covers the union of the inputs' ranges.
SHARED_INPUTS = {"CONCATENATION"}

# Ops with weights: the weights' per-channel axis (output channels). Input 1 holds the
# weights, input 2 the optional bias.
WEIGHT_AXIS = {"CONV_2D": 0, "DEPTHWISE_CONV_2D": 3, "FULLY_CONNECTED": 0}

# Ops that can take int4 weights (TFLite Micro unpacks int4 filters for exactly these).
INT4_OPS = tuple(WEIGHT_AXIS)

# Ops that can take ternary weights (edgec's own kernels: no TFLM reference, see docs/IR.md).
TERNARY_OPS = tuple(WEIGHT_AXIS)

# Ops the float graph may not already contain.
NOT_FLOAT = {"QUANTIZE", "DEQUANTIZE"}
