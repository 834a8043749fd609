"""`edgec build --target host` on the shared int8 models, and its user errors."""

import json
import shutil
import subprocess

import pytest

from edgec.build import build
from edgec.cli import main
from edgec.errors import EdgecError
from edgec.options import BuildOptions
from tests.shared_models import INT8_MODELS, LOWER_BOUNDS, MACS, model_path

PEDANTIC = ["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-c"]


@pytest.fixture(scope="module", params=INT8_MODELS)
def built(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(request.param)
    return build(model_path(request.param), out)


def test_report_totals(built):
    report = json.loads((built.out_dir / "report.json").read_text())
    totals = report["totals"]
    assert totals["macs"] == MACS[built.name]
    assert totals["lower_bound_bytes"] == LOWER_BOUNDS[built.name]
    assert totals["arena_bytes"] <= LOWER_BOUNDS[built.name]
    assert len(report["kernels"]) == len(built.graph.nodes)
    text = (built.out_dir / "report.txt").read_text()
    assert f"arena      {totals['arena_bytes']:,} B" in text


def test_header_macros(built):
    h = (built.out_dir / f"{built.name}.h").read_text()
    n, x = built.name.upper(), built.graph.tensors[built.graph.inputs[0]]
    assert f"#define {n}_ARENA_BYTES {built.plan.arena_bytes}u" in h
    assert f"#define {n}_INPUT_SIZE {x.size}\n" in h
    assert f"#define {n}_INPUT_ZERO_POINT ({x.quant.zp})" in h
    assert f"int {built.name}_invoke(const int8_t *input, int8_t *output);" in h


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
def test_generated_c_is_pedantic_clean(built):
    done = subprocess.run(PEDANTIC + [str(built.out_dir / f"{built.name}.c"), "-o",
                                      str(built.out_dir / "model.o")], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr


def test_two_builds_are_byte_identical(built, tmp_path):
    build(model_path(built.name), tmp_path)
    for name in (f"{built.name}.c", f"{built.name}.h", "CMakeLists.txt"):
        assert (tmp_path / name).read_bytes() == (built.out_dir / name).read_bytes()


def test_ram_limit_quotes_both_numbers(tmp_path):
    with pytest.raises(EdgecError) as info:
        build(model_path("ad_fc_autoencoder_int8"), tmp_path, BuildOptions(ram_limit=700))
    assert "768" in str(info.value) and "700" in str(info.value)


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(EdgecError, match="cannot write to output folder"):
        build(model_path("ad_fc_autoencoder_int8"), blocker / "out")


@pytest.mark.parametrize("name", ["for", "1st", "my-model"])
def test_name_must_be_a_c_identifier(tmp_path, name):
    with pytest.raises(EdgecError, match="C (identifier|keyword)"):
        build(model_path("ad_fc_autoencoder_int8"), tmp_path, BuildOptions(name=name))


def test_cli_build_prints_progress_and_report(tmp_path, capsys):
    code = main(["build", str(model_path("ad_fc_autoencoder_int8")), "-o", str(tmp_path),
                 "--name", "ad", "--arena", "extern", "--ram-limit", "1K"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "kernel 10 of 10" in err
    assert "arena 768 B" in out and "264,192 MACs" in out and "flash" in out
    assert "extern uint8_t ad_arena[];" in (tmp_path / "ad.h").read_text()


def test_cli_build_ram_limit_exit_code(tmp_path, capsys):
    code = main(["build", str(model_path("ad_fc_autoencoder_int8")), "-o", str(tmp_path),
                 "--ram-limit", "512"])
    assert code == 2
    assert "more than --ram-limit 512" in capsys.readouterr().err
