"""Every crash class the importer fuzzer found (benchmarks/fuzz.py), as a small model built
on purpose: each must be one printable line of user error, never an internal error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgec.errors import MAX_MESSAGE, EdgecError
from edgec.frontends import load_model
from edgec.frontends.tflite import load_tflite
from edgec.ir import interpret
from tests.tflite_builder import TFLiteBuilder

ROOT_EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _user_error(fn, *args, match: str = ""):
    with pytest.raises(EdgecError) as info:
        fn(*args)
    exc = info.value
    assert len(exc.message) <= MAX_MESSAGE and exc.message.isprintable(), exc.message
    assert match in str(exc), str(exc)
    return exc


def _conv(x_shape=(1, 6, 6, 2), w_shape=(3, 3, 3, 2), scale=0.1, stride=1, quant=True,
          x_type="int8", y_shape=None) -> bytes:
    b = TFLiteBuilder()
    q = {"scale": scale, "zero_point": 0} if quant else {}
    x = b.tensor("x", x_shape, x_type, **q)
    w = b.tensor("w", w_shape, "int8", data=np.ones(w_shape, np.int8), **q)
    y = b.tensor("y", y_shape or (1, 6, 6, w_shape[0]), "int8", **q)
    b.op("CONV_2D", [x, w, None], [y], padding="SAME", stride_w=stride, stride_h=stride)
    return b.build(inputs=[x], outputs=[y])


def test_a_valid_conv_imports():
    interpret(load_tflite(_conv()), np.zeros((1, 6, 6, 2), np.int8))


@pytest.mark.parametrize("scale", [0.0, float("nan"), float("inf"), -1.0])
def test_bad_scales_are_refused(scale):
    _user_error(load_tflite, _conv(scale=scale), match="scale")


def test_zero_stride_is_refused_not_a_division_by_zero():
    _user_error(load_tflite, _conv(stride=0), match="strides")


def test_int8_conv_without_quantization():
    _user_error(load_tflite, _conv(quant=False), match="without quantization")


def test_conv_input_of_rank_3():
    _user_error(load_tflite, _conv(x_shape=(6, 6, 2)), match="rank 4")


def test_weights_that_do_not_fit_the_input_channels():
    _user_error(load_tflite, _conv(w_shape=(3, 3, 3, 5)), match="do not fit")


def test_float_input_into_an_int8_conv():
    _user_error(load_tflite, _conv(x_type="float32"), match="mixes float32")


def test_a_dimension_above_the_limit():
    _user_error(load_tflite, _conv(x_shape=(1, 1 << 17, 6, 2)), match="limit")


def test_a_pad_of_100000_is_refused_with_the_limit():
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 4, 4, 1), "float32")
    pads = b.const("pads", [[0, 0], [100_000, 0], [0, 0], [0, 0]])
    y = b.tensor("y", (1, 100_004, 4, 1), "float32")
    b.op("PAD", [x, pads], [y])
    _user_error(load_tflite, b.build(inputs=[x], outputs=[y]), match="limit")


def test_an_operator_reading_a_later_output():
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 4), "float32")
    a = b.tensor("a", (1, 4), "float32")
    c = b.tensor("c", (1, 4), "float32")
    b.op("RELU", [c], [a])
    b.op("RELU", [a], [c])
    _user_error(load_tflite, b.build(inputs=[x], outputs=[c]), match="before it is written")


def test_missing_required_input():
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 4), "float32")
    y = b.tensor("y", (1, 4), "float32")
    b.op("ADD", [x, None], [y])
    _user_error(load_tflite, b.build(inputs=[x], outputs=[y]), match="needs 2 input")


def test_long_names_are_shortened_and_control_characters_escaped():
    exc = EdgecError("tensor '" + "a;" * 300 + "' is bad \x1b[2J", "hint \x07")
    assert len(exc.message) <= MAX_MESSAGE and exc.message.isprintable()
    assert "\\x1b" in exc.message and exc.hint == "hint \\x07"


# -- ONNX ------------------------------------------------------------------------------------

def _onnx(init: TensorProto, path, node_type="Add", extra=()):
    nodes = [helper.make_node(node_type, ["x", init.name], ["y"]), *extra]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", 1, (1, 4))],
                              [helper.make_tensor_value_info("y", 1, None)], [init])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())
    return path


def _bias(values=(1.0, 2.0, 3.0, 4.0)):
    return numpy_helper.from_array(np.asarray(values, np.float32).reshape(1, 4), "b")


def test_onnx_valid_add(tmp_path):
    graph = load_model(_onnx(_bias(), tmp_path / "m.onnx"))
    assert interpret(graph, np.zeros((1, 4), np.float32))["y"].tolist() == [[1, 2, 3, 4]]


@pytest.mark.parametrize("edit", ["short", "long", "dims", "dtype", "undefined"])
def test_onnx_initializer_data_that_does_not_match(tmp_path, edit):
    init = _bias()
    if edit == "short":
        init.raw_data = init.raw_data[:-3]
    elif edit == "long":
        init.raw_data += b"\0\0\0\0"
    elif edit == "dims":
        init.dims[1] = 5
    else:
        init.data_type = 99 if edit == "dtype" else TensorProto.UNDEFINED
    _user_error(load_model, _onnx(init, tmp_path / "m.onnx"), match="initializer 'b'")


def _external(init: TensorProto, location: str) -> TensorProto:
    init.ClearField("raw_data")
    init.data_location = TensorProto.EXTERNAL
    entry = init.external_data.add()
    entry.key, entry.value = "location", location
    return init


def test_onnx_external_data_resolves_beside_the_model(tmp_path, monkeypatch):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "w.bin").write_bytes(np.arange(1, 5, dtype=np.float32).tobytes())
    path = _onnx(_external(_bias(), "w.bin"), folder / "m.onnx")
    monkeypatch.chdir(tmp_path)  # not the model's folder
    graph = load_model(path)
    assert interpret(graph, np.zeros((1, 4), np.float32))["y"].tolist() == [[1, 2, 3, 4]]


@pytest.mark.parametrize("location", ["../w.bin", "/etc/passwd", "sub/../../w.bin", ""])
def test_onnx_external_data_outside_the_folder_is_refused(tmp_path, location):
    folder = tmp_path / "model"
    folder.mkdir()
    (tmp_path / "w.bin").write_bytes(bytes(16))
    _user_error(load_model, _onnx(_external(_bias(), location), folder / "m.onnx"),
                match="relative path inside the model's folder")


def test_onnx_cycle_is_a_user_error_not_recursion(tmp_path):
    loop = helper.make_node("Relu", ["y"], ["z"])
    path = _onnx(_bias(), tmp_path / "m.onnx", extra=[loop])
    model = onnx.load(path)
    model.graph.node[0].input[0] = "z"  # Add reads Relu's output, Relu reads Add's
    path.write_bytes(model.SerializeToString())
    _user_error(load_model, path, match="no earlier node produces")


def test_onnx_missing_input_of_a_node(tmp_path):
    path = _onnx(_bias(), tmp_path / "m.onnx")
    model = onnx.load(path)
    del model.graph.node[0].input[1]
    path.write_bytes(model.SerializeToString())
    _user_error(load_model, path, match="Add")


def test_onnx_op_type_with_escape_codes(tmp_path):
    exc = _user_error(load_model, _onnx(_bias(), tmp_path / "m.onnx", node_type="\x1b[2JAdd"))
    assert "\x1b" not in str(exc)


def test_onnx_huge_input_dimension(tmp_path):
    path = _onnx(_bias(), tmp_path / "m.onnx")
    model = onnx.load(path)
    model.graph.input[0].type.tensor_type.shape.dim[1].dim_value = 1 << 31
    path.write_bytes(model.SerializeToString())
    _user_error(load_model, path, match="limit")


@pytest.mark.parametrize("scale", [0.0, float("nan"), float("inf")])
def test_onnx_qdq_scale(tmp_path, scale):
    s = numpy_helper.from_array(np.asarray(scale, np.float32), "s")
    zp = numpy_helper.from_array(np.asarray(0, np.int8), "zp")
    q = helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["q"])
    dq = helper.make_node("DequantizeLinear", ["q", "s", "zp"], ["y"])
    graph = helper.make_graph([q, dq], "g", [helper.make_tensor_value_info("x", 1, (1, 4))],
                              [helper.make_tensor_value_info("y", 1, None)], [s, zp])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    _user_error(load_model, path, match="scale")


def test_softmax_beta_nan():
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 4), "int8", scale=0.1, zero_point=0)
    y = b.tensor("y", (1, 4), "int8", scale=1 / 256, zero_point=-128)
    b.op("SOFTMAX", [x], [y], beta=float("nan"))
    _user_error(load_tflite, b.build(inputs=[x], outputs=[y]), match="beta")


def test_fully_connected_bias_of_the_wrong_size():
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 4), "float32")
    w = b.tensor("w", (3, 4), "float32", data=np.ones((3, 4)))
    bias = b.tensor("b", (5,), "float32", data=np.ones(5))
    y = b.tensor("y", (1, 3), "float32")
    b.op("FULLY_CONNECTED", [x, w, bias], [y])
    _user_error(load_tflite, b.build(inputs=[x], outputs=[y]), match="bias")


def test_a_conv_above_the_mac_limit():
    # 1 x 1024 x 1024 x 16 outputs of a 7x7x16 kernel: 12.8 G MACs
    _user_error(load_tflite, _conv(x_shape=(1, 1024, 1024, 16), w_shape=(16, 7, 7, 16),
                                   y_shape=(1, 1024, 1024, 16)), match="limit")


def test_onnx_conv_bias_of_the_wrong_size(tmp_path):
    w = numpy_helper.from_array(np.ones((2, 1, 3, 3), np.float32), "w")
    bias = numpy_helper.from_array(np.ones(5, np.float32), "bias")
    conv = helper.make_node("Conv", ["x", "w", "bias"], ["y"], pads=[1, 1, 1, 1])
    graph = helper.make_graph([conv], "g", [helper.make_tensor_value_info("x", 1, (1, 1, 4, 4))],
                              [helper.make_tensor_value_info("y", 1, None)], [w, bias])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    _user_error(load_model, path, match="bias")


def test_control_characters_in_names_do_not_reach_the_terminal(tmp_path, capsys):
    from edgec.cli import main

    model = onnx.load(ROOT_EXAMPLES / "digits.onnx")
    model.graph.node[1].name = "conv\x1b[2Jx"
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "conv\\x1b[2Jx" in out


def test_app_config_on_a_host_build_is_refused_not_ignored(tmp_path):
    from edgec.cli import main

    app = tmp_path / "app.yaml"
    app.write_text("sensor: replay\n")
    argv = ["build", str(ROOT_EXAMPLES / "digits_int8.tflite"), "-o", str(tmp_path / "out"),
            "--app", str(app)]
    assert main(argv) == 2 and not (tmp_path / "out" / "digits_int8.c").exists()


def _shared_onnx(name: str) -> onnx.ModelProto:
    """A shared MLPerf Tiny ONNX model to mutate by hand (skip when ../shared lacks it)."""
    from tests.shared_models import MODELS_DIR

    source = MODELS_DIR / "onnx" / name
    if not source.is_file():
        pytest.skip(f"{source} not found")
    return onnx.load(source)


def test_onnx_conv_weights_of_the_wrong_rank(tmp_path):
    """Fuzz case 60064 (seed 1, init_dims on kws_dscnn_float32.onnx): a conv weight cut to
    3-D on a 4-D input (ONNX shape inference lets it through there) was unpacked as four
    dimensions."""
    model = _shared_onnx("kws_dscnn_float32.onnx")
    init = next(i for i in model.graph.initializer
                if i.name.endswith("conv2d_3/BiasAdd_weights_fused_bn"))
    array = numpy_helper.to_array(init)
    init.CopyFrom(numpy_helper.from_array(array.reshape(array.shape[:3]), init.name))
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    _user_error(load_model, path, match="rank 3")


@pytest.mark.parametrize("group", [0, -2])
def test_onnx_conv_group_that_is_not_positive(tmp_path, group):
    """Fuzz smoke, seed 7 case 52 (node_attr on ic_resnet8_float32.onnx): group=0 reached a
    modulo by zero in the grouped-convolution check."""
    model = _shared_onnx("ic_resnet8_float32.onnx")
    conv = next(n for n in model.graph.node if n.op_type == "Conv")
    for attr in conv.attribute:
        if attr.name == "group":
            conv.attribute.remove(attr)
            break
    conv.attribute.append(helper.make_attribute("group", group))
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    _user_error(load_model, path, match=f"group={group}")


def test_pack_with_a_missing_input_is_refused():
    """Fuzz seed 7 case 7966 (an op_code mutation made an FC with no bias a PACK): an
    optional-input slot (-1) reached PACK, which needs every input."""
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 4), "float32")
    y = b.tensor("y", (2, 1, 4), "float32")
    b.op("PACK", [x, None], [y], values_count=2, axis=0)
    _user_error(load_tflite, b.build(inputs=[x], outputs=[y]), match="PACK needs every input")
