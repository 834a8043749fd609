"""ONNX ops in training mode that are deterministic: BatchNormalization with
``training_mode=1`` (batch statistics, running_mean / running_var outputs with momentum) and
Dropout with ratio 0 (the input, a mask of trues), against ONNX's reference evaluator (the
node suite's source; onnxruntime's inference build has no training-mode kernels) in edgec's
reference and the generated C. Dropout with another ratio is random: refused in one line."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from edgec.errors import EdgecError
from edgec.frontends.onnx import load_onnx
from edgec.ir import interpret
from tests.onnx_node.runner import matches, run_c


def _bn_model(x_shape, consts: dict, outputs=("y", "rm", "rv"), **attrs) -> bytes:
    names = ["x", "s", "b", "m", "v"]
    c = x_shape[1]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))]
    inputs += [helper.make_tensor_value_info(n, TensorProto.FLOAT, [c])
               for n in names[1:] if n not in consts]
    node = helper.make_node("BatchNormalization", names, list(outputs), training_mode=1,
                            **attrs)
    graph = helper.make_graph([node], "bn", inputs, [
        helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs if o],
        [numpy_helper.from_array(v, k) for k, v in consts.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)]
                             ).SerializeToString()


def _params(rng, c):
    return {"s": rng.uniform(0.5, 1.5, c).astype(np.float32),
            "b": rng.standard_normal(c).astype(np.float32),
            "m": rng.standard_normal(c).astype(np.float32),
            "v": rng.uniform(0.5, 2.0, c).astype(np.float32)}


def _check(data: bytes, feed: dict, tmp_path) -> None:
    want = ReferenceEvaluator(data).run(None, feed)
    graph = load_onnx(data)
    got = interpret(graph, feed)
    assert len(graph.outputs) == len(want)
    for name, w in zip(graph.outputs, want):
        assert not matches(got[name], w), (name, matches(got[name], w))
    outcome, why = run_c(data, [list(feed.values())], [want], list(feed), graph.outputs,
                         tmp_path / "c")
    assert outcome == "pass", why


@pytest.mark.parametrize("x_shape", [(2, 3, 4, 5), (4, 3, 6), (5, 2)])
@pytest.mark.parametrize("frozen", [True, False])
def test_batch_norm_training_mode_matches_onnx(x_shape, frozen, tmp_path):
    rng = np.random.default_rng(len(x_shape) + frozen)
    params = _params(rng, x_shape[1])
    x = (rng.standard_normal(x_shape) * 2 + 1).astype(np.float32)
    data = _bn_model(x_shape, params if frozen else {}, epsilon=1e-2, momentum=0.7)
    feed = {"x": x} if frozen else {"x": x, **params}
    _check(data, feed, tmp_path)


def test_batch_norm_training_mode_without_running_outputs(tmp_path):
    rng = np.random.default_rng(3)
    data = _bn_model((2, 3, 4), _params(rng, 3), outputs=("y", "", ""))
    _check(data, {"x": rng.standard_normal((2, 3, 4)).astype(np.float32)}, tmp_path)


def _dropout_model(ratio, training, outputs=("y", "mask"), run_time=False) -> bytes:
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])]
    consts = [numpy_helper.from_array(np.float32(ratio), "r"),
              numpy_helper.from_array(np.array(training), "t")]
    if run_time:
        inputs += [helper.make_tensor_value_info("r", TensorProto.FLOAT, []),
                   helper.make_tensor_value_info("t", TensorProto.BOOL, [])]
        consts = []
    node = helper.make_node("Dropout", ["x", "r", "t"], list(outputs), seed=0)
    graph = helper.make_graph([node], "dropout", inputs, [
        helper.make_tensor_value_info(o, TensorProto.BOOL if o == "mask" else
                                      TensorProto.FLOAT, None) for o in outputs], consts)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)]
                             ).SerializeToString()


@pytest.mark.parametrize("outputs", [("y",), ("y", "mask")])
def test_dropout_training_with_ratio_zero_is_the_input(outputs, tmp_path):
    x = np.random.default_rng(4).standard_normal((2, 3, 4)).astype(np.float32)
    _check(_dropout_model(0.0, True, outputs), {"x": x}, tmp_path)


@pytest.mark.parametrize("ratio", [0.5, 0.75])
def test_dropout_training_with_a_ratio_is_refused_in_one_line(ratio):
    with pytest.raises(EdgecError, match=f"training mode with ratio {ratio:g}: its mask is "
                                         "random") as e:
        load_onnx(_dropout_model(ratio, True))
    assert "\n" not in str(e.value)


def test_dropout_with_run_time_training_mode_is_refused_in_one_line():
    with pytest.raises(EdgecError, match="takes training_mode at run time") as e:
        load_onnx(_dropout_model(0.0, True, run_time=True))
    assert "\n" not in str(e.value)
