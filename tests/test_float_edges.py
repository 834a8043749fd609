"""Float semantics at the edges: NaN propagates (as in TFLite's and onnxruntime's reference
kernels), infinities stay infinities, and the generated C agrees with the reference
interpreter on NaN, +-inf and +-3.4e38 inputs: NaN and infinities at the same places, finite
values within the float tolerance. Before, C's fused ReLU and max pooling dropped a NaN and
the digits model returned probabilities for an all-NaN image."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest

from edgec.cli import main
from edgec.verify import compare
from tests.shared_models import MODELS_DIR

ROOT = Path(__file__).resolve().parents[1]
EDGES = {"nan": np.nan, "inf": np.inf, "ninf": -np.inf, "max": 3.4e38, "nmax": -3.4e38}


def _verify(model: Path, x: np.ndarray, tmp_path: Path) -> tuple[int, str]:
    path = tmp_path / "x.npy"
    np.save(path, x)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(err):
        code = main(["verify", str(model), "--input", str(path), "--count", "1",
                     "--cache-dir", str(tmp_path / "cache")])
    return code, err.getvalue()


@pytest.mark.parametrize("edge", sorted(EDGES))
def test_digits_c_agrees_with_the_reference_at_the_edges(tmp_path, edge):
    x = np.zeros((1, 8, 8, 1), np.float32)
    x[0, 2:5, 3:6, 0] = EDGES[edge]
    code, log = _verify(ROOT / "examples" / "digits.onnx", x, tmp_path)
    assert code == 0, log


def test_all_nan_image_gives_nan_probabilities():
    from edgec.frontends import load_model
    from edgec.ir import interpret

    graph = load_model(ROOT / "examples" / "digits.onnx")
    (y,) = interpret(graph, np.full((1, 8, 8, 1), np.nan, np.float32)).values()
    assert np.isnan(y).all()


def test_compare_matches_nan_with_nan_and_not_with_numbers():
    class G:
        outputs = ["y"]
    e = np.array([np.nan, np.inf, 1.0], np.float32)
    assert compare(G, [[e]], [[e.copy()]]).ok
    assert not compare(G, [[e]], [[np.array([0.5, np.inf, 1.0], np.float32)]]).ok
    assert not compare(G, [[e]], [[np.array([np.nan, -np.inf, 1.0], np.float32)]]).ok


FLOAT_MODELS = ("kws_dscnn_float32", "ic_resnet8_float32", "ad_fc_autoencoder_float32")


@pytest.mark.slow
@pytest.mark.parametrize("model", FLOAT_MODELS)
@pytest.mark.parametrize("edge", ["nan", "inf", "ninf", "max", "nmax"])
def test_shared_float_models_at_the_edges(tmp_path, model, edge):
    path = MODELS_DIR / "onnx" / f"{model}.onnx"
    if not path.exists():
        pytest.skip("../shared/models is not beside the repo")
    import onnx

    dims = [d.dim_value or 1 for d in onnx.load(path).graph.input[0].type.tensor_type.shape.dim]
    code, log = _verify(path, np.full(dims, EDGES[edge], np.float32), tmp_path)
    assert code == 0, log


@pytest.mark.parametrize("edge", ["max", "nmax"])
def test_ad_float_model_at_3_4e38_sums_in_float32_like_onnxruntime(tmp_path, edge):
    """+-3.4e38 inputs overflow a float32 sum: onnxruntime and the C give NaN (inf - inf),
    so the reference sums FULLY_CONNECTED in float32 too (a float64 sum stayed finite)."""
    path = MODELS_DIR / "onnx" / "ad_fc_autoencoder_float32.onnx"
    if not path.exists():
        pytest.skip("../shared/models is not beside the repo")
    ort = pytest.importorskip("onnxruntime")
    from edgec.frontends import load_model
    from edgec.ir import interpret

    x = np.full((1, 640), EDGES[edge], np.float32)
    session = ort.InferenceSession(str(path))
    (expected,) = session.run(None, {session.get_inputs()[0].name: x})
    (ours,) = interpret(load_model(path), x).values()
    assert np.isnan(expected).all()
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(expected))
    code, log = _verify(path, x, tmp_path)
    assert code == 0, log


def test_float32_sum_order_is_the_c_order():
    """The reference adds products one at a time in k order from 0 (as the C does): 3e38 +
    3e38 overflows before -3e38 can cancel it, where a float64 sum gives 3e38."""
    from edgec.ir.ops.fully_connected import float32_dot

    rows = np.array([[3e38, 3e38, -3e38]], np.float32)
    w = np.ones((1, 3), np.float32)
    assert float32_dot(rows, w)[0, 0] == np.inf
    assert float32_dot(rows[:, ::-1], w)[0, 0] == np.float32(3e38)
