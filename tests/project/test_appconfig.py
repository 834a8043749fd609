"""The app config: one definition (appschema) gives the checks, docs/APP_CONFIG.md and
docs/app.schema.json; bad files are one error line and exit 2; labels are strings and any
label text gives C that compiles."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from edgec.cli import main
from edgec.project import ModelIO, load_app_config, plan_app, render_app
from edgec.project.appdoc import json_schema, markdown
from edgec.targets import load_target
from tests.project.models import DIGITS
from tests.shared_models import MODELS_DIR

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples" / "apps").glob("*.yaml"))


def test_generated_docs_are_current():
    """Run `python -m edgec.project.appdoc` after changing appschema or examples/apps."""
    assert (ROOT / "docs" / "APP_CONFIG.md").read_text() == markdown(ROOT)
    assert json.loads((ROOT / "docs" / "app.schema.json").read_text()) == json_schema()


def test_examples_cover_every_sensor_kind_and_load():
    kinds = {load_app_config(str(path)).sensor for path in EXAMPLES}
    assert kinds >= {"replay", "accel", "imu", "mic", "adc", "temperature", "camera"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_match_the_published_schema(path):
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(_typed(path), json_schema())


def _typed(path: Path) -> dict:
    from edgec.project.appconfig import _Loader
    return yaml.load(path.read_text(), Loader=_Loader)


@pytest.mark.parametrize("text, words", [
    ("sample_rate: .nan", "'sample_rate' must be a finite number, not nan"),
    ("sample_rate: .inf", "'sample_rate' must be a finite number, not inf"),
    ("sample_rate: 0", "'sample_rate' must be positive, not 0"),
    ("window: -3", "'window' must be positive, not -3"),
    ("hop: 2.5", "'hop' must be an integer, not 2.5"),
    ("stack_bytes: -5", "'stack_bytes' must be at least 1024, not -5"),
    ("stack_bytes: 512", "'stack_bytes' must be at least 1024, not 512"),
    ("actions: [{threshold: high}]", "'actions[0].threshold' must be a number, not 'high'"),
    ("actions: [{log: maybe}]", "'actions[0].log' must be true or false, not 'maybe'"),
    ("actions: [{colour: red}]", "unknown key 'actions[0].colour'"),
    ("labels: 5", "'labels' must be a list, not 5"),
    ("loop: periodic", "'loop' must be a mapping"),
    ("loop: {mode: event}", "'loop.trigger' is required in event mode"),
    ("loop: {mode: sometimes}", "unknown loop.mode 'sometimes'"),
    ("image: {height: 0, width: 8, channels: 1}", "'image.height' must be positive, not 0"),
    ("replay: {windows: 0}", "'replay.windows' must be positive, not 0"),
    ("preprocess: [{scale: {gain: .nan}}]", "'preprocess[0].scale.gain' must be a finite"),
    ("windw: 50", "unknown key 'windw'"),
    ("window: 100", "100x1 = 100 values after preprocessing"),  # digits needs 64
    ("[1, 2]", "is not a mapping"),
    ("a: [", "is not valid YAML"),
])
def test_bad_app_config_is_one_line_exit_2(tmp_path, capsys, text, words):
    (tmp_path / "app.yaml").write_text(text + "\n")
    code = main(["build", str(DIGITS), "--target", "native_sim", "-o", str(tmp_path / "o"),
                 "--app", str(tmp_path / "app.yaml")])
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if "error" in line]  # progress lines may come first
    assert code == 2 and len(errors) == 1 and err[-1].startswith("edgec: error:"), err
    assert words in err[-1] and "(hint:" in err[-1]


def test_binary_app_config_is_exit_2(tmp_path, capsys):
    (tmp_path / "app.yaml").write_bytes(bytes(range(256)))
    code = main(["build", str(DIGITS), "--target", "native_sim", "-o", str(tmp_path / "o"),
                 "--app", str(tmp_path / "app.yaml")])
    assert code == 2 and "is not a text file" in capsys.readouterr().err


def test_yes_no_on_off_are_labels(tmp_path):
    (tmp_path / "app.yaml").write_text(
        "labels: [yes, no, on, off]\nactions: [{label: yes, threshold: 0.5, log: true}]\n")
    config = load_app_config(str(tmp_path / "app.yaml"))
    assert config.labels == ["yes", "no", "on", "off"]
    assert config.actions[0].label == "yes" and config.actions[0].log is True


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_any_label_text_gives_c_that_compiles_and_prints_it(tmp_path, motion_build):
    labels = ['say "hi"', "back\\slash", "new\nline", "tri??=graph"]
    (tmp_path / "app.yaml").write_text(yaml.safe_dump(
        {"labels": labels, "replay": {"windows": 2},
         "actions": [{"label": "any", "uart": True}]}))
    config = load_app_config(str(tmp_path / "app.yaml"))
    out = tmp_path / "app"
    shutil.copytree(motion_build.out_dir, out / "model")
    render_app(config, load_target("native_sim"), motion_build, out)
    exe = tmp_path / "app_host"
    name = motion_build.name
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic",
                    "-I", str(out / "src"), "-I", str(out / "model"), str(out / "host/main.c"),
                    *(str(p) for p in sorted((out / "src").glob(f"{name}_*.c"))),
                    str(out / "model" / f"{name}.c"), "-lm", "-o", str(exe)], check=True)
    printed = subprocess.run([str(exe)], capture_output=True, check=True).stdout.decode()
    shown = [line.split(",")[2] for line in printed.splitlines() if line.startswith("EDGEC,")]
    assert shown and all(label in labels[:2] + ["new", "tri??=graph"] for label in shown)


@pytest.mark.parametrize("example, target", [
    ("accel.yaml", "arduino_nano_33_ble"), ("imu.yaml", "arduino_nano_33_ble"),
    ("adc.yaml", "nrf52840dk"), ("temperature.yaml", "nrf52840dk"),
])
def test_sensor_examples_plan_for_a_48_input_model(example, target, motion_build):
    config = load_app_config(str(ROOT / "examples" / "apps" / example))
    # the test model has 4 classes, whatever the example names
    config.labels = (config.labels + [f"extra{i}" for i in range(4)])[:4]
    context = plan_app(config, load_target(target), ModelIO.from_build(motion_build))
    assert context["window"] * context["channels"] == 48


KWS = MODELS_DIR / "kws_dscnn_int8.tflite"


@pytest.mark.skipif(not KWS.exists(), reason="needs the shared MLPerf KWS model")
def test_mic_example_fits_the_kws_model(tmp_path, capsys):
    code = main(["build", str(KWS), "--target", "arduino_nano_33_ble", "-o", str(tmp_path / "o"),
                 "--app", str(ROOT / "examples" / "apps" / "mic.yaml")])
    assert code == 0, capsys.readouterr().err[-500:]
    app = next((tmp_path / "o" / "src").glob("*_app.c")).read_text()
    assert '"yes",' in app and '"off",' in app and "True" not in app
