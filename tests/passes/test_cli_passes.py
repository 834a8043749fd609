"""`edgec prune` and `edgec passes` from the command line, in-process."""

import numpy as np
import pytest

from edgec.cli import main
from edgec.frontends import load_model
from edgec.ir import interpret
from edgec.passes.prune import prune_structured
from tests.passes.graphs import random_inputs
from tests.refs import run_tflm
from tests.shared_models import model_path


def test_prune_prints_the_report_and_writes_a_model_tflm_agrees_with(tmp_path, capsys):
    path = model_path("kws_dscnn_int8")
    out = tmp_path / "pruned.tflite"
    assert main(["prune", str(path), "--structured", "0.25", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "conv_2d_2" in text and "64 -> 48" in text and "MACs: 2,656,768 -> " in text
    written = load_model(out)
    expected = prune_structured(load_model(path), 0.25)
    assert written.tensors[written.nodes[0].outputs[0]].shape[-1] == 48
    x = random_inputs(written)[written.inputs[0]]
    ours = interpret(expected, [x])[expected.outputs[0]]
    np.testing.assert_array_equal(interpret(written, [x])[written.outputs[0]], ours)
    np.testing.assert_array_equal(run_tflm(out.read_bytes(), [x])[0], ours)


def test_prune_json(capsys):
    path = model_path("ad_fc_autoencoder_int8")
    assert main(["prune", str(path), "--structured", "0.5", "--scope", "global", "--json"]) == 0
    import json
    report = json.loads(capsys.readouterr().out)
    assert report["macs_after"] < report["macs_before"] and len(report["layers"]) == 10


@pytest.mark.parametrize("ratio", ["1.5", "0", "abc"])
def test_bad_ratio_is_one_line_and_exit_2(ratio, capsys):
    path = model_path("kws_dscnn_int8")
    assert main(["prune", str(path), "--structured", ratio]) == 2
    err = capsys.readouterr().err
    assert err.startswith("edgec: error: pruning ratio") and err.count("\n") == 1


def test_passes_dump_after(capsys):
    path = model_path("kws_dscnn_int8")
    assert main(["passes", str(path), "--dump-after", "identity"]) == 0
    text = capsys.readouterr().out
    assert "constant_fold" in text and "dead_channels" not in text
    assert "activation lower bound" in text


def test_passes_unknown_pass(capsys):
    assert main(["passes", str(model_path("kws_dscnn_int8")), "--dump-after", "nope"]) == 2
    assert "unknown pass 'nope'" in capsys.readouterr().err
