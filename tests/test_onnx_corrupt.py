"""Damaged ONNX files give a one-line user error (exit 2), never an internal error."""

import contextlib
import io
import random

import pytest

from edgec.cli import main
from tests.shared_models import MODELS_DIR

KWS_QDQ = MODELS_DIR / "onnx" / "kws_dscnn_int8.onnx"


def _damaged_copies(data: bytes, count: int, seed: int):
    """Flipped bytes, truncations and overwritten runs, in turn."""
    rng = random.Random(seed)
    for i in range(count):
        b = bytearray(data)
        if i % 3 == 0:
            for _ in range(20):
                b[rng.randrange(len(b))] = rng.randrange(256)
        elif i % 3 == 1:
            b = b[:rng.randrange(len(b))]
        else:
            j = rng.randrange(len(b))
            b[j:j + 50] = bytes(rng.randrange(256) for _ in range(50))
        yield bytes(b)


@pytest.mark.skipif(not KWS_QDQ.exists(), reason="../shared/models is not beside the repo")
def test_damaged_onnx_never_crashes(tmp_path):
    path = tmp_path / "damaged.onnx"
    for data in _damaged_copies(KWS_QDQ.read_bytes(), 60, seed=1):
        path.write_bytes(data)
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(["inspect", str(path)])
        assert code in (0, 2), err.getvalue()
        if code == 2:
            lines = err.getvalue().strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("edgec: error: ")


def test_name_that_is_not_utf8_is_reported(tmp_path):
    from onnx import TensorProto, helper

    node = helper.make_node("Relu", ["x"], ["y"], name="relu_node")
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    data = helper.make_model(graph).SerializeToString()
    assert data.count(b"relu_node") == 1
    path = tmp_path / "bad_name.onnx"
    path.write_bytes(data.replace(b"relu_node", b"relu\xff\xfeode"))
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["inspect", str(path)]) == 2
    assert "not valid UTF-8" in err.getvalue()
