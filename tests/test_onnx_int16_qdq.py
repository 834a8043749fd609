"""int16 QDQ ONNX models (onnxruntime's quantizer with ``activation_type=QInt16``/``QUInt16``
and int8 weights) run as TFLite's 16x8 mode: every op int16, bit-exact with TFLite Micro on
the exported model, within a few output steps of onnxruntime (which computes in float
between its Q/DQ pairs), built and verified on the host and on the emulated Cortex-M4F.
Asymmetric int16 is refused."""

import shutil

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgec.errors import EdgecError
from edgec.frontends.onnx import load_onnx
from edgec.ir import interpret
from edgec.options import BuildOptions
from edgec.verify import verify
from tests.quantize.test_ptq_tflm import assert_tflm_agrees

quantization = pytest.importorskip("onnxruntime.quantization")
SHAPE = (1, 3, 8, 8)
# onnxruntime rounds float results once per op; edgec (as TFLM) requantizes integer sums with
# fixed-point multipliers, and int16 LOGISTIC/TANH/SOFTMAX interpolate tables. Measured on
# this model: at most 2 steps of the output scale over the 20 inputs below, 3 over 200.
MAX_STEPS = 4


def _float_model(leaky: bool = False) -> onnx.ModelProto:
    """Conv, Relu (LeakyRelu when ``leaky``: no 16x8 form), depthwise Conv, residual Add, MaxPool, GlobalAveragePool, Gemm, then
    Sigmoid and Softmax(Tanh) heads: the ops TFLite's 16x8 mode has."""
    rng = np.random.default_rng(0)

    def init(name, *shape, scale=0.3):
        return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32),
                                       name)

    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("LeakyRelu", ["c1"], ["r1"], alpha=0.1) if leaky
             else helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1], group=8),
             helper.make_node("Add", ["c2", "r1"], ["a1"]),
             helper.make_node("MaxPool", ["a1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("GlobalAveragePool", ["p1"], ["g"]),
             helper.make_node("Flatten", ["g"], ["f"]),
             helper.make_node("Gemm", ["f", "w3", "b3"], ["logits"], transB=1),
             helper.make_node("Sigmoid", ["logits"], ["y"]),
             helper.make_node("Tanh", ["logits"], ["t"]),
             helper.make_node("Softmax", ["t"], ["z"])]
    inits = [init("w1", 8, 3, 3, 3), init("b1", 8, scale=0.1), init("w2", 8, 1, 3, 3),
             init("b2", 8, scale=0.1), init("w3", 5, 8, scale=1.0), init("b3", 5, scale=0.1)]
    graph = helper.make_graph(
        nodes, "int16_qdq", [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 5]) for n in ("y", "z")],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def _samples(n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(SHAPE).astype(np.float32) for _ in range(n)]


def _quantized(tmp_path, activation_type, symmetric: bool = True, leaky: bool = False) -> bytes:
    class Reader(quantization.CalibrationDataReader):
        def __init__(self):
            self.samples = iter(_samples(16, 0))

        def get_next(self):
            return next(({"x": x} for x in self.samples), None)

    src, dst = tmp_path / "float.onnx", tmp_path / "int16.onnx"
    onnx.save(_float_model(leaky), src)
    quantization.quantize_static(
        str(src), str(dst), Reader(), quant_format=quantization.QuantFormat.QDQ,
        activation_type=activation_type, weight_type=quantization.QuantType.QInt8,
        extra_options={"ActivationSymmetric": symmetric})
    return dst.read_bytes()


def _steps(graph, data: bytes, inputs) -> int:
    """The largest difference from onnxruntime over ``inputs``, in output steps."""
    import onnxruntime as ort

    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    model = onnx.load_model_from_string(data)
    consts = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    out_scale = {o: float(consts[n.input[1]].reshape(-1)[0]) for n in model.graph.node
                 if n.op_type == "DequantizeLinear" for o in n.output}
    worst = 0
    for x in inputs:
        expected = dict(zip(["y", "z"], session.run(["y", "z"], {"x": x})))
        got = interpret(graph, [x])
        for name in ("y", "z"):
            steps = np.abs(got[name] - expected[name]) / out_scale[name]
            worst = max(worst, int(np.round(steps.max())))
    return worst


@pytest.mark.slow
@pytest.mark.parametrize("activations", ["QInt16", "QUInt16"])
def test_int16_qdq_is_16x8_bit_exact_with_tflm_and_close_to_onnxruntime(activations, tmp_path):
    data = _quantized(tmp_path, getattr(quantization.QuantType, activations))
    graph = load_onnx(data)
    computing = {n.op: graph.tensors[n.outputs[0]].dtype for n in graph.nodes
                 if n.op != "DEQUANTIZE"}
    assert set(computing.values()) == {"int16"}
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "MAX_POOL_2D", "FULLY_CONNECTED",
            "LOGISTIC", "TANH", "SOFTMAX"} <= set(computing)
    assert 0 < _steps(graph, data, _samples(20, 1)) <= MAX_STEPS
    assert_tflm_agrees(graph, np.stack(_samples(3, 2)))
    path = tmp_path / "int16.onnx"
    path.write_bytes(data)
    result = verify(path, count=2)
    assert result.ok, result.message
    if activations == "QInt16":
        _verify_on_mps2_an386(path)


def _verify_on_mps2_an386(path) -> None:
    if shutil.which("qemu-system-arm") and shutil.which("arm-none-eabi-gcc"):
        result = verify(path, BuildOptions(target="mps2_an386"), count=2)
        assert result.ok and result.message.startswith("max relative error 0 "), result.message


def test_asymmetric_int16_activations_are_refused_with_the_setting(tmp_path):
    data = _quantized(tmp_path, quantization.QuantType.QInt16, symmetric=False)
    with pytest.raises(EdgecError, match="16 bits with zero point") as info:
        load_onnx(data)
    assert "ActivationSymmetric" in info.value.hint


def test_an_op_without_a_16x8_form_is_refused_at_import(tmp_path):
    data = _quantized(tmp_path, quantization.QuantType.QInt16, leaky=True)
    with pytest.raises(EdgecError, match="LEAKY_RELU has no int16 .TFLite 16x8. form"):
        load_onnx(data)
