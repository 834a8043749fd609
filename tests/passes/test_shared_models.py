"""Every pass, and the whole pipeline, on the MLPerf Tiny models (TFLite and ONNX, int8 and
float): sound graphs, unchanged outputs (int8 bit for bit, float within 1e-5), idempotent;
and dead channel removal on the same models with filters zeroed by hand."""

import pytest

from edgec.ir import check_graph, get_op
from edgec.passes import PIPELINE, run_passes
from edgec.passes.dead_channels import remove_dead_channels
from tests.passes.graphs import assert_same_outputs, check_pass, load_shared

MODEL_FILES = [f"{m}.tflite" for m in ("kws_dscnn_int8", "ic_resnet8_int8",
                                       "ad_fc_autoencoder_int8")] + \
              [f"onnx/{m}_{kind}.onnx" for m in ("kws_dscnn", "ic_resnet8", "ad_fc_autoencoder")
               for kind in ("int8", "float32")]


@pytest.mark.parametrize("model", MODEL_FILES)
def test_each_pass_and_the_pipeline_keep_the_outputs(model):
    graph = load_shared(model)
    for _, run in PIPELINE:
        assert_same_outputs(graph, check_pass(run, graph), seeds=(0,))
    assert_same_outputs(graph, check_graph(run_passes(graph)), seeds=(0, 1))


def _zero_filters(graph, channels):
    """A copy with ``channels`` of every conv / dense layer but the last zeroed (weights
    only: the removed channels carry their activation of the bias, which readers fold)."""
    result = graph.copy()
    layers = [n for n in result.nodes if get_op(n.op).weight_axis is not None][:-1]
    for node in layers:
        w = result.tensors[node.inputs[1]]
        data = w.data.copy()
        index = [slice(None)] * data.ndim
        index[get_op(node.op).weight_axis] = channels
        # int8 FULLY_CONNECTED with one weight scale subtracts the weight zero point.
        per_tensor_fc = w.dtype == "int8" and node.op == "FULLY_CONNECTED" and w.quant.per_tensor
        data[tuple(index)] = w.quant.zp if per_tensor_fc else 0
        w.data = data
    return result


def _channels(graph) -> int:
    return sum(graph.tensors[n.outputs[0]].shape[-1] for n in graph.nodes
               if get_op(n.op).weight_axis is not None)


@pytest.mark.parametrize("model", MODEL_FILES)
def test_hand_zeroed_filters_are_removed_without_changing_outputs(model):
    zeroed = _zero_filters(load_shared(model), [0, 3, 5])
    after = check_pass(remove_dead_channels, zeroed)
    assert _channels(after) < _channels(zeroed)
    assert_same_outputs(zeroed, after, seeds=(0, 1))
