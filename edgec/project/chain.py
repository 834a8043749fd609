"""The preprocessing chain: app-config stages -> shapes, buffer sizes and the C calls into
``templates/preprocess/`` that turn one window of samples into the model input.

A window is ``frames x channels`` floats (an image frame is ``height*width x channels``).
Stages work in place or write to the other of two ping-pong buffers; Python tracks the shape
through every stage so that a window which cannot become the model input is refused here,
with both sizes, instead of failing on the device.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edgec.emit.cdata import c_float
from edgec.errors import EdgecError

# stage name: default parameters (a stage given as a bare string takes these)
STAGES = {
    "dc_remove": {}, "zscore": {}, "moving_average": {"taps": 4},
    "lowpass": {"alpha": 0.25}, "standardize": {"mean": None, "std": None},
    "scale": {"gain": 1.0, "offset": 0.0},
    "fft_magnitude": {"frame": None, "hop": None, "hann": True},
    "log_mel": {"bins": 40, "fmin": 0.0, "fmax": None}, "dct": {"coefficients": 13},
    "grayscale": {}, "resize": {"width": None, "height": None}, "equalize": {},
}
IMAGE_STAGES = ("grayscale", "resize", "equalize")


@dataclass
class Shape:
    """What one buffer holds: ``frames x channels`` values; images also know height/width;
    after an FFT, ``nfft`` is the frame length the spectrum came from."""

    frames: int
    channels: int
    height: int | None = None
    width: int | None = None
    nfft: int | None = None
    last: str = "window"

    @property
    def size(self) -> int:
        return self.frames * self.channels


@dataclass
class Chain:
    """The planned chain: C statements in order and the buffer sizes they need (floats)."""

    prefix: str
    calls: list[str] = field(default_factory=list)
    buffer_floats: list[int] = field(default_factory=lambda: [1, 1])
    scratch_floats: int = 1
    current: int = 0  # which buffer holds the latest values
    shape: Shape | None = None

    def grow(self, index: int, floats: int) -> None:
        self.buffer_floats[index] = max(self.buffer_floats[index], floats)


def _stage(spec, index: int) -> tuple[str, dict]:
    """(name, parameters with defaults) of one chain entry: "name" or {name: {params}}."""
    if isinstance(spec, str):
        name, params = spec, {}
    elif isinstance(spec, dict) and len(spec) == 1:
        name, params = next(iter(spec.items()))
        params = params or {}
    else:
        raise EdgecError(f"app config: preprocess step {index} is not 'name' or {{name: {{...}}}}")
    if name not in STAGES:
        raise EdgecError(f"app config: unknown preprocess step '{name}'",
                         f"valid steps: {', '.join(STAGES)}")
    unknown = sorted(set(params) - set(STAGES[name]))
    if unknown:
        raise EdgecError(f"app config: preprocess step '{name}' has unknown parameter(s) "
                         f"{unknown}", f"valid: {', '.join(STAGES[name]) or 'none'}")
    return name, {**STAGES[name], **params}


def _buf(chain: Chain, which: int) -> str:
    return f"{chain.prefix}_buf{which}"


def plan_chain(prefix: str, steps: list, window: Shape, sample_rate: float) -> Chain:
    """Plan ``steps`` over a window of shape ``window``; every C call uses ``prefix``."""
    chain = Chain(prefix, shape=window)
    chain.grow(0, window.size)
    for index, spec in enumerate(steps):
        name, params = _stage(spec, index)
        if name in IMAGE_STAGES and chain.shape.height is None:
            raise EdgecError(f"app config: '{name}' needs an image",
                             "give image: {height, width, channels} or use a camera")
        _PLANNERS[name](chain, params, sample_rate)
        chain.shape.last = name
    return chain


def _emit(chain: Chain, text: str) -> None:
    chain.calls.append(f"{chain.prefix}_pre_{text};")


def _to_other(chain: Chain, shape: Shape) -> tuple[str, str]:
    """Move to the other buffer for a stage that cannot work in place; (source, dest)."""
    source, chain.current = _buf(chain, chain.current), 1 - chain.current
    chain.grow(chain.current, shape.size)
    chain.shape = shape
    return source, _buf(chain, chain.current)


def _in_place(name: str):
    def plan(chain: Chain, params: dict, _rate: float) -> None:
        s, b = chain.shape, _buf(chain, chain.current)
        args = {"moving_average": lambda: f", {int(params['taps'])}",
                "lowpass": lambda: f", {c_float(params['alpha'])}"}.get(name, str)()
        _emit(chain, f"{name}({b}, {s.frames}, {s.channels}{args})")
    return plan


def _standardize(chain: Chain, params: dict, _rate: float) -> None:
    s = chain.shape
    for key in ("mean", "std"):
        values = params[key]
        if not isinstance(values, list) or len(values) != s.channels:
            raise EdgecError(f"app config: standardize '{key}' needs {s.channels} values "
                             f"(one per channel), got {values!r}")
    mean = ", ".join(c_float(v) for v in params["mean"])
    std = ", ".join(c_float(v) for v in params["std"])
    b = _buf(chain, chain.current)
    chain.calls.append("{\n        static const float mean[] = {%s};\n"
                       "        static const float std[] = {%s};\n"
                       "        %s_pre_standardize(%s, %d, %d, mean, std);\n    }"
                       % (mean, std, chain.prefix, b, s.frames, s.channels))


def _scale(chain: Chain, params: dict, _rate: float) -> None:
    _emit(chain, f"scale({_buf(chain, chain.current)}, {chain.shape.size}, "
                 f"{c_float(params['gain'])}, {c_float(params['offset'])})")


def _fft(chain: Chain, params: dict, _rate: float) -> None:
    s = chain.shape
    if s.channels != 1 or s.height is not None:
        raise EdgecError(f"app config: fft_magnitude needs one signal channel, the window has "
                         f"{s.channels}", "use a single-channel sensor (mic, adc)")
    frame = int(params["frame"] or s.frames)
    hop = int(params["hop"] or frame)
    if frame & (frame - 1) or frame < 2 or frame > s.frames or hop < 1:
        raise EdgecError(f"app config: fft_magnitude frame {frame} must be a power of two of "
                         f"at most the window ({s.frames} samples), hop positive")
    frames = (s.frames - frame) // hop + 1
    source, dest = _to_other(chain, Shape(frames, frame // 2 + 1, nfft=frame))
    chain.scratch_floats = max(chain.scratch_floats, 2 * frame)
    _emit(chain, f"fft_magnitude({source}, {s.frames}, {frame}, {hop}, "
                 f"{int(bool(params['hann']))}, {dest}, {chain.prefix}_scratch)")


def _log_mel(chain: Chain, params: dict, rate: float) -> None:
    s = chain.shape
    if s.last != "fft_magnitude":
        raise EdgecError("app config: log_mel must follow fft_magnitude")
    bins, fmax = int(params["bins"]), float(params["fmax"] or rate / 2)
    source, dest = _to_other(chain, Shape(s.frames, bins))
    _emit(chain, f"log_mel({source}, {s.frames}, {s.nfft}, {c_float(rate)}, {bins}, "
                 f"{c_float(params['fmin'])}, {c_float(fmax)}, {dest})")


def _dct(chain: Chain, params: dict, _rate: float) -> None:
    s, coeffs = chain.shape, int(params["coefficients"])
    if s.last != "log_mel" or coeffs > s.channels:
        raise EdgecError(f"app config: dct must follow log_mel and keep at most its "
                         f"{s.channels} bins")
    source, dest = _to_other(chain, Shape(s.frames, coeffs))
    _emit(chain, f"dct({source}, {s.frames}, {s.channels}, {coeffs}, {dest})")


def _grayscale(chain: Chain, _params: dict, _rate: float) -> None:
    s = chain.shape
    if s.channels != 3:
        raise EdgecError(f"app config: grayscale needs 3 channels (RGB), the image has "
                         f"{s.channels}")
    source, dest = _to_other(chain, Shape(s.frames, 1, s.height, s.width))
    _emit(chain, f"grayscale({source}, {s.frames}, {dest})")


def _resize(chain: Chain, params: dict, _rate: float) -> None:
    s = chain.shape
    w, h = int(params["width"] or s.width), int(params["height"] or s.height)
    source, dest = _to_other(chain, Shape(h * w, s.channels, h, w))
    _emit(chain, f"resize({source}, {s.height}, {s.width}, {s.channels}, {dest}, {h}, {w})")


def _equalize(chain: Chain, _params: dict, _rate: float) -> None:
    _emit(chain, f"equalize({_buf(chain, chain.current)}, {chain.shape.size})")


_PLANNERS = {
    "dc_remove": _in_place("dc_remove"), "zscore": _in_place("zscore"),
    "moving_average": _in_place("moving_average"), "lowpass": _in_place("lowpass"),
    "standardize": _standardize, "scale": _scale, "fft_magnitude": _fft,
    "log_mel": _log_mel, "dct": _dct, "grayscale": _grayscale, "resize": _resize,
    "equalize": _equalize,
}


def input_call(chain: Chain, tensor) -> str:
    """The C statement that turns the final buffer into model input ``tensor``."""
    source = _buf(chain, chain.current)
    if tensor.dtype in ("int8", "int16") and tensor.quant is not None \
            and tensor.quant.per_tensor:
        return (f"{chain.prefix}_pre_quantize_{tensor.dtype}({source}, {tensor.size}, "
                f"{c_float(tensor.quant.s)}, {tensor.quant.zp}, {chain.prefix}_input);")
    if tensor.dtype == "float32":
        return (f"for (i = 0; i < {tensor.size}; ++i) {{ {chain.prefix}_input[i] = "
                f"{source}[i]; }}")
    raise EdgecError(f"the model input '{tensor.name}' is {tensor.dtype}; the application "
                     "feeds int8 or int16 (per-tensor quantized) or float32 inputs")


def check_input_size(chain: Chain, tensor, described: str) -> None:
    """Refuse a window whose preprocessed size differs from the model input's."""
    if chain.shape.size != tensor.size:
        raise EdgecError(
            f"{described} gives {chain.shape.frames}x{chain.shape.channels} = "
            f"{chain.shape.size} values after preprocessing, but the model input "
            f"'{tensor.name}' has shape {list(tensor.shape)} = {tensor.size} values",
            "change window, hop or the preprocess steps in the app config")


def float_range(tensor) -> tuple[float, float]:
    """The real values an int8 (int16) input can represent (or [-1, 1] for a float input)."""
    if tensor.dtype in ("int8", "int16") and tensor.quant is not None:
        s, zp, info = tensor.quant.s, tensor.quant.zp, np.iinfo(tensor.dtype)
        return float((int(info.min) - zp) * s), float((int(info.max) - zp) * s)
    return -1.0, 1.0


def generated_samples(count: int, channels: int, low: float, high: float) -> np.ndarray:
    """Deterministic replay samples when no file is given: a slow sine per channel, each at
    its own frequency and phase, spanning [low, high]."""
    t = np.arange(count, dtype=np.float64)[:, None]
    k = np.arange(channels, dtype=np.float64)[None, :]
    wave = np.sin(2 * np.pi * t * (k + 1) / 37.0 + k)
    return (low + (high - low) * (0.5 + 0.5 * wave)).astype(np.float32)
