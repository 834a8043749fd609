"""16x8 (int16 activations, int8 weights, int64 bias) reference kernels against TFLite Micro,
op by op: every int16 code through LOGISTIC and TANH (every segment of the sigmoid table, both
of TFLM's input scalings), random tensors through the rest."""

import numpy as np
import pytest

from edgec.errors import EdgecError
from tests.refs import assert_matches_tflm, run_edgec_tflite, run_litert, run_tflm
from tests.tflite_builder import TFLiteBuilder

Q015 = (1 / 32768, 0)
EVERY_CODE = np.arange(-32768, 32768, dtype=np.int16).reshape(2, 32768)


def _unary(op, shape, in_q, out_q, in_dtype="int16", out_dtype="int16", **options):
    b = TFLiteBuilder()
    kw = [{} if q is None else dict(scale=q[0], zero_point=q[1]) for q in (in_q, out_q)]
    x = b.tensor("x", shape, in_dtype, **kw[0])
    y = b.tensor("y", shape, out_dtype, **kw[1])
    b.op(op, [x], [y], **options)
    return b.build(inputs=[x], outputs=[y])


def _int16(rng, shape, high=32768):
    return rng.integers(-high, high, shape).astype(np.int16)


@pytest.mark.parametrize("op", ["LOGISTIC", "TANH"])
@pytest.mark.parametrize("scale", [2.0 ** -12, 2.0 ** -11, 2.0 ** -9, 3.1e-4, 1.7e-3, 9e-5])
def test_lut_ops_every_code_match_tflm(op, scale):
    assert_matches_tflm(_unary(op, EVERY_CODE.shape, (scale, 0), Q015), [EVERY_CODE])


@pytest.mark.parametrize("op,out_q", [("RELU", (2.3e-4, 0)), ("RELU", (1e-4, 0)),
                                       ("RELU6", (3e-4, 0))])
def test_relu_every_code_matches_tflm(op, out_q):
    assert_matches_tflm(_unary(op, EVERY_CODE.shape, (3e-4, 0), out_q), [EVERY_CODE])


@pytest.mark.parametrize("seed", range(4))
def test_softmax_matches_tflm(seed):
    rng = np.random.default_rng(seed)
    scale, beta = float(10 ** rng.uniform(-4.5, -2.5)), [1.0, 0.5, 2.0, 1.0][seed]
    x = _int16(rng, (3, 7, 10), int(rng.integers(200, 32768)))
    assert_matches_tflm(_unary("SOFTMAX", x.shape, (scale, 0), Q015, beta=beta), [x])


def _conv_like(rng, op, bias_dtype, activation):
    b = TFLiteBuilder()
    c_in, c_out = 3, (6 if op == "DEPTHWISE_CONV_2D" else 5)
    if op == "FULLY_CONNECTED":
        x_shape, w_shape, y_shape = (2, 12), (c_out, 12), (2, c_out)
    elif op == "CONV_2D":
        x_shape, w_shape, y_shape = (1, 7, 6, c_in), (c_out, 3, 3, c_in), (1, 4, 3, c_out)
    else:
        x_shape, w_shape, y_shape = (1, 7, 6, c_in), (1, 3, 3, c_out), (1, 4, 3, c_out)
    axis = 3 if op == "DEPTHWISE_CONV_2D" else 0
    per_channel = op != "FULLY_CONNECTED" or rng.random() < 0.5
    n = w_shape[axis] if per_channel else 1
    w_scale = (10 ** rng.uniform(-3, -1, n)).astype(np.float32)
    x_scale, y_scale = float(10 ** rng.uniform(-4, -3)), float(10 ** rng.uniform(-4, -2.5))
    x = b.tensor("x", x_shape, "int16", scale=x_scale, zero_point=0)
    w = b.tensor("w", w_shape, "int8", data=rng.integers(-127, 128, w_shape), scale=w_scale,
                 zero_point=[0] * n, quantized_dimension=axis)
    bias = None
    if bias_dtype:
        bias = b.tensor("b", (c_out,), bias_dtype,
                        data=rng.integers(-(1 << 20), 1 << 20, c_out),
                        scale=np.float32(x_scale) * np.resize(w_scale, c_out),
                        zero_point=[0] * c_out)
    y = b.tensor("y", y_shape, "int16", scale=y_scale, zero_point=0)
    options = dict(fused_activation_function=activation)
    if op != "FULLY_CONNECTED":
        options.update(padding="SAME", stride_w=2, stride_h=2)
    if op == "DEPTHWISE_CONV_2D":
        options["depth_multiplier"] = 2
    b.op(op, [x, w, bias], [y], **options)
    return b.build(inputs=[x], outputs=[y]), x_shape


@pytest.mark.parametrize("op", ["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"])
@pytest.mark.parametrize("bias_dtype,activation", [("int64", "NONE"), ("int64", "RELU6"),
                                                   ("int32", "RELU"), (None, "NONE")])
def test_conv_like_match_tflm(op, bias_dtype, activation):
    rng = np.random.default_rng(len(op) * 7 + len(activation))
    model, x_shape = _conv_like(rng, op, bias_dtype, activation)
    if op == "DEPTHWISE_CONV_2D" and bias_dtype != "int64":
        # TFLM reads an int32 bias as int64 and crashes without one; LiteRT refuses both,
        # and so does edgec.
        with pytest.raises(EdgecError, match="int64 bias"):
            run_edgec_tflite(model, [_int16(rng, x_shape)])
        return
    assert_matches_tflm(model, [_int16(rng, x_shape)])


@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL"])
@pytest.mark.parametrize("seed", range(2))
def test_binary_match_tflm(op, seed):
    rng = np.random.default_rng(seed)
    b = TFLiteBuilder()
    shapes = [(1, 4, 5, 3), (1, 4, 5, 3) if seed == 0 else (1, 1, 5, 3)]
    scales = [float(10 ** rng.uniform(-4, -3)) for _ in range(3)]
    a = b.tensor("a", shapes[0], "int16", scale=scales[0], zero_point=0)
    c = b.tensor("c", shapes[1], "int16", scale=scales[1], zero_point=0)
    y = b.tensor("y", shapes[0], "int16", scale=scales[2], zero_point=0)
    b.op(op, [a, c], [y], fused_activation_function=["NONE", "RELU"][seed])
    model = b.build(inputs=[a, c], outputs=[y])
    assert_matches_tflm(model, [_int16(rng, s) for s in shapes])


@pytest.mark.parametrize("op", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
def test_pools_match_tflm(op):
    rng = np.random.default_rng(3)
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 7, 7, 4), "int16", scale=1e-3, zero_point=0)
    y = b.tensor("y", (1, 4, 4, 4), "int16", scale=1e-3, zero_point=0)
    b.op(op, [x], [y], padding="SAME", stride_w=2, stride_h=2, filter_width=3, filter_height=3,
         fused_activation_function="RELU6")
    assert_matches_tflm(b.build(inputs=[x], outputs=[y]), [_int16(rng, (1, 7, 7, 4))])


def test_mean_matches_tflm():
    rng = np.random.default_rng(4)
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 5, 6, 4), "int16", scale=2e-4, zero_point=0)
    axes = b.const("axes", [1, 2])
    y = b.tensor("y", (1, 4), "int16", scale=7e-5, zero_point=0)
    b.op("MEAN", [x, axes], [y], keep_dims=False)
    assert_matches_tflm(b.build(inputs=[x], outputs=[y]), [_int16(rng, (1, 5, 6, 4))])


@pytest.mark.parametrize("out_scale", [3e-3, 2e-4, 5e-5])
def test_sum_matches_tflm(out_scale):
    """SUM: QuantizedMeanOrSum on int16 (right shifts, equal scales, a left shift)."""
    rng = np.random.default_rng(6)
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 5, 6, 4), "int16", scale=2e-4, zero_point=0)
    axes = b.const("axes", [1, -1])
    y = b.tensor("y", (1, 1, 6, 1), "int16", scale=out_scale, zero_point=0)
    b.op("SUM", [x, axes], [y], keep_dims=True)
    assert_matches_tflm(b.build(inputs=[x], outputs=[y]), [_int16(rng, (1, 5, 6, 4), 4000)])


@pytest.mark.parametrize("in_dtype,out_dtype", [("float32", "int16"), ("int16", "int8"),
                                                ("int8", "int16"), ("int16", "int16")])
def test_quantize_matches_tflm(in_dtype, out_dtype):
    rng = np.random.default_rng(5)
    in_q = None if in_dtype == "float32" else (3e-3 if in_dtype == "int8" else 1e-4,
                                               -5 if in_dtype == "int8" else 0)
    model = _unary("QUANTIZE", (3, 50), in_q, (7e-5 if out_dtype == "int16" else 0.02,
                                               0 if out_dtype == "int16" else 4),
                   in_dtype, out_dtype)
    x = (rng.standard_normal((3, 50)) * 2).astype(np.float32) if in_dtype == "float32" \
        else rng.integers(np.iinfo(in_dtype).min, np.iinfo(in_dtype).max + 1, (3, 50)).astype(in_dtype)
    assert_matches_tflm(model, [x])


def test_dequantize_matches_tflm():
    model = _unary("DEQUANTIZE", EVERY_CODE.shape, (3.7e-4, 0), None, "int16", "float32")
    assert_matches_tflm(model, [EVERY_CODE])


@pytest.mark.parametrize("op", ["LOGISTIC", "SOFTMAX"])
def test_litert_reference_agrees_with_tflm(op):
    """Where TFLM and LiteRT's BUILTIN_REF kernels disagree, BUILTIN_REF decides: they agree."""
    x = EVERY_CODE if op == "LOGISTIC" else EVERY_CODE[:, :4096].reshape(64, 128)
    model = _unary(op, x.shape, (3.1e-4, 0), Q015)
    np.testing.assert_array_equal(run_tflm(model, [x])[0], run_litert(model, [x])[0])


def test_fully_connected_follows_tflm_where_litert_rounds_differently():
    """16x8 FULLY_CONNECTED: TFLM requantizes with the int64 ``MultiplyByQuantizedMultiplier``
    (multiplier reduced to 16 bits); LiteRT's BUILTIN_REF kernel does not, and differs by one
    in some outputs. TFLM is self-consistent here (its conv does the same), so edgec follows
    it, as for int8 FULLY_CONNECTED (see ../shared/models/README.md)."""
    rng = np.random.default_rng(9)
    b = TFLiteBuilder()
    x = b.tensor("x", (4, 128), "int16", scale=1e-4, zero_point=0)
    w = b.tensor("w", (64, 128), "int8", data=rng.integers(-127, 128, (64, 128)), scale=0.01,
                 zero_point=0)
    y = b.tensor("y", (4, 64), "int16", scale=3.3e-4, zero_point=0)
    b.op("FULLY_CONNECTED", [x, w, None], [y])
    model = b.build(inputs=[x], outputs=[y])
    x_data = _int16(rng, (4, 128))
    expected = assert_matches_tflm(model, [x_data])[0]
    assert (run_litert(model, [x_data])[0] != expected).any()


def test_conv_with_a_zero_point_is_refused():
    """TFLM's int16 conv ignores zero points; a non-zero one is refused, not guessed."""
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 4, 4, 2), "int16", scale=1e-3, zero_point=5)
    w = b.tensor("w", (3, 1, 1, 2), "int8", data=np.ones((3, 1, 1, 2)), scale=[0.01] * 3,
                 zero_point=[0] * 3)
    y = b.tensor("y", (1, 4, 4, 3), "int16", scale=1e-3, zero_point=0)
    b.op("CONV_2D", [x, w, None], [y], padding="VALID", stride_w=1, stride_h=1)
    model = b.build(inputs=[x], outputs=[y])
    with pytest.raises(EdgecError, match="zero points must be 0"):
        run_edgec_tflite(model, [np.zeros((1, 4, 4, 2), np.int16)])
