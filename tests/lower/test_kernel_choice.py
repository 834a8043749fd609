"""``--kernels auto|portable``: portable ignores the target's CPU features (no DSP variants)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgec.build import build
from edgec.cli import main
from edgec.errors import EdgecError
from edgec.lower import lower_graph
from edgec.options import BuildOptions
from tests.lower.test_dsp_kernels import CONV_GEOMETRIES, _window_graph

DIGITS = Path(__file__).resolve().parents[2] / "examples" / "digits_int8.tflite"


def _conv_graph():
    return _window_graph(np.random.default_rng(4), CONV_GEOMETRIES[3], False, "", "RELU")


def test_portable_on_a_dsp_target_is_the_hosts_c(cache_dir):
    graph = _conv_graph()
    (host,) = lower_graph(graph, BuildOptions(target="host", cache_dir=cache_dir))
    (portable,) = lower_graph(graph,
                              BuildOptions(target="mps2_an386", cache_dir=cache_dir,
                                           kernels="portable"))
    (dsp,) = lower_graph(graph, BuildOptions(target="mps2_an386", cache_dir=cache_dir))
    assert portable.c_source == host.c_source
    assert dsp.c_source != host.c_source  # the control: auto does pick the DSP variant


def test_an_unknown_choice_is_refused(cache_dir):
    with pytest.raises(EdgecError, match="auto, portable"):
        lower_graph(_conv_graph(),
                    BuildOptions(target="mps2_an386", cache_dir=cache_dir, kernels="dsp"))


def test_build_records_the_choice(tmp_path, cache_dir):
    result = build(DIGITS, tmp_path,
                   BuildOptions(target="mps2_an386", cache_dir=cache_dir, kernels="portable"))
    assert json.loads((tmp_path / "report.json").read_text())["kernel_choice"] == "portable"
    assert "kernels    portable" in (tmp_path / "report.txt").read_text()
    assert "EDGEC_DSP" not in (tmp_path / f"{result.name}.c").read_text()


def test_cli_accepts_the_flag_and_states_it(tmp_path, capsys, cache_dir):
    args = ["build", str(DIGITS), "--target", "mps2_an386", "-o", str(tmp_path),
            "--cache-dir", str(cache_dir)]
    assert main(args) == 0
    out = capsys.readouterr().out  # auto, the default, is not mentioned
    assert "kernels auto" not in out and "kernels portable" not in out
    assert main(args + ["--kernels", "portable"]) == 0
    assert "kernels portable (the target's CPU features ignored)" in capsys.readouterr().out


def test_cli_refuses_an_unknown_choice(capsys):
    assert main(["verify", str(DIGITS), "--kernels", "dsp"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("edgec: error: argument --kernels") and "'auto', 'portable'" in err
