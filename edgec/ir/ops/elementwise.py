"""ADD, SUB, MUL (and float DIV): two inputs with numpy broadcasting, a fused activation.

int8 ADD and SUB follow TFLite Micro's ``reference_integer_ops::AddFunc`` and
``reference_ops::SubElementwise``: both inputs, minus their zero points, are shifted left by 20
bits, brought to a common scale (twice the larger input scale) with their own multipliers,
added or subtracted, then scaled to the output. All three multipliers come from
``QuantizeMultiplierSmallerThanOneExp`` and are applied with double rounding. The real
multipliers are computed in double precision for both ops: TFLM's ``sub_common.cc`` reads as
if SUB divided in float32, but the TFLM (and LiteRT) builds we test against give the double
results, which the exhaustive-grid tests in tests/ops/test_elementwise.py pin down.

int8 MUL follows ``reference_integer_ops::MulElementwise``: the product of the offset inputs
times ``s1 * s2 / s_out`` (double) via ``MultiplyByQuantizedMultiplier``.

int16 ADD, SUB and MUL are the same code in TFLM with int16 bounds and a left shift of 15
(``reference_ops::AddGeneralParamScale``; LiteRT's power-of-two int16 path is not TFLM's).

int8 DIV follows TFLM's ``div.cc`` + ``reference_ops::DivElementwise``: Prepare quantizes
``(double)(s1 / (s2 * s_out))`` (float32 arithmetic) with ``QuantizeMultiplier``; per element
``a = q1 - zp1``, ``b = q2 - zp2`` (both negated when ``b < 0``), ``(inv, recip_shift) =
GetReciprocal(b, 31)``, ``headroom = CountLeadingSignBits(a)``, ``SRDHM(a << headroom, inv)``,
then ``MultiplyByQuantizedMultiplierSmallerThanOneExp`` by the output multiplier with shift
``output_shift - recip_shift - headroom``, plus the output zero point, clamped by the
activation. A zero divisor (``q2 == zp2``) is not defined by TFLM (a debug check); edgec gives
what the arithmetic gives with ``GetReciprocal(0)``, as TFLM's release build on x86 does.

Float: the float32 result of ``a op b``, clamped by the activation.

Plain integer DIV (ONNX's Div on integer tensors) truncates toward zero, as C99's ``/``, ONNX's
reference evaluator and onnxruntime. The two cases C leaves undefined get a defined answer:
``x / 0`` is 0 (the ONNX reference evaluator's answer; onnxruntime fails the run) and
``MIN / -1`` is MIN (the true quotient wrapped around, as ``0 - MIN`` wraps; the reference
evaluator's answer; onnxruntime's int32 / int64 division dies of SIGFPE there).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgec.errors import EdgecError
from edgec.ir.graph import PLAIN_INT_KEYS
from edgec.ir.quant import (activation_range, apply_float_activation,
                            multiply_by_quantized_multiplier, quantize_multiplier, wrap32)
from edgec.ir.registry import Channels, define_op, kernel

ADD_SUB_LEFT_SHIFT = 20  # TFLM's headroom for int8 inputs
ADD_SUB_LEFT_SHIFTS = {"int8": ADD_SUB_LEFT_SHIFT, "int16": 15}  # per input dtype


def _shape(node, ins):
    a, b = ins[0], ins[1]
    try:
        return [tuple(np.broadcast_shapes(a.shape, b.shape))]
    except ValueError:
        raise EdgecError(f"node '{node.name}' ({node.op}): shapes {list(a.shape)} and "
                         f"{list(b.shape)} do not broadcast",
                         "the two inputs must agree in each trailing dimension or be 1 there")


for _op, _what in (("ADD", "a + b"), ("SUB", "a - b"), ("MUL", "a * b")):
    define_op(_op, attrs={"activation": "NONE"}, infer_shapes=_shape,
              doc=f"elementwise {_what} with numpy broadcasting and a fused activation",
              elementwise=True, channels=Channels.CONST_OPERAND, min_inputs=2,
              requantizes=True, dtypes=("float32", "int8", "int16", *PLAIN_INT_KEYS),
              tflite_dtypes=("float32", "int8", "int16", "int32", "int64"))

define_op("DIV", attrs={"activation": "NONE"}, infer_shapes=_shape,
          doc="elementwise a / b with numpy broadcasting (float32, fused activation; plain "
              "integers truncate toward zero, x / 0 is 0)",
          elementwise=True, min_inputs=2, dtypes=("float32", "int8", *PLAIN_INT_KEYS),
          requantizes=True, tflite_dtypes=("float32", "int8", "int32"))


@dataclass(frozen=True)
class AddSubParams:
    """TFLM's integer ADD/SUB parameters (its ``OpDataAdd``/``OpDataSub``), shifts <= 0."""

    input1_offset: int
    input1_multiplier: int
    input1_shift: int
    input2_offset: int
    input2_multiplier: int
    input2_shift: int
    output_offset: int
    output_multiplier: int
    output_shift: int
    left_shift: int
    act_min: int
    act_max: int


def _smaller_than_one(real: float, what: str) -> tuple[int, int]:
    """``QuantizeMultiplierSmallerThanOneExp``, whose range check TFLM enforces at Prepare."""
    if not 0.0 < real < 1.0:
        raise EdgecError(f"{what} multiplier {real:g} is outside (0, 1), which TFLite Micro "
                         "rejects", "check the scales of the op's inputs and output")
    return quantize_multiplier(real)


def add_sub_params(op: str, q1, q2, q_out, activation: str,
                   dtype: str = "int8") -> AddSubParams:
    """Prepare-time parameters of int8 or int16 ADD or SUB from the three tensors'
    quantization (``op`` names the op in error messages)."""
    left_shift = ADD_SUB_LEFT_SHIFTS[dtype]
    twice_max = 2.0 * max(q1.s, q2.s)
    real1 = q1.s / twice_max
    real2 = q2.s / twice_max
    real_out = twice_max / ((1 << left_shift) * q_out.s)
    m1, sh1 = _smaller_than_one(real1, f"{op} input 1")
    m2, sh2 = _smaller_than_one(real2, f"{op} input 2")
    mo, sho = _smaller_than_one(real_out, f"{op} output")
    lo, hi = activation_range(activation, q_out.s, q_out.zp, dtype)
    return AddSubParams(-q1.zp, m1, sh1, -q2.zp, m2, sh2, q_out.zp, mo, sho, left_shift, lo, hi)


def check_int16_mul(node, q1, q2, q_out, dtype: str) -> None:
    """TFLM's int16 MUL requires zero points 0 (its Prepare checks them)."""
    if dtype == "int16" and (q1.zp, q2.zp, q_out.zp) != (0, 0, 0):
        raise EdgecError(f"MUL '{node.name}': int16 zero points must be 0, found "
                         f"{q1.zp}, {q2.zp} -> {q_out.zp}", "TFLite Micro requires the same")


def mul_multiplier(q1, q2, q_out) -> tuple[int, int]:
    """int8 MUL's output multiplier and shift: ``(double)s1 * (double)s2 / (double)s_out``."""
    return quantize_multiplier(q1.s * q2.s / q_out.s)


def _add_sub_int8(call, sign: int) -> list[np.ndarray]:
    dtype = call.out_tensors[0].dtype
    p = add_sub_params(call.node.op, call.in_q(0), call.in_q(1), call.out_q(),
                       call.attrs["activation"], dtype)
    a = (call.inputs[0].astype(np.int64) + p.input1_offset) << p.left_shift
    b = (call.inputs[1].astype(np.int64) + p.input2_offset) << p.left_shift
    a = multiply_by_quantized_multiplier(a, p.input1_multiplier, p.input1_shift)
    b = multiply_by_quantized_multiplier(b, p.input2_multiplier, p.input2_shift)
    raw = wrap32(a + sign * b)
    out = multiply_by_quantized_multiplier(raw, p.output_multiplier, p.output_shift)
    return [np.clip(out + p.output_offset, p.act_min, p.act_max).astype(dtype)]


@kernel("ADD", "int8", "int16")
def add_int8(call):
    return _add_sub_int8(call, 1)


@kernel("SUB", "int8", "int16")
def sub_int8(call):
    return _add_sub_int8(call, -1)


@kernel("MUL", "int8", "int16")
def mul_int8(call):
    q1, q2, q_out = call.in_q(0), call.in_q(1), call.out_q()
    check_int16_mul(call.node, q1, q2, q_out, call.out_tensors[0].dtype)
    mult, shift = mul_multiplier(q1, q2, q_out)
    prod = (call.inputs[0].astype(np.int64) - q1.zp) * (call.inputs[1].astype(np.int64) - q2.zp)
    out = multiply_by_quantized_multiplier(prod, mult, shift) + q_out.zp
    dtype = call.out_tensors[0].dtype
    lo, hi = activation_range(call.attrs["activation"], q_out.s, q_out.zp, dtype)
    return [np.clip(out, lo, hi).astype(dtype)]


_FLOAT_FNS = {"ADD": np.add, "SUB": np.subtract, "MUL": np.multiply, "DIV": np.divide}


def div_multiplier(q1, q2, q_out) -> tuple[int, int]:
    """TFLM ``CalculateOpDataDiv``: ``QuantizeMultiplier((double)(s1 / (s2 * s_out)))`` with
    the quotient in float32."""
    real = np.float32(q1.s) / (np.float32(q2.s) * np.float32(q_out.s))
    mult, shift = quantize_multiplier(float(real))
    # -total_shift = headroom (23..31) + recip_shift (-1..7) - shift must lie in [0, 63]
    if not DIV_SHIFTS[0] <= shift <= DIV_SHIFTS[1]:
        raise EdgecError(f"int8 DIV: s1 / (s2 * s_out) = {float(real):g} is outside what TFLite "
                         "Micro's int8 DIV computes", "requantize the inputs or the output "
                         "so that the ratio lies between 2**-25 and 2**22")
    return mult, shift


DIV_SHIFTS = (-24, 22)  # the output shifts div_multiplier accepts


def count_leading_sign_bits(x) -> np.ndarray:
    """``CountLeadingSignBits`` of int32 values (``__builtin_clrsb``; 31 for 0)."""
    from edgec.ir.fixedpoint import count_leading_zeros32

    x = np.asarray(x, np.int64)
    return count_leading_zeros32(np.where(x < 0, ~x, x)) - 1


def div_int8_values(a, b, mult: int, shift: int) -> np.ndarray:
    """The int32 quotient of TFLM's ``DivElementwise`` before the output zero point, for
    offset inputs ``a`` and ``b`` (int64 arrays of int32 values)."""
    from edgec.ir.fixedpoint import get_reciprocal
    from edgec.ir.quant import rounding_divide_by_pot, saturating_rounding_doubling_high_mul

    negative = b < 0
    a, b = np.where(negative, -a, a), np.where(negative, -b, b)
    inv, recip_shift = get_reciprocal(b, 31)
    headroom = count_leading_sign_bits(a)
    unscaled = saturating_rounding_doubling_high_mul(wrap32(a << headroom), inv)
    x = saturating_rounding_doubling_high_mul(unscaled, mult)
    exponent = headroom + recip_shift - shift  # -total_shift, in [0, 63] (div_multiplier)
    # gemmlowp's RoundingDivideByPOT for exponents of 32 and more, as TFLM's x86 build runs
    # it: the mask (1ll << e) - 1 truncated to int32 is -1, and the int32 shift x >> e shifts
    # by e mod 32 (the shift instruction's count; undefined in C++).
    wide = exponent >= 32
    x86 = (x >> (exponent & 31)) + (x > -1 + (x < 0))
    return np.where(wide, x86, rounding_divide_by_pot(x, np.minimum(exponent, 31)))


@kernel("DIV", "int8")
def div_int8(call):
    q1, q2, q_out = call.in_q(0), call.in_q(1), call.out_q()
    mult, shift = div_multiplier(q1, q2, q_out)
    a = call.inputs[0].astype(np.int64) - int(q1.zp)
    b = call.inputs[1].astype(np.int64) - int(q2.zp)
    a, b = np.broadcast_arrays(a, b)
    out = div_int8_values(a, b, mult, shift) + int(q_out.zp)
    lo, hi = activation_range(call.attrs["activation"], q_out.s, q_out.zp, "int8")
    return [np.clip(out, lo, hi).astype(np.int8)]


@kernel("DIV", "float32")
@kernel("ADD", "float32")
@kernel("SUB", "float32")
@kernel("MUL", "float32")
def binary_float(call):
    a, b = (x.astype(np.float32) for x in call.inputs)
    with np.errstate(divide="ignore", invalid="ignore"):  # x / 0 is +-inf or NaN, as in C
        out = _FLOAT_FNS[call.node.op](a, b)
    return [apply_float_activation(out, call.attrs["activation"])]


def check_no_activation(call) -> None:
    """Plain integer ops have no fused activation (ONNX has none to fuse into them)."""
    if call.attrs.get("activation", "NONE") != "NONE":
        raise EdgecError(f"node '{call.node.name}' ({call.node.op}): a fused activation on "
                         f"plain {call.out_tensors[0].dtype} integers is not supported",
                         "apply the clamp as a separate MAXIMUM / MINIMUM")


# Plain integers (ONNX integer tensors, ``kernel_key`` ``plain_int8`` ... ``uint64``; docs/IR.md
# "Plain integers"): numpy's (and ONNX's) arithmetic in the tensor's type, wrapping around at
# its width; no activation.
@kernel("ADD", *PLAIN_INT_KEYS)
@kernel("SUB", *PLAIN_INT_KEYS)
@kernel("MUL", *PLAIN_INT_KEYS)
def binary_plain_int(call):
    check_no_activation(call)
    dtype = call.out_tensors[0].dtype
    a, b = (x.astype(dtype) for x in call.inputs)
    return [_FLOAT_FNS[call.node.op](a, b).astype(dtype)]  # numpy wraps integer overflow


def trunc_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Integer ``a / b`` truncated toward zero in ``a``'s type (same dtype, broadcast), with
    ``x / 0 == 0`` and ``MIN / -1 == MIN``: the division only ever sees a divisor other than
    0 and -1; -1 is a wrapping negation."""
    dtype = a.dtype
    a, b = np.broadcast_arrays(a, b.astype(dtype))
    zero = b == 0
    minus_one = (b == -1) if dtype.kind == "i" else np.zeros(b.shape, bool)
    safe = np.where(zero | minus_one, np.ones((), dtype), b)
    q = a // safe  # floor; a truncated quotient is one more when the signs differ and r != 0
    q = q + ((a % safe != 0) & ((a < 0) != (safe < 0))).astype(dtype)
    with np.errstate(over="ignore"):
        negated = np.zeros((), dtype) - a  # wraps: 0 - MIN == MIN
    return np.where(zero, np.zeros((), dtype), np.where(minus_one, negated, q)).astype(dtype)


@kernel("DIV", *PLAIN_INT_KEYS)
def div_plain_int(call):
    check_no_activation(call)
    dtype = call.out_tensors[0].dtype
    a, b = (np.asarray(x).astype(dtype) for x in call.inputs)
    return [trunc_div(a, b)]
