"""UNIDIRECTIONAL_SEQUENCE_LSTM's C (templates lstm_integer.c.j2 / lstm_float.c.j2) against
the reference kernel: int8 and 16x8 bit-exact, float within 1e-5; the hand-built models of
tests/ops/test_lstm.py (time-major, batch 2, clipping, both tanh shift directions)."""

import numpy as np
import pytest

from edgec.frontends.tflite import load_tflite
from tests.lower.harness import check_against_reference, needs_gcc
from tests.ops.test_lstm import BUILT, BUILT_16X8, build_lstm

pytestmark = needs_gcc


@pytest.mark.parametrize("case", range(len(BUILT)))
def test_int8_lstm_c_matches_reference(cache_dir, case):
    rng = np.random.default_rng(20 + case)
    graph = load_tflite(build_lstm(rng, **BUILT[case]))
    check_against_reference(graph, cache_dir, rng, sanitize=case == 1)


@pytest.mark.parametrize("case", range(len(BUILT_16X8)))
def test_16x8_lstm_c_matches_reference(cache_dir, case):
    rng = np.random.default_rng(60 + case)
    graph = load_tflite(build_lstm(rng, dtype="int16", **BUILT_16X8[case]))
    check_against_reference(graph, cache_dir, rng, sanitize=case == 1)


@pytest.mark.parametrize("time_major,clip", [(False, 0.0), (True, 0.8)])
def test_float_lstm_c_matches_reference(cache_dir, time_major, clip):
    rng = np.random.default_rng(5)
    graph = load_tflite(build_lstm(rng, dtype="float32", time_major=time_major, batch=2,
                                   cell_clip=clip))
    check_against_reference(graph, cache_dir, rng, sanitize=time_major)
