"""The model image: a model's weights and constants outside the application, for a flash
partition of their own (``edgec build --model-partition``, ``edgec package``).

Layout, all integers little-endian (docs/OTA.md)::

    offset  bytes  field
         0      4  magic "EDGM"
         4      2  format version (1)
         6      2  header bytes (96): the constants start here
         8      4  constants bytes
        12      4  CRC-32 (IEEE 802.3, zlib's) of the constants
        16     32  sha256 of the model file the constants come from
        48     32  layout hash: sha256 of the generated code that can run these constants
        80     12  zero
        92      4  CRC-32 of bytes 0..91

The layout hash covers ``NAME.c`` and ``NAME.h`` as generated in partition mode, which hold
every kernel, offset and quantization constant baked into code but no weight: two builds
share it exactly when one's firmware can run the other's constants. The generated
``NAME_load_constants`` checks magic, version, both CRCs, the size and the layout hash before
it accepts an image.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass

import numpy as np

from edgec.errors import EdgecError

MAGIC = b"EDGM"
VERSION = 1
HEADER_BYTES = 96
ALIGN = 16  # every constant starts at a multiple of this in the image
_FIXED = struct.Struct("<4sHHII32s32s12x")  # bytes 0..91
LAYOUT_PLACEHOLDER = "@EDGEC_LAYOUT_HASH@"


@dataclass
class ConstantBlob:
    """Constants packed back to back, each at an ``ALIGN``-byte offset, little-endian."""

    data: bytearray

    @classmethod
    def empty(cls) -> "ConstantBlob":
        return cls(bytearray())

    def pad(self) -> None:
        """End on a multiple of ``ALIGN`` bytes (the header is 96): an image is then whole
        flash write blocks (up to 16 bytes) for any chunking in multiples of them."""
        self.data.extend(bytes(-len(self.data) % ALIGN))

    def add(self, array: np.ndarray) -> int:
        """Append ``array`` (C order, little-endian) and return its offset."""
        offset = -len(self.data) % ALIGN + len(self.data)
        self.data.extend(bytes(offset - len(self.data)))
        flat = np.ascontiguousarray(array).reshape(-1)
        self.data.extend(flat.astype(flat.dtype.newbyteorder("<")).tobytes())
        return offset


def layout_hash(*texts: str) -> bytes:
    """sha256 of the generated sources (with the hash itself as a placeholder)."""
    h = hashlib.sha256()
    for text in texts:
        h.update(text.encode("utf-8"))
        h.update(b"\0")
    return h.digest()


def pack_image(constants: bytes, model_sha256: bytes, layout: bytes) -> bytes:
    """The image for ``constants``: header + constants."""
    if len(model_sha256) != 32 or len(layout) != 32:
        raise ValueError("model hash and layout hash are 32 bytes each")
    fixed = _FIXED.pack(MAGIC, VERSION, HEADER_BYTES, len(constants),
                        zlib.crc32(constants), model_sha256, layout)
    return fixed + struct.pack("<I", zlib.crc32(fixed)) + bytes(constants)


@dataclass(frozen=True)
class ImageHeader:
    version: int
    constants_bytes: int
    constants_crc: int
    model_sha256: str
    layout_hash: str


def read_image(data: bytes, what: str = "model image") -> ImageHeader:
    """Parse and check an image as the firmware does; ``EdgecError`` names what is wrong."""
    if len(data) < HEADER_BYTES:
        raise EdgecError(f"{what} is {len(data)} bytes, shorter than its {HEADER_BYTES}-byte "
                         "header", "write it with `edgec package`")
    magic, version, header, size, crc, model, layout = _FIXED.unpack_from(data)
    if magic != MAGIC:
        raise EdgecError(f"{what} does not start with {MAGIC.decode()}",
                         "write it with `edgec package`")
    (header_crc,) = struct.unpack_from("<I", data, 92)
    if header_crc != zlib.crc32(data[:92]):
        raise EdgecError(f"{what} has a damaged header (CRC mismatch)")
    if version != VERSION or header != HEADER_BYTES:
        raise EdgecError(f"{what} has format version {version}; this edgec reads {VERSION}")
    if len(data) != header + size:
        raise EdgecError(f"{what} is {len(data)} bytes, its header says {header + size}",
                         "the image is truncated or has trailing bytes")
    if zlib.crc32(data[header:]) != crc:
        raise EdgecError(f"{what}'s constants do not match their CRC")
    return ImageHeader(version, size, crc, model.hex(), layout.hex())
