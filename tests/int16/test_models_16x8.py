"""16x8 models end to end: TensorFlow-converter output (``tests/int16/make_models.py``) and
edgec's own ``--activations int16`` PTQ, through import, the reference (bit-exact with TFLite
Micro), ``inspect``, ``build`` and ``verify`` on the host and on the emulated Cortex-M4."""

from pathlib import Path

import numpy as np
import pytest

from edgec.cli import main
from tests.cortexm.toolchain import needs_qemu
from tests.refs import assert_matches_tflm

MODELS = Path(__file__).resolve().parent / "models"
COMMITTED = sorted(MODELS.glob("*_16x8.tflite"))
DIGITS = Path(__file__).resolve().parents[2] / "examples" / "digits.onnx"


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("edgec-kernel-cache")


def _int16_input(model: bytes, seed: int) -> np.ndarray:
    from edgec.frontends.tflite import load_tflite

    graph = load_tflite(model)
    shape = graph.tensors[graph.inputs[0]].shape
    return np.random.default_rng(seed).integers(-32768, 32768, shape).astype(np.int16)


def test_the_committed_models_are_converter_16x8():
    from edgec.frontends.tflite import load_tflite

    assert [p.stem for p in COMMITTED] == ["conv_net_16x8", "mixed_net_16x8"]
    for path in COMMITTED:
        graph = load_tflite(path.read_bytes())
        for node in graph.nodes:
            assert graph.tensors[node.inputs[0]].dtype == "int16", node.name
            if node.op in ("CONV_2D", "DEPTHWISE_CONV_2D") and len(node.inputs) > 2:
                assert graph.tensors[node.inputs[2]].dtype == "int64"


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.stem)
def test_reference_matches_tflm(path):
    model = path.read_bytes()
    for seed in range(3):
        assert_matches_tflm(model, [_int16_input(model, seed)])


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.stem)
def test_inspect_build_and_verify_on_the_host(path, tmp_path, capsys, cache_dir):
    assert main(["inspect", str(path)]) == 0
    assert "int16[" in capsys.readouterr().out
    assert main(["build", str(path), "-o", str(tmp_path / "out"), "--cache-dir",
                 str(cache_dir), "-q"]) == 0
    assert (tmp_path / "out").is_dir()
    capsys.readouterr()
    assert main(["verify", str(path), "-n", "4", "--cache-dir", str(cache_dir)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "bit-exact on 4 inputs"


@needs_qemu
def test_converter_model_verifies_on_mps2_an386(capsys, cache_dir):
    assert main(["verify", str(MODELS / "mixed_net_16x8.tflite"), "--target", "mps2_an386",
                 "-n", "3", "--cache-dir", str(cache_dir)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "bit-exact on 3 inputs"


@needs_qemu
def test_ptq_int16_verifies_on_mps2_an386(tmp_path, capsys, cache_dir):
    """``verify --calibrate ... --activations int16``: edgec's own 16x8 PTQ on the Cortex-M4."""
    cal = tmp_path / "cal.npz"
    np.savez(cal, image=np.random.default_rng(0).uniform(0, 1, (20, 8, 8, 1)).astype(np.float32))
    assert main(["verify", str(DIGITS), "--calibrate", str(cal), "--activations", "int16",
                 "--target", "mps2_an386", "-n", "3", "--cache-dir", str(cache_dir)]) == 0
    assert "max relative error 0 on 3 inputs" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize("name", ["conv_net", "mixed_net"])
def test_make_models_reproduces_the_committed_files(name):
    """The committed files are what the script makes (same TensorFlow, same seed)."""
    pytest.importorskip("tensorflow")
    from tests.int16 import make_models

    tf, layers = make_models._keras()
    tf.keras.utils.set_random_seed(make_models.SEED)
    made = make_models.convert_16x8(tf, make_models.MODELS[name](tf, layers))
    model = (MODELS / f"{name}_16x8.tflite").read_bytes()
    assert_matches_tflm(made, [_int16_input(made, 0)])
    assert len(made) == len(model)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["kws_dscnn", "ic_resnet8", "ad_fc_autoencoder"])
def test_mlperf_tiny_architectures_converted_16x8_match_tflm(name, cache_dir, capsys, tmp_path):
    """MLPerf Tiny's three architectures (random weights, batch-norm statistics from data),
    converted by TensorFlow in 16x8 mode: the reference equals TFLM and the host C equals the
    reference."""
    pytest.importorskip("tensorflow")
    from tests.int16.make_models import make_mlperf

    model = make_mlperf(name)
    for seed in range(2):
        assert_matches_tflm(model, [_int16_input(model, seed)])
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(model)
    capsys.readouterr()  # the converter's own printing
    assert main(["verify", str(path), "-n", "2", "--cache-dir", str(cache_dir)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "bit-exact on 2 inputs"
