"""Post-training quantization of the recurrent ops (``OpDef.ptq`` RECURRENT or DECOMPOSE).

**LSTM** (UNIDIRECTIONAL_SEQUENCE_LSTM, ``Ptq.RECURRENT``) becomes TFLite Micro's integer LSTM
("8x8_16", ``edgec.ir.ops.lstm``), with the scales the TFLite converter chooses for it
(``tensorflow/lite/tools/optimize``: ``operator_property.cc``, ``quantize_model.cc``,
``quantization_utils.cc``):
- calibration runs the float LSTM step by step (``lstm.run_float``) and observes the hidden
  state and the cell state at every step. As in the converter (whose calibrator never resets
  TFLite's variable state tensors), each calibration sample starts from the state the
  previous one left (``collect_ranges``), so the ranges cover a stream of windows too; with
  the converter's representative data this gives exactly the converter's int8 LSTM;
- input: int8 from its calibrated range, as every activation;
- hidden state (the variable state tensor and the output, which TFLite restricts to one
  scale): int8 over the range of every step's hidden state;
- cell state: int16, zero point 0, power-of-two scale ``2**pot / 32768`` with ``pot`` the
  smallest in 0..10 with ``2**pot >= max|c|`` (``GetPowerOfTwoScale``): TFLM's kernel refuses
  other cell scales;
- the eight weights: int8, symmetric, per tensor (TFLM's integer LSTM takes no per-channel
  weights); the four biases int32 at ``input_scale * weight_scale`` (TFLM adds them to the
  input product before its ``input_scale * weight_scale / 2**-12`` requantization);
- gate pre-activations are Q3.12 and gate outputs Q0.15 inside the kernel: TFLM fixes them,
  they are no tensors, nothing to choose.
The initial states become int8 / int16 constants (zero stays exactly zero). Run-time ones
(ONNX initial_h / initial_c graph inputs) are calibrated as inputs: the initial hidden state
shares one range with the hidden state (``state_groups``), so it takes the hidden state's
quantization with no requantization; the initial cell state's range widens the cell's, and
the input is int16 in the cell's quantization (``state_dtypes``; a QUANTIZE requantizes
where the tensor also feeds other ops). Y_c (``cell_output``) is int16 in the cell's
quantization: with ``--io int8`` the application feeds Y_h and Y_c back unchanged.
With ``activations="int16"`` the LSTM becomes TFLM's 16x8 one instead (the TFLite converter
refuses it: "Quantization to 16x8-bit not yet supported for op UNIDIRECTIONAL_SEQUENCE_LSTM"):
input and hidden state symmetric int16 (zero point 0, ``max|v| / 32767``, the 16x8 rule of
every activation), the cell state as above, int8 per-tensor weights, int64 biases.

**SVDF** (``Ptq.RECURRENT``) becomes TFLM's integer SVDF with the converter's scheme
(``operator_property.cc`` SVDF, the MLIR converter's ``ConvertSvdfStatsToQDQs``): calibration
runs the float SVDF (``svdf.run_float``) and observes its state, carried from one sample to
the next as the LSTM's; input and output int8 (the output's range clipped to the fused
activation's, which TFLM's integer kernel does not apply: NONE, RELU, RELU6; others are
refused); feature weights int8 symmetric per tensor; time weights int16 at ``max|w| / 512``
(the converter's 10 bits); state int16 symmetric (``max|s| / 32767``, zero point 0); bias
int32 at ``state_scale * time_scale`` (zero when the float SVDF has none: the installed TFLM
crashes without a bias). No 16x8 form (TFLM has none).

**GRU** (``Ptq.DECOMPOSE``): TFLite has no GRU builtin and TFLM no GRU kernel, so an int8 GRU
is the TFLite converter's own answer for a Keras GRU: the cell unrolled per time step into
primitive ops (``decompose_gru``): per step, STRIDED_SLICE of the input, six
FULLY_CONNECTED (per gate one on the input, one on the hidden state), ADD, LOGISTIC (z and
r), MUL, TANH (the candidate n), then ``h = n + z * (h - n)`` as SUB, MUL, ADD; with
``return_sequences`` the steps' states RESHAPE and CONCATENATE into the sequence. The float
decomposition computes the GRU (to float rounding); ordinary PTQ then calibrates and
quantizes every op of it, and every one of them is int8 bit-exact with TFLM, so the exported
model is too. The hidden states of all steps share one int8 quantization (``share_ranges``:
the union of their ranges), so the recurrent weights and biases are stored once; each other
value (a gate's pre-activation, the candidate, ...) shares one across the steps as well. Initial
state: zero (ONNX's default) is folded into the first step's biases; a constant non-zero one
is a constant the first step reads as the later ones read the previous state (its FULLY_CONNECTED
products fold at build time; the exported file computes them, as TFLM does any op on
constants), quantized over its own range; a run-time one (a graph input) is an activation
calibrated like every input. A GRU carrying its state (``carry_state``, ``--recurrent-state
carry``, set before quantization: ``edgec.build.load_graph``) keeps it in a float variable,
as the TensorFlow converter writes a stateful Keras GRU: READ_VARIABLE before the first step
(its value in the hidden states' quantization), ASSIGN_VARIABLE of the last state after the
last step; the variable ops' PTQ (``Ptq.FLOAT_STATE``) puts QUANTIZE / DEQUANTIZE around them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from edgec.errors import EdgecError
from edgec.ir.graph import Graph, Node, QuantParams, Tensor
from edgec.ir.ops import lstm as lstm_op
from edgec.ir.ops import svdf as svdf_op
from edgec.ir.registry import Ptq, get_op
from edgec.ir.quant import round_half_away
from edgec.quantize.params import ACTIVATION_QUANT, activation_quant_int16, bias_quant, \
    quantize_array, weight_quant

LSTM = "UNIDIRECTIONAL_SEQUENCE_LSTM"
MAX_CONCAT_INPUTS = 10  # TFLM's CONCATENATION kMaxInputNum
CELL_BITS_POWER_MAX = 10  # GetPowerOfTwoScale's loop bound: cell ranges up to 2**10


# -- calibration of internal states ------------------------------------------------------

def _lstm_internals(node: Node, inputs: list[np.ndarray]) -> tuple[dict, dict]:
    ys, h, cells = lstm_op.run_float(node, inputs)
    last = list(lstm_op.steps(node, len(cells)))[-1]
    observed = {"hidden": np.stack(list(ys.values())), "cell": np.stack(list(cells.values()))}
    shape = [a.shape for a in inputs]
    return observed, {lstm_op.H0: h.reshape(shape[lstm_op.H0]),
                      lstm_op.C0: cells[last].reshape(shape[lstm_op.C0])}


def internal_key(node: Node, what: str) -> tuple[str, str]:
    """The key of a node's internal state in the calibrated ranges."""
    return (node.name, what)


# -- the LSTM ----------------------------------------------------------------------------

def cell_state_quant(lo: float, hi: float) -> QuantParams:
    """int16 cell state quantization: zero point 0, scale ``2**pot / 32768`` for the
    smallest ``pot`` in 0..10 with ``2**pot >= max(|lo|, |hi|)`` (the TFLite converter's
    ``GetPowerOfTwoScale``)."""
    peak = np.float32(max(abs(lo), abs(hi)))
    pot = 0
    while pot < CELL_BITS_POWER_MAX and np.float32(2.0 ** pot) < peak:
        pot += 1
    return QuantParams(np.float32(2.0 ** pot / 32768.0), 0)


def _lstm_quants(node: Node, ranges: dict, activations: str = "int8") -> dict:
    """The int8 (int16) quantization of the hidden state and output, the int16 one of the
    cell (also the output's with ``cell_output``)."""
    hidden = ACTIVATION_QUANT[activations](*ranges[internal_key(node, "hidden")])
    cell = cell_state_quant(*ranges[internal_key(node, "cell")])
    out = cell if node.attrs.get("cell_output") else hidden
    return {node.outputs[0]: out, internal_key(node, "hidden"): hidden,
            internal_key(node, "cell"): cell}


# -- run-time initial states (ONNX initial_h / initial_c graph inputs) ----------------------

_STATE_KEYS = {lstm_op.H0: "hidden", lstm_op.C0: "cell"}


def _chain(graph: Graph, name: str, producers: dict) -> list[str]:
    """``name`` and the tensors it is a layout copy of (RESHAPE, STRIDED_SLICE: ops whose
    output shares their input's quantization), back to its source (a graph input)."""
    chain = [name]
    while (p := producers.get(chain[-1])) is not None \
            and get_op(p.op).ptq is Ptq.SAME_AS_INPUT:
        chain.append(p.inputs[0])
    return chain


def _run_time_states(graph: Graph):
    """(LSTM node, state input index, its chain) of every run-time initial state."""
    producers = graph.producers()
    for node in graph.nodes:
        if node.op != LSTM:
            continue
        for index in _STATE_KEYS:
            name = node.inputs[index]
            if not graph.tensors[name].is_const:
                yield node, index, _chain(graph, name, producers)


def state_groups(graph: Graph) -> list[list]:
    """The ranges an LSTM's run-time initial states share: each state's chain with the
    state it starts (the hidden state's, the cell's internal key), so the initial hidden
    state is quantized as the hidden state (TFLM's integer LSTM reads both in one
    quantization) with no requantization, and the cell covers its initial values; groups
    meeting in one tensor (the Y, Y_h and Y_c nodes of one ONNX LSTM, the directions of a
    bidirectional one) merge into one."""
    groups: list[set] = []
    for node, index, chain in _run_time_states(graph):
        group = {internal_key(node, _STATE_KEYS[index]), *chain}
        for other in [g for g in groups if g & group]:
            group |= other
            groups.remove(other)
        groups.append(group)
    return [sorted(g, key=str) for g in groups]


def state_dtypes(graph: Graph, quants: dict, activations: str) -> dict[str, str]:
    """The tensors whose integer type is not the activations': an LSTM's final cell state
    (``cell_output``, ONNX's Y_c) and the chains of run-time initial cell states that feed
    LSTMs only, int16 in the cell's quantization (which ``quants`` gets), so a Y_c fed back
    as initial_c keeps its 16 bits. Other run-time states are requantized at the LSTM."""
    dtypes = {n.outputs[0]: "int16" for n in graph.nodes
              if n.op == LSTM and n.attrs.get("cell_output")}
    for node in graph.nodes:  # the layout ops after a Y_c (its RESHAPE) keep its type
        if node.inputs and node.inputs[0] in dtypes and node.op != LSTM:
            if get_op(node.op).ptq is not Ptq.SAME_AS_INPUT:
                raise EdgecError(f"node '{node.name}' ({node.op}) reads an LSTM's final cell "
                                 f"state '{node.inputs[0]}', int16 in the cell's "
                                 "quantization, which edgec's quantization only reshapes",
                                 "read Y_c of a one-direction LSTM as a model output, or "
                                 "build the float model")
            dtypes[node.outputs[0]] = dtypes[node.inputs[0]]
    consumers = graph.consumers()
    cells = [(node, chain) for node, index, chain in _run_time_states(graph)
             if index == lstm_op.C0]
    members = {t for _, chain in cells for t in chain}
    for node, chain in cells:
        cell_q = quants[internal_key(node, "cell")]

        def exclusive(name: str) -> bool:
            return name not in graph.outputs and all(
                (c.op == LSTM and c.inputs[lstm_op.C0] == name
                 and quants[internal_key(c, "cell")] == cell_q)
                or (get_op(c.op).ptq is Ptq.SAME_AS_INPUT and c.outputs[0] in members)
                for c in consumers.get(name, []))
        if activations in ("int8", "int16") and all(exclusive(t) for t in chain):
            for t in chain:
                quants[t], dtypes[t] = cell_q, "int16"
    return dtypes


def _lstm_inputs(node: Node, src: Graph, quants: dict, x: str, add_const: Callable,
                 activations: str = "int8", state: Callable | None = None) -> list[str]:
    """The integer LSTM's inputs: ``x`` (already int8 / int16), per-tensor int8 weights,
    int32 (16x8: int64) biases, the initial states quantized (constants) or ``state(name,
    dtype, quant)`` (run-time ones: their integer tensor in that dtype and quantization)."""
    X, W_IN, BIAS, H0, C0 = lstm_op.X, lstm_op.W_IN, lstm_op.BIAS, lstm_op.H0, lstm_op.C0
    x_q, hidden_q = quants[node.inputs[X]], quants[internal_key(node, "hidden")]
    cell_q = quants[internal_key(node, "cell")]
    tensors = [src.tensors[name] for name in node.inputs]
    for t in tensors[W_IN:H0]:
        if not t.is_const:
            raise EdgecError(f"node '{node.name}' ({LSTM}): '{t.name}' is computed at run time",
                             "post-training quantization needs constant weights and biases")
    inputs, weight_qs = [x], []
    for t in tensors[W_IN:BIAS]:
        data, q = weight_quant(t.data, None, "int8")
        weight_qs.append(q)
        inputs.append(add_const(t.name, data, "int8", q))
    bias_dtype = lstm_op.INTEGER[activations][0]
    for g, t in enumerate(tensors[BIAS:H0]):
        data, q = bias_quant(np.asarray(t.data).reshape(-1), x_q, weight_qs[g], bias_dtype)
        inputs.append(add_const(t.name, data, bias_dtype, q))
    for t, q, dtype in ((tensors[H0], hidden_q, activations), (tensors[C0], cell_q, "int16")):
        if t.is_const:
            inputs.append(add_const(t.name, quantize_array(t.data, q, dtype), dtype, q))
        else:  # run time: its integer tensor, requantized where its quantization differs
            inputs.append(state(t.name, dtype, q))
    return inputs


# -- SVDF ----------------------------------------------------------------------------------

SVDF = "SVDF"
SVDF_TIME_RANGE = 512  # the converter's 10-bit time weights: max|w| maps to 512
# TFLM's integer SVDF applies no fused activation: these are exact as the output range's
# clamp (ReLU: the zero point is -128, values below 0 clamp to it).
SVDF_CLAMPS = {"NONE": (-np.inf, np.inf), "RELU": (0.0, np.inf), "RELU6": (0.0, 6.0)}


def _svdf_internals(node: Node, inputs: list[np.ndarray]) -> tuple[dict, dict]:
    attrs = get_op(SVDF).full_attrs(node)
    _, state = svdf_op.run_float(attrs, inputs)
    return {"state": state}, {svdf_op.STATE: state}


def _svdf_quants(node: Node, ranges: dict, activations: str = "int8") -> dict:
    """int8 output over its range; the state int16 symmetric over every value it held."""
    if activations != "int8":
        raise EdgecError(f"node '{node.name}' (SVDF) has no {activations} kernel",
                         "TFLM's integer SVDF takes int8 activations: use --activations int8")
    activation = get_op(SVDF).full_attrs(node)["activation"]
    if activation not in SVDF_CLAMPS:
        raise EdgecError(f"node '{node.name}' (SVDF) has fused activation {activation}, which "
                         "TFLM's integer SVDF does not apply",
                         f"int8 SVDF takes the activations {', '.join(SVDF_CLAMPS)} (the "
                         "output's int8 range clamps them); apply the others as a separate op")
    lo, hi = ranges[node.outputs[0]]
    bound_lo, bound_hi = SVDF_CLAMPS[activation]
    state = activation_quant_int16(*ranges[internal_key(node, "state")])
    return {node.outputs[0]: ACTIVATION_QUANT["int8"](max(lo, bound_lo), min(hi, bound_hi)),
            internal_key(node, "state"): state}


def svdf_time_weight_quant(w: np.ndarray) -> tuple[np.ndarray, QuantParams]:
    """int16 time weights at scale ``max|w| / 512`` (the converter's ``number_of_bits =
    10``: 6 bits stay free for the sum over the memory)."""
    peak = np.float32(np.max(np.abs(np.asarray(w, np.float32))))
    scale = np.float32(peak / np.float32(SVDF_TIME_RANGE)) if peak > 0 else np.float32(1.0)
    values = round_half_away(np.asarray(w, np.float32) / scale)
    return np.clip(values, -32767, 32767).astype(np.int16), QuantParams(scale, 0)


def _svdf_inputs(node: Node, src: Graph, quants: dict, x: str, add_const: Callable,
                 activations: str = "int8", state: Callable | None = None) -> list[str]:
    """TFLM's integer SVDF inputs: int8 feature weights (symmetric, per tensor), int16 time
    weights, int32 bias at ``state_scale * time_scale``, the int16 initial state."""
    tensors = [src.tensors[name] if name else None for name in node.inputs]
    for t in tensors[svdf_op.WF:]:
        if t is not None and not t.is_const:
            raise EdgecError(f"node '{node.name}' (SVDF): '{t.name}' is computed at run time",
                             "post-training quantization needs constant weights, bias and "
                             "initial state")
    state_q = quants[internal_key(node, "state")]
    wf_t, wt_t, bias_t, state_t = tensors[svdf_op.WF:]
    wf, wf_q = weight_quant(wf_t.data, None, "int8")
    wt, wt_q = svdf_time_weight_quant(wt_t.data)
    inputs = [x, add_const(wf_t.name, wf, "int8", wf_q), add_const(wt_t.name, wt, "int16", wt_q)]
    # Without a bias, a zero one: the installed TFLM's integer SVDF reads the bias
    # unconditionally (it crashes on a model without one).
    units = wt_t.shape[0] // int(get_op(SVDF).full_attrs(node)["rank"])
    bias = np.zeros(units, np.float32) if bias_t is None else np.asarray(bias_t.data)
    data, q = bias_quant(bias.reshape(-1), state_q, wt_q, "int32")
    inputs.append(add_const(f"{node.name}_bias" if bias_t is None else bias_t.name, data,
                            "int32", q))
    inputs.append(add_const(state_t.name, quantize_array(state_t.data, state_q, "int16"),
                            "int16", state_q))
    return inputs


@dataclass(frozen=True)
class RecurrentRule:
    """How PTQ quantizes a ``Ptq.RECURRENT`` op."""

    # (node, float input arrays) -> ({internal state: its values in one sample},
    # {initial state input index: the final state, the next sample's initial state})
    internals: Callable[[Node, list], tuple[dict[str, np.ndarray], dict[int, np.ndarray]]]
    # (node, calibrated ranges, activation dtype) -> quantization of its outputs and
    # internal keys
    quants: Callable[[Node, dict, str], dict]
    # (node, float graph, chosen quants, int8/int16 input 0, add_const(base, data, dtype,
    # quant), activation dtype, state(name, dtype, quant): a run-time input as that integer
    # tensor) -> the quantized node's inputs
    inputs: Callable[..., list[str]]


RECURRENT_RULES: dict[str, RecurrentRule] = {
    LSTM: RecurrentRule(_lstm_internals, _lstm_quants, _lstm_inputs),
    SVDF: RecurrentRule(_svdf_internals, _svdf_quants, _svdf_inputs)}


def recurrent_rule(node: Node) -> RecurrentRule:
    if node.op not in RECURRENT_RULES:
        raise EdgecError(f"node '{node.name}' ({node.op}) has no recurrent quantization rule",
                         f"rules exist for: {', '.join(sorted(RECURRENT_RULES))}")
    return RECURRENT_RULES[node.op]


# -- the GRU as primitive ops ------------------------------------------------------------

class _Builder:
    """Appends float tensors and nodes to ``graph`` under names derived from one base."""

    def __init__(self, graph: Graph, base: str):
        self.graph, self.base, self.nodes = graph, base, []
        self.roles: dict[str, list[str]] = {}  # "zs", "n", ...: that value at every step

    def const(self, tag: str, data: np.ndarray) -> str:
        name = self.graph.unique_name(f"{self.base}_{tag}")
        data = np.ascontiguousarray(data, dtype=np.float32)
        self.graph.add_tensor(Tensor(name, data.shape, "float32", data))
        return name

    def node(self, op: str, inputs: list[str], out_shape: tuple, tag: str,
             out: str | None = None, **attrs) -> str:
        if out is None:
            out = self.graph.unique_name(f"{self.base}_{tag}")
            self.graph.add_tensor(Tensor(out, out_shape, "float32"))
        self.nodes.append(Node(op, inputs, [out], attrs, out))
        self.roles.setdefault(tag.split("_", 1)[-1], []).append(out)
        return out


def decompose_gru(graph: Graph, node: Node) -> tuple[list[Node], list[str]]:
    """The float primitive ops computing the GRU ``node`` (added tensors go into ``graph``)
    and the names of its hidden states, one per step (which share one quantization)."""
    a = node.attrs
    x_t, w_t, r_t, wb_t, rb_t, h0_t = (graph.tensors[n] for n in node.inputs[:6])
    for t in (w_t, r_t, wb_t, rb_t):
        if not t.is_const:
            raise EdgecError(f"node '{node.name}' (GRU): '{t.name}' is computed at run time",
                             "post-training quantization needs constant weights")
    batch, count, features = lstm_op.sizes(node, x_t.shape)
    hidden = r_t.shape[1]
    b = _Builder(graph, node.name or node.outputs[0])
    # The state before the first step: zero (folded into the first step's biases, below),
    # another constant, or a run-time input, which the first step then reads as the later
    # steps read the previous state.
    h, h0, read = None, None, None
    if not h0_t.is_const:
        h = node.inputs[5]
    elif a.get("carry_state"):  # the state lives in a variable: read it first
        h = read = b.node("READ_VARIABLE", [node.inputs[5]], h0_t.shape, "h_read")
        if tuple(h0_t.shape) != (batch, hidden):
            h = b.node("RESHAPE", [h], (batch, hidden), "h_read_2d", shape=[batch, hidden])
    elif np.any(h0_t.data != 0):
        h0 = np.asarray(h0_t.data, np.float32).reshape(batch, hidden)
        h = b.const("h0", h0)
    gates = [slice(g * hidden, (g + 1) * hidden) for g in range(3)]
    w = [b.const(f"w{k}", w_t.data[s]) for k, s in zip("zrh", gates)]
    r = [b.const(f"r{k}", r_t.data[s]) for k, s in zip("zrh", gates)]
    wb, rb = (np.asarray(t.data, np.float32) for t in (wb_t, rb_t))
    x_bias = [b.const(f"wb{k}", wb[s]) for k, s in zip("zrh", gates)]
    r_bias = [b.const(f"rb{k}", rb[s]) for k, s in zip("zrh", gates)]
    # Step 0 starts from h = 0: the recurrent products are their biases alone, folded into
    # the input products' biases (r * h = 0 without linear_before_reset).
    first_bias = [b.const(f"b{k}", wb[s] + rb[s]) for k, s in zip("zrh", gates)]
    lbr = a["linear_before_reset"]
    if not lbr:
        first_bias[2] = b.const("bh0", wb[gates[2]] + rb[gates[2]])
    else:
        first_bias[2] = x_bias[2]
    vec = (batch, hidden)
    states, order = {}, list(lstm_op.steps(node, count))
    for i, t in enumerate(order):
        tag = f"t{t}"
        begin = [t, 0, 0] if a["time_major"] else [0, t, 0]
        size = [1, batch, features] if a["time_major"] else [batch, 1, features]
        xt = b.node("STRIDED_SLICE", [node.inputs[0]], tuple(size), f"{tag}_x", begin=begin,
                    size=size, steps=[1, 1, 1])

        def recurrent(g: int, name: str) -> str:
            """``R_g h + rb_g``: a FULLY_CONNECTED, or a constant when h is the constant h0
            (PTQ quantizes no op on constants alone)."""
            if i == 0 and h0 is not None:
                return b.const(f"{tag}_{name}h", h0 @ r_t.data[gates[g]].T + rb[gates[g]])
            return b.node("FULLY_CONNECTED", [h, r[g], r_bias[g]], vec, f"{tag}_{name}h")

        def gate(g: int, name: str) -> str:
            bias = first_bias[g] if h is None else x_bias[g]
            pre = b.node("FULLY_CONNECTED", [xt, w[g], bias], vec, f"{tag}_{name}x")
            if h is not None:
                pre = b.node("ADD", [pre, recurrent(g, name)], vec, f"{tag}_{name}s")
            return b.node("LOGISTIC", [pre], vec, f"{tag}_{name}")

        z = gate(0, "z")
        pre_n = b.node("FULLY_CONNECTED", [xt, w[2], first_bias[2] if h is None else x_bias[2]],
                       vec, f"{tag}_nx")
        if lbr and (h is not None or np.any(rb[gates[2]] != 0)):
            rr = gate(1, "r")
            if h is None:
                rec = b.const(f"{tag}_rbh", np.broadcast_to(rb[gates[2]], vec))
            else:
                rec = recurrent(2, "n")
            pre_n = b.node("ADD", [pre_n, b.node("MUL", [rr, rec], vec, f"{tag}_nr")], vec,
                           f"{tag}_ns")
        elif not lbr and h is not None:
            rr = gate(1, "r")
            rh = b.node("MUL", [rr, h], vec, f"{tag}_rh")
            rec = b.node("FULLY_CONNECTED", [rh, r[2], r_bias[2]], vec, f"{tag}_nh")
            pre_n = b.node("ADD", [pre_n, rec], vec, f"{tag}_ns")
        n = b.node("TANH", [pre_n], vec, f"{tag}_n")
        last = i == len(order) - 1
        out = node.outputs[0] if last and not a["return_sequences"] else None
        if h is None:  # h = (1 - z) * n = n - z * n
            h = b.node("SUB", [n, b.node("MUL", [z, n], vec, f"{tag}_zn")], vec, f"{tag}_h",
                       out=out)
        else:  # h = n + z * (h - n)
            d = b.node("SUB", [h, n], vec, f"{tag}_d")
            h = b.node("ADD", [n, b.node("MUL", [z, d], vec, f"{tag}_zd")], vec, f"{tag}_h",
                       out=out)
        states[t] = h
    shared = list(states.values())
    if a.get("carry_state"):  # the last state is the next call's initial state
        last = h
        if tuple(h0_t.shape) != (batch, hidden):
            last = b.node("RESHAPE", [h], h0_t.shape, "h_assign_shaped", shape=list(h0_t.shape))
        b.node("ASSIGN_VARIABLE", [node.inputs[5], last], h0_t.shape, "h_assigned")
        shared.append(read)
    if a["return_sequences"]:
        axis = 0 if a["time_major"] else 1
        piece = (1, batch, hidden) if a["time_major"] else (batch, 1, hidden)
        pieces = [b.node("RESHAPE", [states[t]], piece, f"t{t}_y", shape=list(piece))
                  for t in range(count)]
        shared += pieces
        # TFLM's CONCATENATION takes at most 10 inputs: longer sequences join in rounds.
        while len(pieces) > MAX_CONCAT_INPUTS:
            chunks = [pieces[k:k + MAX_CONCAT_INPUTS]
                      for k in range(0, len(pieces), MAX_CONCAT_INPUTS)]
            pieces = []
            for chunk in chunks:
                shape = list(graph.tensors[chunk[0]].shape)
                shape[axis] = sum(graph.tensors[c].shape[axis] for c in chunk)
                pieces.append(chunk[0] if len(chunk) == 1 else
                              b.node("CONCATENATION", chunk, tuple(shape), "y", axis=axis))
            shared += pieces
        b.node("CONCATENATION", pieces, graph.tensors[node.outputs[0]].shape, "y",
               out=node.outputs[0], axis=axis)
        shared.append(node.outputs[0])
    # The same value at every step shares one quantization too (the union of the steps'
    # ranges): one step's rare extreme no longer saturates, and every step gets the same
    # tables and multipliers.
    roles = [names for role, names in b.roles.items() if len(names) > 1 and role != "h"]
    return b.nodes, [shared] + roles


# op -> (graph, node) -> (float nodes replacing it, groups of tensors sharing a quantization)
DECOMPOSITIONS: dict[str, Callable[[Graph, Node], tuple[list[Node], list[str]]]] = {
    "GRU": decompose_gru}


def decompose(graph: Graph) -> tuple[Graph, list[list[str]]]:
    """``graph`` with every ``Ptq.DECOMPOSE`` op replaced by its float primitive ops, and
    the groups of tensors that must share one quantization. Without such ops: ``graph``."""
    if not any(get_op(n.op).ptq is Ptq.DECOMPOSE for n in graph.nodes):
        return graph, []
    out = graph.copy()
    nodes, groups = [], []
    for node in out.nodes:
        if get_op(node.op).ptq is not Ptq.DECOMPOSE:
            nodes.append(node)
            continue
        if node.op not in DECOMPOSITIONS:
            raise EdgecError(f"node '{node.name}' ({node.op}) has no decomposition for "
                             "post-training quantization",
                             f"decompositions exist for: {', '.join(sorted(DECOMPOSITIONS))}")
        replacement, shared = DECOMPOSITIONS[node.op](out, node)
        nodes += replacement
        groups += shared
    out.nodes = nodes
    out.remove_unused_tensors()
    return out, groups


def share_ranges(ranges: dict, groups: list[list[str]]) -> dict:
    """Each group's tensors get the union of their calibrated ranges."""
    ranges = dict(ranges)
    for group in groups:
        union = (min(ranges[n][0] for n in group), max(ranges[n][1] for n in group))
        ranges.update({n: union for n in group})
    return ranges

