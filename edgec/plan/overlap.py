"""How far a raster kernel's output may overlap its dying input (the trailing write).

A kernel declaring ``Kernel.access == "raster"`` promises: it completes output pixels in
raster order (batch, row, column); it writes the bytes of a pixel only while computing that
pixel; and while computing it, it reads the input only inside the pixel's receptive field
(every channel of the window, padding excluded). CONV_2D, DEPTHWISE_CONV_2D and the pools are
written that way, portable and DSP alike. ``"raster_buffered"`` promises more: each pixel's
whole window is read (copied into the kernel's scratch) before the pixel's first write, so
the pixel being written no longer needs its input (the DSP speed convolution).

Then when the output starts ``lead`` bytes *below* the input (``out = in - lead``), no write
can hit an input byte still to be read as long as ``lead > write_end(p) - needed_from(p)`` for
every pixel ``p``: ``write_end(p)`` is one past the last output byte of ``p`` and
``needed_from(p)`` the lowest input byte read by ``p`` or any later pixel. The output then
trails the input's read window like a ring buffer of ``k`` rows would, but the saved rows stay
where they are: a k×k convolution needs about ``(k-1)/2`` input rows of slack instead of a
``k``-row copy, and a 1×1 convolution one pixel.

Placing the two buffers that way costs no MAC and no instruction; the planner
(``edgec.plan.lifetimes``) uses it when the input dies at the step. The lead is computed here
from the geometry alone; the replay checker (``tests/plan/replay.py``) re-derives every write
and read pixel by pixel, independently, instead of trusting it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from edgec.ir.registry import get_op

ACCESS = ("raster", "raster_buffered")  # the Kernel.access values this module understands
# Ops whose raster kernels read a window: (kernel height/width from, stride/dilation/pad attrs).
WINDOW_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D")


@dataclass(frozen=True)
class Window:
    """The geometry of a raster kernel: NHWC input and output, window, strides, pads,
    bytes per element of input and output."""

    x: tuple[int, int, int, int]
    y: tuple[int, int, int, int]
    kh: int
    kw: int
    sh: int = 1
    sw: int = 1
    dh: int = 1
    dw: int = 1
    pt: int = 0
    pl: int = 0
    in_elem: int = 1
    out_elem: int = 1

    def rows(self, oy):
        """First and last input row of output row(s) ``oy``, clipped to the image."""
        first = oy * self.sh - self.pt
        last = first + (self.kh - 1) * self.dh
        return np.clip(first, 0, self.x[1] - 1), np.clip(last, 0, self.x[1] - 1)

    def cols(self, ox):
        """First and last input column of output column(s) ``ox``, clipped to the image."""
        first = ox * self.sw - self.pl
        last = first + (self.kw - 1) * self.dw
        return np.clip(first, 0, self.x[2] - 1), np.clip(last, 0, self.x[2] - 1)


def window_of(node, ins, outs) -> Window | None:
    """The ``Window`` of a node of ``WINDOW_OPS`` with 4-d NHWC tensors, else None."""
    if node.op not in WINDOW_OPS or len(ins[0].shape) != 4 or len(outs[0].shape) != 4:
        return None
    elems = [t.nbytes // t.size if t.size else 0 for t in (ins[0], outs[0])]
    if any(e < 1 or t.nbytes != t.size * e for e, t in zip(elems, (ins[0], outs[0]))):
        return None  # sub-byte activations: no raster byte layout
    a = get_op(node.op).full_attrs(node)
    if node.op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        kh, kw = ins[1].shape[1], ins[1].shape[2]
    else:
        kh, kw = a["filter"]
    strides, pads = tuple(a.get("strides", (1, 1))), tuple(a.get("pads", (0, 0, 0, 0)))
    dil = tuple(a.get("dilations", (1, 1)))
    return Window(tuple(ins[0].shape), tuple(outs[0].shape), int(kh), int(kw),
                  int(strides[0]), int(strides[1]), int(dil[0]), int(dil[1]), int(pads[0]),
                  int(pads[1]), elems[0], elems[1])


@lru_cache(maxsize=4096)
def raster_lead(win: Window, access: str = "raster") -> int:
    """The smallest ``lead`` (bytes, may be negative) such that an output placed ``lead``
    bytes below its input never overwrites an input byte a raster kernel (``access``) still
    reads."""
    n, h, w, cin = win.x
    _, oh, ow, cout = win.y
    oy, ox = np.meshgrid(np.arange(oh), np.arange(ow), indexing="ij")
    r0, _ = win.rows(oy.ravel())
    c0, _ = win.cols(ox.ravel())
    per_image = (r0 * w + c0) * cin * win.in_elem  # lowest input byte of each pixel
    first_read = np.concatenate([per_image + b * h * w * cin * win.in_elem for b in range(n)])
    needed_from = np.minimum.accumulate(first_read[::-1])[::-1]
    if access == "raster_buffered":  # the pixel being written has read its window already
        needed_from = np.append(needed_from[1:], n * h * w * cin * win.in_elem)
    write_end = (np.arange(first_read.size) + 1) * cout * win.out_elem
    return int((write_end - needed_from).max()) if first_read.size else 0


def overlap_extent(lead: int, in_bytes: int, out_bytes: int) -> int:
    """Bytes an input and its trailing output span together (output ``lead`` below)."""
    lead = max(lead, 0)
    return max(out_bytes, lead + in_bytes)
