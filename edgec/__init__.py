"""edgec: an ahead-of-time compiler from trained networks to microcontroller C."""

__version__ = "0.1.0"

from edgec.errors import EdgecError  # noqa: E402,F401
