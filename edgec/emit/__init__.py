"""C emission: kernels and a memory plan become ``NAME.h``, ``NAME.c`` and ``CMakeLists.txt``."""

from edgec.emit.cnames import check_identifier, identifier_from_stem
from edgec.emit.model import EmitOptions, emit_model

__all__ = ["EmitOptions", "check_identifier", "emit_model", "identifier_from_stem"]
