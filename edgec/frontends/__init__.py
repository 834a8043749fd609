"""Model importers: file bytes -> IR ``Graph``. ``load_model`` picks the format by content."""

from __future__ import annotations

from pathlib import Path

from edgec.errors import EdgecError
from edgec.frontends.tflite_schema import FILE_IDENTIFIER
from edgec.ir.graph import Graph

_FORMATS_HINT = "edgec reads TFLite (.tflite) and ONNX (.onnx) models"


def load_model(path) -> Graph:
    """Read the model file at ``path`` (TFLite or ONNX, detected by content) into a Graph."""
    path = Path(path)
    if not path.is_file():
        raise EdgecError(f"model file '{path}' does not exist" if not path.exists()
                         else f"'{path}' is not a file", "check the path")
    data = path.read_bytes()
    if not data:
        raise EdgecError(f"model file '{path}' is empty", "check the file was copied whole")
    name = path.stem
    if data[4:8] == FILE_IDENTIFIER:
        from edgec.frontends.tflite import load_tflite

        return load_tflite(data, name)
    if _is_onnx(data):
        from edgec.frontends.onnx import load_onnx

        return load_onnx(data, name, path.parent)
    if len(data) >= 8 and data[4:8].startswith(b"TFL"):
        raise EdgecError(f"'{path}' has TFLite schema identifier {data[4:8]!r}, not TFL3",
                         "re-convert the model with a current TensorFlow Lite converter")
    raise EdgecError(f"'{path}' is neither a TFLite nor an ONNX model", _FORMATS_HINT)


def _is_onnx(data: bytes) -> bool:
    """True when ``data`` parses as an ONNX ModelProto that holds a graph."""
    try:
        import onnx
        from google.protobuf.message import DecodeError
    except ImportError:  # without onnx installed, nothing is read as ONNX
        return False
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, ValueError, RuntimeError):
        return False
    return model.HasField("graph") and len(model.graph.node) > 0
