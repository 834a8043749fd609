"""A stateful model's generated C (SVDF): the state persists between calls of NAME_run,
NAME_reset() restores it, and three consecutive inferences, a reset and one more match the
reference carrying its state (``interpret(state=...)``) and TFLite Micro bit for bit."""

import shutil
import subprocess

import numpy as np
import pytest

from edgec.cli import main
from edgec.frontends.tflite import load_tflite
from edgec.ir import interpret
from tests.ops.test_svdf import build_svdf, tflm_stream

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")

MAIN = """#include <stdio.h>
#include "kws.h"
int main(void)
{
    static const int8_t x[4][KWS_INPUT0_SIZE] = {%s};
    int8_t y[KWS_OUTPUT0_SIZE];
    int i;
    for (i = 0; i < 4; ++i) {
        if (i == 3) {
            kws_reset();
        }
        if (kws_invoke(x[i], y) != 0) {
            return 1;
        }
        fwrite(y, 1, sizeof(y), stdout);
    }
    return 0;
}
"""


def test_state_persists_between_calls_and_reset_restores_it(tmp_path):
    rng = np.random.default_rng(50)
    data = build_svdf(rng, batch=1, features=6, filters=8, memory=4, rank=2)
    model = tmp_path / "kws.tflite"
    model.write_bytes(data)
    out = tmp_path / "out"
    assert main(["build", str(model), "-o", str(out), "--cache-dir", str(tmp_path / "cache"),
                 "--name", "kws"]) == 0
    header = (out / "kws.h").read_text()
    assert "void kws_reset(void);" in header and "KWS_STATEFUL" in header
    xs = [rng.integers(-128, 128, (1, 6)).astype(np.int8) for _ in range(3)]
    xs.append(xs[0])  # after the reset, the first input again: the first answer again
    rows = ", ".join("{" + ", ".join(str(int(v)) for v in x.reshape(-1)) + "}" for x in xs)
    (out / "main.c").write_text(MAIN % rows)
    exe = tmp_path / "run"
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-o", str(exe),
                    str(out / "main.c"), str(out / "kws.c"), "-lm"], check=True)
    got = np.frombuffer(subprocess.run([str(exe)], check=True, capture_output=True).stdout,
                        np.int8).reshape(4, 1, -1)
    graph = load_tflite(data)
    state = {}
    want = [interpret(graph, [x], state=state)[graph.outputs[0]] for x in xs[:3]]
    np.testing.assert_array_equal(got[:3], np.stack(want))
    np.testing.assert_array_equal(got[:3], np.stack(tflm_stream(data, xs[:3])))
    np.testing.assert_array_equal(got[3], got[0])
    assert not np.array_equal(got[1], interpret(graph, [xs[1]])[graph.outputs[0]])
