"""Developer tools run as ``python -m edgec.tools.<name>`` (not part of the compiler)."""
