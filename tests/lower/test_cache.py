"""The kernel cache: identical kernels lowered once, shared across quantization values."""

import logging

import numpy as np

from edgec.ir import Graph, Node, QuantParams, Tensor, check_graph
from edgec.lower import lower_graph
from edgec.lower.cache import default_dir


def _two_adds(rng) -> Graph:
    """x + x -> t, t + x -> y: two ADD nodes of one shape with different quantization."""
    g = Graph(name="adds")
    for name in ("x", "t", "y"):
        g.add_tensor(Tensor(name, (1, 4), "int8",
                            quant=QuantParams(np.float32(rng.uniform(0.01, 0.1)), 3)))
    g.nodes = [Node("ADD", ["x", "x"], ["t"], {}, "a0"), Node("ADD", ["t", "x"], ["y"], {}, "a1")]
    g.inputs, g.outputs = ["x"], ["y"]
    return check_graph(g)


def _hits(caplog) -> int:
    return sum("cache hit" in r.getMessage() for r in caplog.records)


def test_same_shapes_share_c_text_but_not_constants(tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="edgec.lower")
    k0, k1 = lower_graph(_two_adds(np.random.default_rng(0)), cache_dir=tmp_path)
    assert _hits(caplog) == 1
    assert k0.c_source.replace("k0_add", "F") == k1.c_source.replace("k1_add", "F")
    assert not np.array_equal(k0.constants["k0_add_params"], k1.constants["k1_add_params"])
    assert len(list(tmp_path.glob("*.json"))) == 1


def test_second_build_reads_the_disk_cache(tmp_path, caplog):
    graph = _two_adds(np.random.default_rng(1))
    first = lower_graph(graph, cache_dir=tmp_path)
    caplog.set_level(logging.DEBUG, logger="edgec.lower")
    second = lower_graph(graph, cache_dir=tmp_path)
    assert _hits(caplog) == 2
    assert [k.c_source for k in first] == [k.c_source for k in second]


def test_cache_directory_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("EDGEC_CACHE_DIR", str(tmp_path))
    assert default_dir() == tmp_path
    assert default_dir(tmp_path / "x") == tmp_path / "x"
    monkeypatch.delenv("EDGEC_CACHE_DIR")
    assert default_dir().parts[-2:] == (".cache", "edgec")
