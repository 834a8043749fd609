"""zephyr_app/ is the one source of the generated applications: rendering reads its templates,
and rendering it by hand around a model folder gives what `edgec build --target` writes."""

import shutil
from pathlib import Path

import pytest
import yaml

from edgec.errors import EdgecError
from edgec.project import (APP_DIR, ModelIO, parse_app_config, plan_app, render_app,
                           render_files)
from edgec.project.render import APP_FILES, OVERLAY_FILE, PARTITION_FILES, REPLAY_FILE
from edgec.cli import main
from edgec.targets import load_target, target_for_board


def test_every_reference_template_is_rendered():
    templates = {str(p.relative_to(APP_DIR)) for p in APP_DIR.rglob("*.j2")}
    assert templates == {t for t, _ in APP_FILES + PARTITION_FILES + [REPLAY_FILE, OVERLAY_FILE]}
    assert not list((Path(APP_DIR).parents[0] / "templates").glob("zephyr/*"))


@pytest.mark.parametrize("template, output", [
    ("src/app.c.j2", "src/{name}_app.c"), ("src/main.c.j2", "src/main.c"),
    ("project/prj.conf.j2", "prj.conf"), ("src/replay.c.j2", "src/{name}_replay.c"),
])
def test_rendering_reads_zephyr_app(tmp_path, digits_build, template, output):
    """A change to a reference template shows up in the rendered file, and only there."""
    changed = tmp_path / "zephyr_app"
    shutil.copytree(APP_DIR, changed)
    marker = "# edgec-change-detection\n" if template.endswith(".conf.j2") else \
        "/* edgec-change-detection */\n"
    with open(changed / template, "a") as f:
        f.write(marker)
    context = plan_app(parse_app_config(None), load_target("native_sim"),
                       ModelIO.from_build(digits_build))
    before, after = render_files(context), render_files(context, changed)
    out = output.format(name=digits_build.name)
    assert after[out] == before[out] + marker
    assert {k: v for k, v in after.items() if k != out} == \
        {k: v for k, v in before.items() if k != out}


@pytest.mark.parametrize("fixture", ["digits_build", "motion_build"])
def test_model_dir_reads_back_the_build(request, fixture):
    build = request.getfixturevalue(fixture)
    fresh, read = ModelIO.from_build(build), ModelIO.from_dir(build.out_dir)
    assert (read.name, read.totals) == (fresh.name, fresh.totals)
    for got, want in zip(read.inputs + read.outputs, fresh.inputs + fresh.outputs):
        assert (got.shape, got.dtype, got.quant) == (tuple(want.shape), want.dtype, want.quant)


def test_model_io_comes_from_report_json_alone(tmp_path, digits_build):
    """The header's comments are for people: report.json is what ModelIO reads."""
    shutil.copy(digits_build.out_dir / "report.json", tmp_path)
    read, fresh = ModelIO.from_dir(tmp_path), ModelIO.from_build(digits_build)
    assert [(t.name, t.shape, t.dtype) for t in read.inputs + read.outputs] == \
        [(t.name, tuple(t.shape), t.dtype) for t in fresh.inputs + fresh.outputs]
    assert read.inputs[0].quant.s == fresh.inputs[0].quant.s and read.inputs[0].quant.zp == \
        fresh.inputs[0].quant.zp


def test_model_dir_must_be_an_edgec_build(tmp_path):
    with pytest.raises(EdgecError, match="does not hold a model built by edgec"):
        ModelIO.from_dir(tmp_path)


def test_hand_render_equals_edgec_build(tmp_path, digits_build):
    """`edgec app` (what zephyr_app/CMakeLists.txt runs) around the model folder
    writes the same application as rendering around the build result."""
    app = {"replay": {"runs": 1, "windows": 2}, "actions": [{"uart": True, "led": "led0"}]}
    (tmp_path / "app.yaml").write_text(yaml.safe_dump(app))
    assert main(["app", "--model-dir", str(digits_build.out_dir), "--board", "mps2/an386",
                 "--app", str(tmp_path / "app.yaml"), "-o", str(tmp_path / "hand")]) == 0
    render_app(parse_app_config(app), load_target("mps2_an386"), digits_build,
               tmp_path / "built")
    hand = {p.relative_to(tmp_path / "hand"): p.read_bytes()
            for p in (tmp_path / "hand").rglob("*") if p.is_file()}
    built = {p.relative_to(tmp_path / "built"): p.read_bytes()
             for p in (tmp_path / "built").rglob("*") if p.is_file()}
    assert hand == built and Path("src/main.c") in hand


def test_hand_render_refuses_an_unknown_board(tmp_path, digits_build, capsys):
    assert main(["app", "--model-dir", str(digits_build.out_dir), "--board", "esp32_devkitc",
                 "-o", str(tmp_path)]) == 2
    assert "no edgec target describes Zephyr board 'esp32_devkitc'" in capsys.readouterr().err
    assert target_for_board("nrf52840dk/nrf52840")["name"] == "nrf52840dk"
