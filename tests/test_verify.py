"""`edgec verify --target host`: generated C against the reference interpreter."""

import shutil

import numpy as np
import pytest

import edgec.verify
import edgec.verify.check
from edgec.cli import main
from edgec.ir import Graph, Tensor
from edgec.options import BuildOptions
from edgec.verify import compare, verify
from tests.shared_models import INT8_MODELS, MODELS_DIR, model_path

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
SANITIZE = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-g")


@pytest.mark.parametrize("model", INT8_MODELS)
def test_shared_models_bit_exact(model):
    result = verify(model_path(model), count=4, seed=1)
    assert result.ok, result.message
    assert result.message == "bit-exact on 4 inputs"


@pytest.mark.slow
@pytest.mark.parametrize("model", INT8_MODELS)
def test_shared_models_clean_under_sanitizers_with_extern_arena(model):
    result = verify(model_path(model), BuildOptions(arena="extern"), count=2,
                    extra_flags=SANITIZE)
    assert result.ok, result.message


@pytest.mark.parametrize("model", ["ad_fc_autoencoder_float32", "kws_dscnn_float32"])
def test_float_model_within_tolerance(model):
    path = MODELS_DIR / "onnx" / f"{model}.onnx"
    if not path.is_file():
        pytest.skip(f"{path} not available")
    result = verify(path, count=2)
    assert result.ok, result.message
    assert result.message.startswith("max relative error")
    assert result.max_error <= edgec.verify.FLOAT_RTOL


def _graph(dtype):
    g = Graph()
    g.add_tensor(Tensor("y", (2, 3), dtype))
    g.outputs = ["y"]
    return g


def test_compare_names_first_difference():
    expected = np.arange(6, dtype=np.int8).reshape(2, 3)
    actual = expected.copy()
    actual[1, 0], actual[1, 2] = 99, 98
    result = compare(_graph("int8"), [[expected], [expected]], [[expected], [actual]])
    assert not result.ok
    assert result.message == ("output 'y' differs on input 1 at index (1, 0): expected 3, "
                              "got 99")


def test_compare_float_tolerance():
    expected = np.float32([[1, -2, 4], [0, 0.5, 8]])
    close = expected + np.float32(8 * 5e-6)
    far = expected.copy()
    far[0, 1] += np.float32(1e-3)
    assert compare(_graph("float32"), [[expected]], [[close]]).ok
    result = compare(_graph("float32"), [[expected]], [[far]])
    assert not result.ok and "index (0, 1)" in result.message


def test_cli_verify_with_input_file(tmp_path, capsys):
    path = model_path("ad_fc_autoencoder_int8")
    sample = np.random.default_rng(5).integers(-128, 128, (1, 640)).astype(np.int8)
    np.save(tmp_path / "x.npy", sample)
    code = main(["verify", str(path), "--count", "0", "--input", str(tmp_path / "x.npy")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "bit-exact on 1 input\n" in out


def test_cli_verify_exits_1_on_mismatch(monkeypatch, capsys):
    real = edgec.verify.check.run_harness

    def corrupt(exe, graph, samples, *args, **kwargs):
        outputs = real(exe, graph, samples, *args, **kwargs)
        outputs[0][0] = outputs[0][0].copy()
        outputs[0][0][0, 7] ^= 1  # flip one bit of one output element
        return outputs

    monkeypatch.setattr(edgec.verify.check, "run_harness", corrupt)
    code = main(["verify", str(model_path("ad_fc_autoencoder_int8")), "-n", "2"])
    out, _ = capsys.readouterr()
    assert code == 1
    assert "differs on input 0 at index (0, 7)" in out


def test_float_floor_scales_with_the_terms_of_the_last_op():
    """0.0028 summed from terms of magnitude 2.4: float32 rounding of the terms (~2e-7) is
    within tolerance; the same error on an output computed from small terms is not."""
    from edgec.ir import Graph, Node, Tensor
    from edgec.verify.compare import compare, term_scales

    graph = Graph(name="t")
    for name in ("x", "w", "y"):
        graph.add_tensor(Tensor(name, (1,), "float32"))
    graph.nodes.append(Node("ADD", ["x", "w"], ["y"]))
    graph.inputs, graph.outputs = ["x"], ["y"]
    expected = [[np.array([0.0028], np.float32)]]
    actual = [[np.array([0.0028 + 2e-7], np.float32)]]
    big = {"x": np.array([2.4], np.float32), "w": np.array([-2.3972], np.float32)}
    small = {"x": np.array([0.0014], np.float32), "w": np.array([0.0014], np.float32)}
    assert compare(graph, expected, actual, [term_scales(graph, big)]).ok
    assert not compare(graph, expected, actual, [term_scales(graph, small)]).ok
    assert not compare(graph, expected, actual).ok
