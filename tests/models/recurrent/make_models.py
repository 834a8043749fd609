"""Writes the recurrent test models next to this file with the real TensorFlow converter.

Run once by hand (the tests read the committed files and need no TensorFlow):

    pip install tf-keras==2.21.0   # Keras 2: the converter fuses its LSTM layer
    python tests/models/recurrent/make_models.py

Keras 3 (``tf.keras`` in TensorFlow 2.21) is converted as a WHILE loop, and its int8
calibration crashes the converter (segmentation fault in the calibrator); Keras 2's
``tf_keras`` LSTM becomes one UNIDIRECTIONAL_SEQUENCE_LSTM, float and full-integer int8.
Its GRU stays a WHILE loop (float; int8 crashes the calibrator too), which edgec unrolls.

The ``keras3_*`` models are Keras 3's (``tf.keras``) recurrent layers as TensorFlow 2.21's
converter writes them: ``unroll=False`` (the default) a WHILE loop (float only: the int8
calibration of any WHILE loop crashes the converter, LSTM, GRU and SimpleRNN alike),
``unroll=True`` the steps one after another (UNPACK, FULLY_CONNECTED, SPLIT, STRIDED_SLICE,
LOGISTIC, TANH, MUL, ADD, SUB, PACK; float and full-integer int8). ``while_dynamic_float``
is a ``tf.while_loop`` whose number of steps comes from the input: refused. The
``keras3_{lstm,gru}_stateful_{float,int8}`` models are layers with ``stateful=True``
(resource variables: CALL_ONCE, VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE; the int8 ones
keep the variables float), ``keras3_lstm_stateful_loop_float`` the same as a WHILE loop.
Seeded; the float files repeat byte for byte. The int8 ones may not: from run to run the
converter sometimes keeps the first step's SPLIT in float (DEQUANTIZE ... QUANTIZE), so the
committed files are one run's output (both forms import and match TFLite Micro).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
STEPS, FEATURES = 8, 3


def samples(n: int, seed: int, shape=(1, STEPS, FEATURES)) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(np.float32) for _ in range(n)]


def _models(keras):
    """name -> Keras model: an LSTM returning every step, and a classifier on their mean."""
    keras.utils.set_random_seed(7)
    x = inputs = keras.Input((STEPS, FEATURES), batch_size=1)
    seq = keras.Model(inputs, keras.layers.LSTM(6, return_sequences=True)(x))
    keras.utils.set_random_seed(8)
    x = inputs = keras.Input((STEPS, FEATURES), batch_size=1)
    # return_sequences=False would add a run-time STRIDED_SLICE (the last step): pool.
    x = keras.layers.LSTM(16, return_sequences=True)(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    clf = keras.Model(inputs, keras.layers.Dense(4)(x))
    keras.utils.set_random_seed(7)
    x = inputs = keras.Input((STEPS, FEATURES), batch_size=1)
    gru = keras.Model(inputs, keras.layers.GRU(6, return_sequences=True)(x))
    return {"lstm_seq": seq, "lstm_classifier": clf, "keras_gru_while": gru}


def convert(model, mode: str) -> bytes:
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if mode == "int8":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = lambda: ([s] for s in samples(64, 1))
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = conv.inference_output_type = tf.int8
    return conv.convert()


# Keras 3 models: name -> (layers, unroll, return_sequences, modes, batch size). "A+B" stacks
# two layers, "Bidirectional:A" wraps one; batch None leaves the batch dimension dynamic
# (the converter then makes the zero state with SHAPE, PACK and FILL).
KERAS3 = {"keras3_lstm_loop": ("LSTM", False, False, ("float",), 1),
          "keras3_gru_loop_seq": ("GRU", False, True, ("float",), 1),
          "keras3_rnn_loop": ("SimpleRNN", False, False, ("float",), 1),
          "keras3_lstm_unroll": ("LSTM", True, False, ("float", "int8"), 1),
          "keras3_gru_unroll_seq": ("GRU", True, True, ("float", "int8"), 1),
          "keras3_bilstm_loop": ("Bidirectional:LSTM", False, False, ("float",), 1),
          "keras3_stacked_unroll": ("LSTM+GRU", True, False, ("int8",), 1),
          "keras3_lstm_unroll_anybatch": ("LSTM", True, False, ("int8",), None)}
UNITS = 8


def _keras3_model(keras, layers: str, unroll: bool, sequences: bool, seed: int, batch):
    """A time-series classifier: the recurrent layers (random biases too, so none is
    dropped as zero), the mean over steps when they return every step, a Dense head."""
    keras.utils.set_random_seed(seed)
    x = inputs = keras.Input((STEPS, FEATURES), batch_size=batch)
    wrapper, _, names = layers.rpartition(":")
    names = names.split("+")
    recurrent = []
    for k, name in enumerate(names):
        last = k == len(names) - 1
        rnn = getattr(keras.layers, name)(UNITS, unroll=unroll,
                                          return_sequences=sequences or not last)
        if wrapper:
            rnn = getattr(keras.layers, wrapper)(rnn)
        x = rnn(x)
        recurrent.append(rnn)
    if sequences:
        x = keras.layers.GlobalAveragePooling1D()(x)
    model = keras.Model(inputs, keras.layers.Dense(4)(x))
    rng = np.random.default_rng(seed)
    for w in (w for rnn in recurrent for w in rnn.weights):
        if "bias" in w.path:
            w.assign(rng.uniform(-0.5, 0.5, w.shape).astype(np.float32))
    return model


def _stateful_model(keras, layer: str, seed: int, unroll: bool = True):
    """A ``stateful=True`` layer (batch 1, by default unrolled: the int8 calibration of a
    loop crashes the converter) of 4 units with random biases and a Dense head: the converter keeps its
    state in resource variables (CALL_ONCE, VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE)."""
    keras.utils.set_random_seed(seed)
    x = inputs = keras.Input((STEPS, FEATURES), batch_size=1)
    rnn = getattr(keras.layers, layer)(4, stateful=True, unroll=unroll)
    model = keras.Model(inputs, keras.layers.Dense(3)(rnn(x)))
    rng = np.random.default_rng(seed)
    for w in rnn.weights:
        if "bias" in w.path:
            w.assign(rng.uniform(-0.5, 0.5, w.shape).astype(np.float32))
    return model


def _dynamic_loop() -> bytes:
    """A loop running as many steps as its second input says."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec((1, 4), tf.float32),
                                  tf.TensorSpec((), tf.int32)])
    def run(x, n):
        return tf.while_loop(lambda i, y: i < n, lambda i, y: (i + 1, tf.tanh(y) + x),
                             (tf.constant(0), x))[1]

    return tf.lite.TFLiteConverter.from_concrete_functions(
        [run.get_concrete_function()], run).convert()


def _write(name: str, data: bytes) -> None:
    path = HERE / f"{name}.tflite"
    path.write_bytes(data)
    print(f"wrote {path} ({path.stat().st_size} bytes)")


def main() -> int:
    import tensorflow as tf

    for seed, (name, (layers, unroll, sequences, modes, batch)) in enumerate(KERAS3.items()):
        model = _keras3_model(tf.keras, layers, unroll, sequences, 20 + seed, batch)
        for mode in modes:
            _write(f"{name}_{mode}", convert(model, mode))
    _write("while_dynamic_float", _dynamic_loop())
    for seed, layer in ((41, "LSTM"), (42, "GRU")):
        model = _stateful_model(tf.keras, layer, seed)
        for mode in ("float", "int8"):
            _write(f"keras3_{layer.lower()}_stateful_{mode}", convert(model, mode))
    # the default unroll=False: a WHILE loop between the reads and the assignments (float)
    _write("keras3_lstm_stateful_loop_float",
           convert(_stateful_model(tf.keras, "LSTM", 43, unroll=False), "float"))
    try:
        import tf_keras as keras
    except ImportError:
        print("tf_keras is not installed: its models are left as they are")
        return 0
    for name, model in _models(keras).items():
        # The GRU is a WHILE loop; its int8 conversion crashes the converter.
        for mode in ("float",) if name.endswith("while") else ("float", "int8"):
            _write(f"{name}_{mode}", convert(model, mode))
    return 0


if __name__ == "__main__":
    sys.exit(main())
