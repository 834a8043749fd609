"""Single-op graphs, bit-exact on both emulated cores (the Cortex-M4F and the soft-float M3),
written as .tflite files with the test builder and checked by ``edgec verify --target``."""

import numpy as np
import pytest

from edgec.options import BuildOptions
from edgec.verify import verify
from tests.cortexm.toolchain import needs_qemu
from tests.tflite_builder import TFLiteBuilder

pytestmark = needs_qemu


def _weights(rng, shape):
    return rng.integers(-127, 128, shape).astype(np.int8)


def _bias(rng, n):
    return rng.integers(-3000, 3000, n).astype(np.int32)


def conv_2d(rng, b):
    x = b.tensor("x", (1, 8, 8, 3), "int8", scale=0.05, zero_point=-7)
    ws = rng.uniform(0.002, 0.02, 4)
    w = b.tensor("w", (4, 3, 3, 3), "int8", data=_weights(rng, (4, 3, 3, 3)), scale=ws)
    bias = b.tensor("b", (4,), "int32", data=_bias(rng, 4), scale=0.05 * ws)
    y = b.tensor("y", (1, 8, 8, 4), "int8", scale=0.04, zero_point=-128)
    b.op("CONV_2D", [x, w, bias], [y], padding="SAME", stride_h=1, stride_w=1,
         fused_activation_function="RELU")
    return [x], [y]


def depthwise_conv_2d(rng, b):
    x = b.tensor("x", (1, 7, 7, 4), "int8", scale=0.1, zero_point=3)
    ws = rng.uniform(0.005, 0.03, 8)
    w = b.tensor("w", (1, 3, 3, 8), "int8", data=_weights(rng, (1, 3, 3, 8)), scale=ws,
                 quantized_dimension=3)
    bias = b.tensor("b", (8,), "int32", data=_bias(rng, 8), scale=0.1 * ws)
    y = b.tensor("y", (1, 3, 3, 8), "int8", scale=0.08, zero_point=-2)
    b.op("DEPTHWISE_CONV_2D", [x, w, bias], [y], padding="VALID", stride_h=2, stride_w=2,
         depth_multiplier=2)
    return [x], [y]


def fully_connected(rng, b):
    x = b.tensor("x", (1, 40), "int8", scale=0.2, zero_point=11)
    w = b.tensor("w", (12, 40), "int8", data=_weights(rng, (12, 40)), scale=0.01)
    bias = b.tensor("b", (12,), "int32", data=_bias(rng, 12), scale=0.002)
    y = b.tensor("y", (1, 12), "int8", scale=0.5, zero_point=-5)
    b.op("FULLY_CONNECTED", [x, w, bias], [y])
    return [x], [y]


def add(rng, b):
    """Two inputs, so the harness goes through NAME_run rather than NAME_invoke."""
    x1 = b.tensor("x1", (1, 4, 4, 8), "int8", scale=0.07, zero_point=-20)
    x2 = b.tensor("x2", (1, 1, 1, 8), "int8", scale=0.03, zero_point=9)
    y = b.tensor("y", (1, 4, 4, 8), "int8", scale=0.09, zero_point=4)
    b.op("ADD", [x1, x2], [y], fused_activation_function="RELU6")
    return [x1, x2], [y]


def average_pool_2d(rng, b):
    x = b.tensor("x", (1, 6, 6, 5), "int8", scale=0.3, zero_point=-1)
    y = b.tensor("y", (1, 3, 3, 5), "int8", scale=0.3, zero_point=-1)
    b.op("AVERAGE_POOL_2D", [x], [y], padding="VALID", stride_h=2, stride_w=2,
         filter_height=2, filter_width=2)
    return [x], [y]


def softmax(rng, b):
    x = b.tensor("x", (1, 10), "int8", scale=0.25, zero_point=6)
    y = b.tensor("y", (1, 10), "int8", scale=1 / 256, zero_point=-128)
    b.op("SOFTMAX", [x], [y], beta=1.0)
    return [x], [y]


def fully_connected_float(rng, b):
    x = b.tensor("x", (1, 24), "float32")
    w = b.tensor("w", (6, 24), "float32", data=rng.normal(size=(6, 24)).astype(np.float32))
    bias = b.tensor("b", (6,), "float32", data=rng.normal(size=6).astype(np.float32))
    y = b.tensor("y", (1, 6), "float32")
    b.op("FULLY_CONNECTED", [x, w, bias], [y], fused_activation_function="RELU")
    return [x], [y]


INT8_OPS = [conv_2d, depthwise_conv_2d, fully_connected, add, average_pool_2d, softmax]


def _model_file(tmp_path, make, seed):
    b = TFLiteBuilder()
    inputs, outputs = make(np.random.default_rng(seed), b)
    path = tmp_path / f"{make.__name__}.tflite"
    path.write_bytes(b.build(inputs=inputs, outputs=outputs))
    return path


@pytest.mark.parametrize("make", INT8_OPS, ids=lambda f: f.__name__)
def test_int8_op_bit_exact(tmp_path, cache_dir, target, make):
    path = _model_file(tmp_path, make, seed=len(make.__name__))
    result = verify(path, BuildOptions(target=target["name"], cache_dir=cache_dir), count=3,
                    seed=4)
    assert result.ok, result.message
    assert result.message == "bit-exact on 3 inputs"
    assert result.device.target == target["name"]


def test_float_op_within_tolerance(tmp_path, cache_dir, target):
    """Hard-float on the M4F, newlib's soft-float routines on the M3."""
    path = _model_file(tmp_path, fully_connected_float, seed=3)
    result = verify(path, BuildOptions(target=target["name"], cache_dir=cache_dir), count=3)
    assert result.ok, result.message
    assert result.message.startswith("max relative error")
