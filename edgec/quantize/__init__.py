"""Post-training quantization of float graphs to int8 (TFLite's conventions), optionally
with int4 weights (W4A8).

``quantize_graph(graph, calibration, observer=...)`` is the entry point;
``load_calibration(path)`` reads a calibration ``.npz``.
"""

from edgec.quantize.calibration import load_calibration
from edgec.quantize.observers import OBSERVERS, MinMaxObserver, PercentileObserver
from edgec.quantize.ptq import (ACTIVATION_DTYPES, INT4_OPS, IO_MODES, WEIGHT_DTYPES,
                                quantize_graph)

__all__ = ["ACTIVATION_DTYPES", "INT4_OPS", "IO_MODES", "OBSERVERS", "WEIGHT_DTYPES", "MinMaxObserver",
           "PercentileObserver", "load_calibration", "quantize_graph"]
