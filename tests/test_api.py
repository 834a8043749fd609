"""The Python API: edgec.load(...).inspect()/build()/verify(), edgec.verify(...), typed."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import edgec

ROOT = Path(__file__).resolve().parents[1]
DIGITS = ROOT / "examples" / "digits_int8.tflite"


def test_load_inspect_run_build(tmp_path):
    m = edgec.load(DIGITS)
    assert "model digits_int8: 7 nodes" in m.inspect() and m.unsupported() == []
    x = np.load(ROOT / "examples" / "digit0.npy")
    out = m.run({m.graph.inputs[0]: x})
    assert int(np.argmax(next(iter(out.values())))) == 0
    r = m.build(tmp_path / "out", target="host")
    assert (tmp_path / "out" / "digits_int8.c").is_file()
    assert r.report["totals"]["arena_bytes"] == r.plan.arena_bytes


def test_verify_function_and_errors():
    result = edgec.verify(DIGITS, count=3)
    assert result.ok and result.message == "bit-exact on 3 inputs"
    assert edgec.verify.verify is not None  # the package stays usable as a module
    try:
        edgec.load(ROOT / "README.md")
    except edgec.EdgecError as exc:
        assert "README.md" in str(exc)
    else:
        raise AssertionError("a non-model file must raise EdgecError")


def test_package_is_typed():
    assert (ROOT / "edgec" / "py.typed").is_file()
