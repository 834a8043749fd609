"""The portable preprocessing C (templates/preprocess/) against numpy, through ctypes."""

from __future__ import annotations

import ctypes
import shutil
import subprocess

import numpy as np
import pytest

from edgec.templating import render

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
F = np.float32
RNG = np.random.default_rng(7)


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    """The preprocessing library rendered with prefix 't', built warning-free as a .so."""
    folder = tmp_path_factory.mktemp("pre")
    context = {"name": "t", "NAME": "T", "version": "test"}
    (folder / "t_preprocess.h").write_text(render("preprocess/preprocess.h.j2", context))
    (folder / "t_preprocess.c").write_text(render("preprocess/preprocess.c.j2", context))
    so = folder / "libpre.so"
    subprocess.run(["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic",
                    "-shared", "-fPIC", str(folder / "t_preprocess.c"), "-lm", "-o", str(so)],
                   check=True)
    return ctypes.CDLL(str(so))


def ptr(a: np.ndarray):
    return a.ctypes.data_as(ctypes.c_void_p)


def signal(frames=32, channels=3):
    return RNG.normal(1.5, 2.0, (frames, channels)).astype(F)


def test_dc_remove_and_zscore(lib):
    x = signal()
    y = x.copy()
    lib.t_pre_dc_remove(ptr(y), 32, 3)
    np.testing.assert_allclose(y, x - x.mean(axis=0), atol=1e-5)
    y = x.copy()
    lib.t_pre_zscore(ptr(y), 32, 3)
    np.testing.assert_allclose(y, (x - x.mean(0)) / (x.std(0) + 1e-6), atol=1e-4)


def test_moving_average_is_causal(lib):
    x, taps = signal(), 4
    y = x.copy()
    lib.t_pre_moving_average(ptr(y), 32, 3, taps)
    expected = np.stack([x[max(0, t - taps + 1):t + 1].mean(0) for t in range(32)])
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_lowpass_first_order_iir(lib):
    x, alpha = signal(), 0.3
    y = x.copy()
    lib.t_pre_lowpass(ptr(y), 32, 3, ctypes.c_float(alpha))
    expected = x.astype(np.float64).copy()
    for t in range(1, 32):
        expected[t] = expected[t - 1] + alpha * (x[t] - expected[t - 1])
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_standardize_and_scale(lib):
    x = signal()
    mean, std = np.array([1, 2, 3], F), np.array([0.5, 2, 4], F)
    y = x.copy()
    lib.t_pre_standardize(ptr(y), 32, 3, ptr(mean), ptr(std))
    np.testing.assert_allclose(y, (x - mean) / std, rtol=1e-6)
    lib.t_pre_scale(ptr(y), y.size, ctypes.c_float(2.0), ctypes.c_float(-1.0))
    np.testing.assert_allclose(y, (x - mean) / std * 2 - 1, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("hann", [0, 1])
def test_fft_magnitude_framed(lib, hann):
    n, frame, hop = 256, 64, 48
    x = RNG.normal(size=n).astype(F)
    frames = (n - frame) // hop + 1
    out = np.zeros((frames, frame // 2 + 1), F)
    scratch = np.zeros(2 * frame, F)
    got = lib.t_pre_fft_magnitude(ptr(x), n, frame, hop, hann, ptr(out), ptr(scratch))
    window = np.hanning(frame + 1)[:-1] if hann else np.ones(frame)  # periodic Hann
    expected = np.stack([np.abs(np.fft.rfft(x[s:s + frame] * window))
                         for s in range(0, n - frame + 1, hop)])
    assert got == frames
    np.testing.assert_allclose(out, expected, rtol=1e-3, atol=1e-3)


def mel_reference(spec, nfft, rate, bins, fmin, fmax):
    """HTK-mel triangular filters on |X|, log(1e-6 + energy): written from the formulas."""
    mel = lambda f: 2595 * np.log10(1 + f / 700)  # noqa: E731
    hz = lambda m: 700 * (10 ** (m / 2595) - 1)  # noqa: E731
    edges = hz(np.linspace(mel(fmin), mel(fmax), bins + 2))
    freqs = np.arange(nfft // 2 + 1) * rate / nfft
    left, center, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    weights = np.maximum(0, np.minimum((freqs - left) / (center - left),
                                       (right - freqs) / (right - center)))
    return np.log(1e-6 + spec @ weights.T)


def test_log_mel_and_dct(lib):
    frames, nfft, bins, coeffs = 3, 64, 10, 6
    spec = np.abs(RNG.normal(size=(frames, nfft // 2 + 1))).astype(F)
    out = np.zeros((frames, bins), F)
    lib.t_pre_log_mel(ptr(spec), frames, nfft, ctypes.c_float(8000), bins, ctypes.c_float(100),
                      ctypes.c_float(4000), ptr(out))
    np.testing.assert_allclose(out, mel_reference(spec, nfft, 8000, bins, 100, 4000),
                               rtol=1e-4, atol=1e-4)
    mfcc = np.zeros((frames, coeffs), F)
    lib.t_pre_dct(ptr(out), frames, bins, coeffs, ptr(mfcc))
    k = np.arange(bins)
    basis = np.stack([np.cos(np.pi * i * (2 * k + 1) / (2 * bins)) for i in range(coeffs)])
    scale = np.sqrt(np.where(np.arange(coeffs) == 0, 1.0, 2.0) / bins)
    np.testing.assert_allclose(mfcc, out.astype(np.float64) @ basis.T * scale, rtol=1e-4,
                               atol=1e-4)


def test_grayscale_resize_equalize(lib):
    rgb = RNG.uniform(0, 255, (6, 10, 3)).astype(F)
    gray = np.zeros((6, 10), F)
    lib.t_pre_grayscale(ptr(rgb), 60, ptr(gray))
    np.testing.assert_allclose(gray, rgb @ np.array([0.299, 0.587, 0.114]), rtol=1e-5)
    small = np.zeros((4, 3), F)
    lib.t_pre_resize(ptr(gray), 6, 10, 1, ptr(small), 4, 3)
    rows, cols = np.arange(4) * 6 // 4, np.arange(3) * 10 // 3
    np.testing.assert_array_equal(small, gray[rows][:, cols])
    levels = np.floor(gray + 0.5).clip(0, 255).astype(int)
    eq = gray.copy()
    lib.t_pre_equalize(ptr(eq), eq.size)
    cdf = np.cumsum(np.bincount(levels.ravel(), minlength=256))
    cdf_min = cdf[cdf > 0][0]
    expected = np.floor((cdf - cdf_min) * 255 / (levels.size - cdf_min) + 0.5)[levels]
    np.testing.assert_array_equal(eq, expected)


def test_quantize_int8_rounds_half_away_and_saturates(lib):
    x = np.array([0.0, 0.05, -0.05, 0.15, -0.15, 1.0, -1.0, 100.0, -100.0, 0.0349], F)
    out = np.zeros(x.size, np.int8)
    lib.t_pre_quantize_int8(ptr(x), x.size, ctypes.c_float(0.1), 3, ptr(out))
    q = (x / F(0.1)).astype(F)
    expected = np.clip(np.sign(q) * np.floor(np.abs(q) + F(0.5)) + 3, -128, 127)
    np.testing.assert_array_equal(out, expected.astype(np.int8))


def test_quantize_int16_rounds_half_away_and_saturates(lib):
    x = np.array([0.0, 5e-5, -5e-5, 1.5e-4, -1.5e-4, 1.0, -1.0, 100.0, -100.0, 3e38], F)
    out = np.zeros(x.size, np.int16)
    lib.t_pre_quantize_int16(ptr(x), x.size, ctypes.c_float(1e-4), 0, ptr(out))
    q = (x / F(1e-4)).astype(F)
    expected = np.clip(np.sign(q) * np.floor(np.abs(q) + F(0.5)), -32768, 32767)
    np.testing.assert_array_equal(out, expected.astype(np.int16))
