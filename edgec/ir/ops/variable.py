"""READ_VARIABLE and ASSIGN_VARIABLE: a variable, state kept from one inference to the next
(TFLite's resource variables, which the converter writes for a Keras layer with
``stateful=True``).

A variable is a constant tensor holding its initial value (what the model's CALL_ONCE
initialisation assigns). It is persistent state as SVDF's and a carried LSTM's
(docs/IR.md "Recurrent state"): the generated C keeps it in a static buffer ``NAME_stateN``
that ``NAME_reset()`` sets back to the initial value, and ``interpret(state=...)`` carries it
from call to call. Both ops name the variable as input 0:

- ``READ_VARIABLE(variable) -> value``: a copy of the variable's current value. The frontend
  reads each variable once, before any assignment (a read after an assignment reads the
  assigned tensor itself), so every reader downstream is an ordinary activation.
- ``ASSIGN_VARIABLE(variable, value) -> assigned``: the variable holds ``value`` from here on
  (in the C, the kernel copies it into the state buffer); ``updates_state`` gives it to the
  next inference. The output is a copy of ``value``, what a read later in the same inference
  sees (the IR keeps "every node has an output"; usually nothing reads it). Stateful nodes
  are never folded (``constant_fold``) nor dropped as dead (``rewrite.drop_dead_nodes``).

Value and variable have one shape, dtype and quantization: both ops only move bytes.
Post-training quantization (``Ptq.FLOAT_STATE``) keeps a float variable float, with
QUANTIZE after the read and DEQUANTIZE before the assignment, as the TensorFlow converter
writes a full-integer stateful layer; calibration runs its samples as one stream.
"""

from __future__ import annotations

import numpy as np

from edgec.errors import EdgecError
from edgec.ir.registry import Ptq, define_op, kernel

VARIABLE, VALUE = 0, 1
# The converter's variables are float (int8 models too); int8 and int16 for quantized state.
DTYPES = ("float32", "int8", "int16")


def _read_shape(node, ins):
    return [ins[VARIABLE].shape]


def _assign_shape(node, ins):
    var, value = ins[VARIABLE], ins[VALUE] if len(ins) > VALUE else None
    if value is None or value.shape != var.shape or value.dtype != var.dtype \
            or value.quant != var.quant:
        got = "nothing" if value is None else \
            f"{value.dtype}{list(value.shape)} {value.quant}"
        raise EdgecError(f"node '{node.name}' (ASSIGN_VARIABLE) assigns {got} to the variable "
                         f"'{var.name}' ({var.dtype}{list(var.shape)} {var.quant})",
                         "a variable keeps one shape, dtype and quantization")
    return [var.shape]


define_op("READ_VARIABLE", infer_shapes=_read_shape, dtypes=DTYPES, alias=False,
          ptq=Ptq.FLOAT_STATE, updates_state=lambda call: {},
          doc="the current value of a variable (state kept between inferences); input "
              "(variable)")
define_op("ASSIGN_VARIABLE", infer_shapes=_assign_shape, dtypes=DTYPES, min_inputs=2,
          ptq=Ptq.FLOAT_STATE,
          updates_state=lambda call: {VARIABLE: np.array(call.inputs[VALUE], copy=True)},
          doc="the variable holds value from here on, and in the next inference; inputs "
              "(variable, value)")


@kernel("READ_VARIABLE", *DTYPES)
def read_variable(call):
    return [np.array(call.inputs[VARIABLE], copy=True)]


@kernel("ASSIGN_VARIABLE", *DTYPES)
def assign_variable(call):
    return [np.array(call.inputs[VALUE], copy=True)]
