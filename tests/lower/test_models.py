"""The three shared MLPerf Tiny models, lowered whole; every kernel's C run on the values the
reference interpreter computes for its inputs must reproduce the reference's outputs."""

from pathlib import Path

import numpy as np
import pytest

from edgec.ir import interpret
from edgec.lower import lower_graph
from edgec.options import BuildOptions
from tests.lower.harness import needs_gcc, random_inputs, run_kernel
from tests.refs import describe_mismatch

MODELS = Path("/work/shared/models")
NAMES = ["kws_dscnn_int8", "ic_resnet8_int8", "ad_fc_autoencoder_int8"]

pytestmark = [needs_gcc, pytest.mark.slow]


@pytest.mark.parametrize("name", NAMES)
def test_every_kernel_matches_reference(cache_dir, name):
    path = MODELS / f"{name}.tflite"
    if not path.is_file():
        pytest.skip(f"{path} not present")
    from edgec.frontends.tflite import load_tflite

    graph = load_tflite(path.read_bytes())
    seen = []
    kernels = lower_graph(graph, BuildOptions(cache_dir=cache_dir),
                          progress=lambda k, n, node: seen.append((k, n, node.name)))
    assert seen == [(i + 1, len(graph.nodes), n.name) for i, n in enumerate(graph.nodes)]
    assert [k.node_name for k in kernels] == [n.name for n in graph.nodes]
    values = interpret(graph, random_inputs(graph, np.random.default_rng(0)), keep=True)
    for kernel, node in zip(kernels, graph.nodes):
        actual = run_kernel(kernel, graph, values)
        for out in node.outputs:
            problem = describe_mismatch(values[out], actual[out], f"{node.op} {node.name}")
            assert problem is None, problem
