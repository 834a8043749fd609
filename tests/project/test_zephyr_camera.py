"""Camera input through Zephyr's video API on native_sim: the software video generator's
colour-bar frames -> grayscale -> resize to 96x96 -> histogram equalisation -> a
person-detection-style 96x96x1 int8 model (examples/person96_int8.tflite, seeded weights).
Every raw output and result line the firmware prints equals the reference interpreter's on
the same frame, preprocessed by the Python reference (edgec/project/imageref.py)."""

import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgec.build import build
from edgec.ir import interpret
from edgec.options import BuildOptions
from edgec.project import ModelIO, parse_app_config, plan_app, render_files
from edgec.project.budget import check_budget
from edgec.project.imageref import preprocess_image, quantize_int8, sw_generator_frame
from edgec.targets import load_target
from edgec.verify.zephyr import expected_line, parse_output
from tests.project.zephyr_tools import (BUILD_ROOT, ZEPHYR_BASE, image_size, write_tree,
                                        zephyr, zephyr_build, zephyr_overhead)

MODEL = Path(__file__).resolve().parents[2] / "examples" / "person96_int8.tflite"
APP = {"sensor": "camera", "image": {"height": 120, "width": 160, "channels": 3},
       "preprocess": ["grayscale", {"resize": {"width": 96, "height": 96}}, "equalize"],
       "labels": ["no_person", "person"], "actions": [{"uart": True}]}
FRAMES = 3


def test_reference_preprocessing_of_a_generator_frame():
    """The colour bars: 8 bars of 20 pixels at 160 wide; their grey levels, equalised, are
    8 distinct levels spread to 0..255."""
    frame = sw_generator_frame(120, 160)
    assert frame.shape == (120, 160, 3) and frame[0, 20].tolist() == [0, 0, 255]
    x = preprocess_image(frame, APP["preprocess"])
    assert x.shape == (96, 96, 1) and len(np.unique(x)) == 8
    assert x.min() == 0 and x.max() == 255


@pytest.mark.zephyr
@pytest.mark.skipif(not ZEPHYR_BASE, reason=zephyr[1].kwargs["reason"])
def test_camera_app_on_native_sim_matches_reference(tmp_path_factory):
    work = tmp_path_factory.mktemp("camera")
    result = build(MODEL, work / "model", BuildOptions(target="host"))
    target, config = load_target("native_sim"), parse_app_config(APP)
    io = ModelIO.from_build(result)
    context = plan_app(config, target, io)
    files = {rel: text.encode("ascii") for rel, text in render_files(context).items()}
    for path in sorted((work / "model").iterdir()):
        files[f"model/{path.name}"] = path.read_bytes()
    files["camera.conf"] = (f"CONFIG_EDGEC_APP_FRAMES={FRAMES}\n"
                            "CONFIG_EDGEC_APP_PRINT_OUTPUT=y\n").encode()
    app = BUILD_ROOT / "camera-native_sim" / "app"  # app and build kept: incremental
    write_tree(files, app)
    zephyr_dir = zephyr_build(app, "native_sim", app.parent / "build",
                              f"-DEXTRA_CONF_FILE={app / 'camera.conf'}")
    # -stop_at: simulated seconds, a bound should the app never finish (3 frames take 0.1 s)
    run = subprocess.run([str(zephyr_dir / "zephyr.exe"), "-no-rt", "-stop_at=20"],
                         capture_output=True, text=True, timeout=300)
    lines = run.stdout.splitlines()
    assert run.returncode == 0 and "EDGEC DONE" in lines, run.stdout[-2000:]

    graph = result.graph
    tensor = graph.tensors[graph.inputs[0]]
    x = preprocess_image(sw_generator_frame(120, 160), APP["preprocess"])
    q = quantize_int8(x, tensor.quant.s, tensor.quant.zp).reshape(tensor.shape)
    expected = next(iter(interpret(graph, {graph.inputs[0]: q}).values()))
    outputs = [parse_output(line, "int8", 2) for line in lines if line.startswith("EDGEC OUT,")]
    results = [line.rsplit(",", 1)[0] for line in lines if line.startswith("EDGEC,")]
    assert len(outputs) == len(results) == FRAMES
    for got in outputs:
        np.testing.assert_array_equal(got, expected.reshape(-1))
    assert results == [expected_line(graph, expected, APP["labels"])] * FRAMES
    # the budget covers the link (two 76,800 B frames in the video pool among the app's RAM)
    budget = check_budget(target, io.totals, context)
    image = image_size(zephyr_dir.parent, target)
    assert image["ram"] <= budget["ram_bytes"] and image["flash"] <= budget["flash_bytes"]
    measured = zephyr_overhead(zephyr_dir.parent, target, context["stack_bytes"])
    # the video pool lies in Zephyr's objects; the budget counts it with the app
    measured["ram"] -= (context["video_bytes"] + context["video_slack"]) * \
        context["video_buffers"]
    recorded = target["zephyr_overhead"]["sensor"]
    assert all(measured[k] <= recorded[k] <= measured[k] * 1.25 + 1024 for k in recorded), \
        measured
