"""``--optimize speed|size``: the default rule, what each mode lowers to, and the report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import edgec.build
from edgec.build import SPEED_FLASH_SHARE, build, choose_optimize
from edgec.cli import main
from edgec.lower import lower_graph
from edgec.lower.dsp import layout
from edgec.options import BuildOptions
from edgec.targets import load_target
from tests.lower.test_dsp_kernels import CONV_GEOMETRIES, _fc_graph, _window_graph

DIGITS = Path(__file__).resolve().parents[2] / "examples" / "digits_int8.tflite"
BOARD = {"flash_bytes": 1000}


@pytest.mark.parametrize("weights, mode", [(0, "speed"), (500, "speed"), (501, "size")])
def test_default_is_speed_while_constants_fit_half_the_flash(weights, mode):
    assert SPEED_FLASH_SHARE == 0.5
    choice = choose_optimize(None, BOARD, weights)
    assert choice["mode"] == mode and choice["requested"] is None
    assert f"{weights:,} B of constants" in choice["reason"]


@pytest.mark.parametrize("requested", ["speed", "size"])
def test_an_asked_mode_wins(requested):
    assert choose_optimize(requested, BOARD, 10 ** 9)["mode"] == requested
    assert choose_optimize(requested, BOARD, 0)["mode"] == requested


def test_a_target_without_flash_budget_defaults_to_speed():
    assert choose_optimize(None, load_target("host"), 10 ** 9)["mode"] == "speed"


def test_size_mode_halves_dsp_weights(cache_dir):
    """int8 weights in size mode; the conv's row kernel widens kh input rows into the
    scratch (geometry 3: 3 rows of 7 padded columns by 16 channels, int16), the fully
    connected kernel (split words) widens its row of 64 into scratch, int16 (its memory
    variant reads it in place: tests/lower/test_dsp_fc_split.py)."""
    graphs = [_window_graph(np.random.default_rng(1), CONV_GEOMETRIES[3], False, "", "RELU"),
              _fc_graph(np.random.default_rng(2), (1, 64, 12), "", True, "NONE")]
    for graph in graphs:
        (speed,) = lower_graph(graph, BuildOptions(target="mps2_an386", cache_dir=cache_dir))
        (size,) = lower_graph(graph,
                              BuildOptions(target="mps2_an386", cache_dir=cache_dir,
                                           optimize="size"))
        w_speed, w_size = (next(v for k, v in kernel.constants.items() if k.endswith("_w"))
                           for kernel in (speed, size))
        assert w_speed.nbytes == 2 * w_size.nbytes
        assert speed.scratch_bytes > 0
        assert size.scratch_bytes == (3 * 7 * 16 * 2 if graph.nodes[0].op == "CONV_2D" else 64 * 2)


def test_the_host_ignores_the_mode(cache_dir):
    graph = _window_graph(np.random.default_rng(3), CONV_GEOMETRIES[0], False, "", "RELU")
    speed, size = (lower_graph(graph,
                               BuildOptions(target="host", cache_dir=cache_dir, optimize=mode))
                   for mode in ("speed", "size"))
    assert speed[0].c_source == size[0].c_source


def test_build_falls_back_to_size_when_speed_would_crowd_the_flash(tmp_path, monkeypatch,
                                                                   cache_dir):
    def small_board(name):
        return {**load_target(name), "flash_bytes": 4096}

    monkeypatch.setattr(edgec.build, "load_target", small_board)
    result = build(DIGITS, tmp_path, BuildOptions(target="mps2_an386", cache_dir=cache_dir))
    choice = json.loads((tmp_path / "report.json").read_text())["optimize"]
    assert choice["requested"] is None and choice["base"] == "size"
    assert "> 50% of 4,096 B flash" in choice["flash_rule"]
    assert "speed" not in choice["modes_allowed"]  # per step among int8-weight kernels only
    assert all("speed" not in s["chosen"]["modes"] or len(s["chosen"]["modes"]) > 1
               for s in choice["steps"])
    assert "EDGEC_DSP_COMPACT" in (tmp_path / f"{result.name}.c").read_text()


def test_cli_states_the_mode(tmp_path, capsys, cache_dir):
    args = ["build", str(DIGITS), "--target", "mps2_an386", "-o", str(tmp_path),
            "--cache-dir", str(cache_dir)]
    assert main(args) == 0
    out = capsys.readouterr().out  # the default picks per step among the modes' kernels
    assert "optimize per-step (default: per step the fastest kernel by the cost model" in out
    assert main(args + ["--optimize", "size"]) == 0
    assert "optimize size (asked for)" in capsys.readouterr().out


def test_compact_layouts_keep_int8_in_natural_order():
    rows = np.arange(-30, 30).reshape(6, 10)  # 6 channels, K = 10 (padded to 12)
    data = np.ascontiguousarray(layout.blocked8(rows, 4), "<i4").view(np.int8)
    np.testing.assert_array_equal(data[:16].reshape(4, 4), rows[:4, :4])  # group 0, ch 0..3
    np.testing.assert_array_equal(data[48:].reshape(2, 12)[:, 8:], [[r[8], r[9], 0, 0]
                                                                     for r in rows[4:]])
    w = np.arange(-50, 40).reshape(1, 3, 5, 6)  # 15 taps, 6 channels
    data = np.ascontiguousarray(layout.depthwise8(w), "<i4").view(np.int8)
    np.testing.assert_array_equal(data[:60].reshape(15, 4), w.reshape(15, 6)[:, :4])
    np.testing.assert_array_equal(data[60:90], w.reshape(15, 6)[:, 4:].T.reshape(-1))
    assert data.size == 92  # the tail padded to a whole word


def _nibble_halves(words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What the int4 kernels unpack from weight words: the high and the low nibbles' groups,
    as int8 (``word & 0xF0F0F0F0`` and ``(word << 4) & 0xF0F0F0F0``, divided by 16)."""
    u = np.ascontiguousarray(words, "<i4").view(np.uint32)
    hi = (u & 0xF0F0F0F0).view(np.int8) // 16
    lo = ((u << 4) & 0xF0F0F0F0).view(np.int8) // 16
    return hi.reshape(-1, 4), lo.reshape(-1, 4)


def test_int4_layouts_unpack_to_the_weights():
    rng = np.random.default_rng(5)
    w = rng.integers(-8, 8, (1, 3, 3, 22))  # 9 taps, 5 groups (two pairs + one), 2 tail
    words = layout.depthwise4(w)
    taps = w.reshape(9, 22)
    hi, lo = _nibble_halves(words[:27])  # three pairs of groups, nine taps each
    for p in range(3):
        np.testing.assert_array_equal(hi[9 * p:9 * p + 9], taps[:, 8 * p:8 * p + 4])
        expect_lo = taps[:, 8 * p + 4:8 * p + 8] if p < 2 else np.zeros((9, 4))
        np.testing.assert_array_equal(lo[9 * p:9 * p + 9], expect_lo)
    tail = np.ascontiguousarray(words[27:], "<i4").view(np.int8)
    np.testing.assert_array_equal(tail[:18], taps[:, 20:].T.reshape(-1))
    assert words.size == 27 + 5  # half the int8 bytes of the groups, the tail int8
    rows = rng.integers(-8, 8, (5, 13))  # K = 13: two pairs of groups, zero-padded
    words = layout.blocked4(rows, 4)
    hi, lo = _nibble_halves(words)
    np.testing.assert_array_equal(hi[:4], rows[:4, 0:4])  # pair 0, channels 0..3
    np.testing.assert_array_equal(lo[4:8, :1], rows[:4, 12:13])  # pair 1, second group
    np.testing.assert_array_equal(hi[8:], rows[4:, [0, 1, 2, 3, 8, 9, 10, 11]].reshape(2, 4))
