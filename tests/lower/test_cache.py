"""The kernel cache: identical kernels lowered once, shared across quantization values."""

import logging

import numpy as np

from edgec.ir import Graph, Node, QuantParams, Tensor, check_graph
from edgec.lower import lower_graph
from edgec.lower.cache import default_dir
from edgec.options import BuildOptions


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
    k0, k1 = lower_graph(_two_adds(np.random.default_rng(0)), BuildOptions(cache_dir=tmp_path))
    assert _hits(caplog) == 1
    assert k0.c_source.replace("k0_add", "F") == k1.c_source.replace("k1_add", "F")
    assert not np.array_equal(k0.constants["k0_add_params"], k1.constants["k1_add_params"])
    assert len(list(tmp_path.glob("*.json"))) == 1


def test_second_build_reads_the_disk_cache(tmp_path, caplog):
    graph = _two_adds(np.random.default_rng(1))
    first = lower_graph(graph, BuildOptions(cache_dir=tmp_path))
    caplog.set_level(logging.DEBUG, logger="edgec.lower")
    second = lower_graph(graph, BuildOptions(cache_dir=tmp_path))
    assert _hits(caplog) == 2
    assert [k.c_source for k in first] == [k.c_source for k in second]


def test_cache_directory_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("EDGEC_CACHE_DIR", str(tmp_path))
    assert default_dir() == tmp_path
    assert default_dir(tmp_path / "x") == tmp_path / "x"
    monkeypatch.delenv("EDGEC_CACHE_DIR")
    assert default_dir().parts[-2:] == (".cache", "edgec")


def _corrupt_and_rebuild(tmp_path, caplog, damage):
    """Build once, damage the cached entry, build again: the entry is reported, discarded and
    rebuilt, and the C is the same as the first build's."""
    graph = _two_adds(np.random.default_rng(2))
    first = lower_graph(graph, BuildOptions(cache_dir=tmp_path))
    (entry,) = tmp_path.glob("*.json")
    entry.write_bytes(damage(entry.read_bytes(), tmp_path))
    caplog.set_level(logging.WARNING, logger="edgec.lower")
    second = lower_graph(graph, BuildOptions(cache_dir=tmp_path))
    assert [k.c_source for k in first] == [k.c_source for k in second]
    assert any("discarded and rebuilt" in r.getMessage() for r in caplog.records)
    (rebuilt,) = tmp_path.glob("*.json")
    assert rebuilt.read_bytes() == entry.read_bytes() and b"edgec kernel cache" in rebuilt.read_bytes()


def test_truncated_entry_is_rebuilt(tmp_path, caplog):
    _corrupt_and_rebuild(tmp_path, caplog, lambda data, _: data[:len(data) // 2])


def test_binary_garbage_entry_is_rebuilt(tmp_path, caplog):
    _corrupt_and_rebuild(tmp_path, caplog, lambda data, _: bytes(range(256)) * 4)


def test_edited_entry_is_rebuilt(tmp_path, caplog):
    _corrupt_and_rebuild(tmp_path, caplog, lambda data, _: data.replace(b"+", b"-", 1))


def test_another_kernels_entry_is_rebuilt(tmp_path, caplog):
    from edgec.lower.cache import _header

    def foreign(data, _):  # a sound entry of another key, copied under this key's name
        text = data.decode().partition("\n")[2].replace("int8_t", "int16_t")
        return (_header("0" * 64, text) + text).encode()
    _corrupt_and_rebuild(tmp_path, caplog, foreign)


def test_concurrent_builds_share_one_cache(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    graph = _two_adds(np.random.default_rng(3))
    with ThreadPoolExecutor(4) as pool:
        options = BuildOptions(cache_dir=tmp_path)
        results = list(pool.map(lambda _: lower_graph(graph, options), range(4)))
    assert all([k.c_source for k in r] == [k.c_source for k in results[0]] for r in results)
    (entry,) = tmp_path.glob("*.json")
    from edgec.lower.cache import parse_entry
    assert parse_entry(entry.stem, entry.read_bytes())[0] is not None
    assert not list(tmp_path.glob("*.tmp"))
