"""Output folders never mislead: staged writes, another model's project refused (or replaced
with force), files edgec did not write never touched."""

from pathlib import Path

import pytest

from edgec.build import build
from edgec.options import BuildOptions
from edgec.errors import EdgecError
from edgec.outdir import MANIFEST

ROOT = Path(__file__).resolve().parents[1]
INT8 = ROOT / "examples" / "digits_int8.tflite"
FLOAT = ROOT / "examples" / "digits.onnx"


def test_another_models_project_is_refused_then_replaced_with_force(tmp_path):
    out = tmp_path / "out"
    build(INT8, out, BuildOptions(cache_dir=tmp_path / "cache"))
    (out / "notes.txt").write_text("mine")
    with pytest.raises(EdgecError, match="holds the edgec project of model 'digits_int8'"):
        build(FLOAT, out, BuildOptions(cache_dir=tmp_path / "cache"))
    assert (out / "digits_int8.c").exists() and not (out / "digits.c").exists()
    build(FLOAT, out, BuildOptions(cache_dir=tmp_path / "cache"), force=True)
    names = sorted(p.name for p in out.iterdir())
    assert "digits.c" in names and "digits_int8.c" not in names and "notes.txt" in names
    assert not [n for n in names if n.startswith(".edgec-staging")]


def test_rebuilding_the_same_model_is_fine(tmp_path):
    out = tmp_path / "out"
    build(INT8, out, BuildOptions(cache_dir=tmp_path / "cache"))
    build(INT8, out, BuildOptions(cache_dir=tmp_path / "cache"))
    assert (out / MANIFEST).exists()


def test_a_file_edgec_did_not_write_is_not_overwritten(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "CMakeLists.txt").write_text("# the user's own\n")
    with pytest.raises(EdgecError, match="not written by edgec"):
        build(INT8, out, BuildOptions(cache_dir=tmp_path / "cache"))
    assert (out / "CMakeLists.txt").read_text() == "# the user's own\n"
    assert sorted(p.name for p in out.iterdir()) == ["CMakeLists.txt"]


def test_a_failure_after_emitting_leaves_nothing(tmp_path, monkeypatch):
    import edgec.build

    def broken(*args, **kwargs):
        raise EdgecError("compiler exploded")
    monkeypatch.setattr(edgec.build, "compile_facts", broken)
    out = tmp_path / "out"
    with pytest.raises(EdgecError, match="exploded"):
        build(INT8, out, BuildOptions(cache_dir=tmp_path / "cache"))
    assert list(out.iterdir()) == []
