"""Identical constant arrays are defined once in the generated C (an unrolled GRU's steps
share their quantization, so their tables and weights are the same bytes)."""

import json
import re
import shutil

import numpy as np
import pytest

from edgec.cli import main
from tests.quantize.test_ptq_recurrent import rnn_model, signal

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")

_DEFINITION = re.compile(r"static const (\w+) (\w+)\[(\d+)\][^=]*= \{([^}]*)\};", re.S)


def _definitions(c_text: str) -> list[tuple[str, str, int, str]]:
    return [(ctype, name, int(n), " ".join(body.split()))
            for ctype, name, n, body in _DEFINITION.findall(c_text)]


@needs_gcc
def test_unrolled_gru_defines_each_distinct_array_once_and_verifies(tmp_path, capsys):
    model, cal = tmp_path / "gru.onnx", tmp_path / "cal.npz"
    model.write_bytes(rnn_model("GRU", steps=8, hidden=6))
    np.savez(cal, X=signal((1, 8, 3), 64, seed=1))
    out = tmp_path / "out"
    assert main(["build", str(model), "--calibrate", str(cal), "--target", "host",
                 "-o", str(out), "--name", "gru"]) == 0
    c = (out / "gru.c").read_text()
    definitions = _definitions(c)
    assert len(definitions) > 10
    contents = [(ctype, body) for ctype, _, _, body in definitions]
    assert len(set(contents)) == len(contents), "two constant arrays hold the same values"
    # Steps share a quantization, so several call sites name one table.
    uses = {name: len(re.findall(rf"\b{name}\b", c)) - 1 for _, name, _, _ in definitions}
    assert max(uses.values()) > 1
    # The report counts each array once, as the C holds it.
    report = json.loads((out / "report.json").read_text())
    total = sum(n * {"int8_t": 1, "uint8_t": 1, "int16_t": 2, "uint16_t": 2, "int32_t": 4,
                     "uint32_t": 4, "int64_t": 8, "float": 4}[ctype]
                for ctype, _, n, _ in definitions)
    assert report["totals"]["weight_bytes"] == total
    capsys.readouterr()
    assert main(["verify", str(model), "--calibrate", str(cal), "-n", "2"]) == 0
