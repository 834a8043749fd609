"""Post-training quantization: a float32 graph plus calibration data -> an int8 graph.

Steps (TFLite's conventions, see ``edgec.quantize.params``; each op's rule is its ``OpDef``'s
``ptq``, ``fixed_quant``, ``weight_axis``, ``int4_weights`` and ``ternary_weights``):
1. run the calibration samples through the float graph and observe every activation's range;
2. choose each activation's int8 quantization: fixed by the op, shared with the op's input,
   or from the observed range (CONCATENATION widens its inputs to one shared range);
3. rebuild the graph with int8 activations, quantized weights (int8, or int4 / ternary for
   the ops asked) and int32 biases; a requantizing QUANTIZE goes where a concatenation input cannot
   share the output's quantization;
4. an op TFLite Micro has no integer kernel for (``Ptq.FLOAT``: EXP, LOG, SQRT, DIV, CAST ...)
   stays float32: a DEQUANTIZE makes each quantized input float, a QUANTIZE (with the output's
   calibrated quantization) takes each float output back to int8 where an int8 op reads it;
   float ops in a row pass float tensors. Tensors that are not float32 in the float graph (bool
   comparison results, plain integers after a CAST) keep their type, unquantized;
5. with ``io="float"`` (the default) a QUANTIZE reads each float input and a DEQUANTIZE
   writes each float output, so the model keeps its float interface; ``io="int8"`` makes
   the graph's inputs and outputs the int8 tensors themselves.

``activations="int16"`` makes TFLite's 16x8 model instead: int16 activations, symmetric
(zero point 0), int8 weights, int64 biases; the fixed output quantizations are the ops'
``fixed_quant_int16`` (Q0.15 for LOGISTIC, TANH and SOFTMAX).
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from edgec.errors import EdgecError
from edgec.ir.check import check_graph
from edgec.ir.graph import Graph, Node, QuantParams, Tensor
from edgec.passes.constant_fold import fold_constants
from edgec.quantize.calibration import check_calibration, collect_ranges
from edgec.quantize.observers import observer_factory
from edgec.quantize.recurrent import (decompose, recurrent_rule, share_ranges, state_dtypes,
                                     state_groups)
from edgec.quantize.params import (ACTIVATION_QUANT, bias_quant, quantize_array, tensor_quant,
                                   weight_quant)
from edgec.ir.registry import Ptq, get_op, registered_ops

# Ops that can take int4 weights (TFLite Micro unpacks int4 filters for exactly these).
INT4_OPS = tuple(name for name in registered_ops() if get_op(name).int4_weights)
# Ops that can take ternary weights (edgec's packed kernels; no TFLM reference).
TERNARY_OPS = tuple(name for name in registered_ops() if get_op(name).ternary_weights)

IO_MODES = ("float", "int8")
ACTIVATION_DTYPES = ("int8", "int16")
BIAS_DTYPE = {"int8": "int32", "int16": "int64"}  # per activation dtype
WEIGHT_DTYPES = ("int8", "int4", "ternary")
# The ops each sub-byte weight type exists for.
SUB_BYTE_OPS = {"int4": INT4_OPS, "ternary": TERNARY_OPS}


def quantize_graph(graph: Graph, calibration: dict[str, np.ndarray], observer: str = "minmax",
                   percentile: float = 99.99, io: str = "float", weights: str = "int8",
                   int4_ops: Iterable[str] | None = None, activations: str = "int8") -> Graph:
    """The int8 version of the float ``graph``, calibrated on ``calibration`` (one float array
    per input name, samples on axis 0).

    ``observer`` is ``"minmax"`` or ``"percentile"`` (with ``percentile``); ``io`` is
    ``"float"`` (quantize/dequantize at the edges, default) or ``"int8"``; ``weights="int4"``
    stores the weights of ``int4_ops`` (default: all of CONV_2D, DEPTHWISE_CONV_2D,
    FULLY_CONNECTED) as int4, symmetric in [-7, 7], per channel except FULLY_CONNECTED (per
    tensor: TFLite Micro's int4 kernel takes nothing else). ``weights="ternary"`` stores them
    as {-1, 0, +1} times a per-channel scale (every op per channel), packed four per byte in C;
    ``int4_ops`` then names the ternary ops. ``activations="int16"``: TFLite's 16x8 mode
    (int8 weights only; with ``io="int8"`` the graph's inputs and outputs are int16).
    """
    _check_options(io, weights, activations)
    int4 = _int4_ops(weights, int4_ops)
    # A node reading constants only (a WHILE loop's first step on the zero state, unrolled
    # at import) has no calibrated range: evaluate it first, as the passes would.
    graph = fold_constants(graph)
    _check_float_graph(graph, activations)
    make_observer = observer_factory(observer, percentile)
    samples = check_calibration(graph, calibration)
    graph, groups = decompose(graph)
    if activations == "int16":
        for node in graph.nodes:
            _check_int16_kernel(node, graph)
    ranges = share_ranges(collect_ranges(graph, samples, make_observer),
                          groups + state_groups(graph))
    quants = choose_activation_quant(graph, ranges, activations)
    dtypes = state_dtypes(graph, quants, activations)
    return check_graph(_Rewriter(graph, quants, int4, io, weights, activations, dtypes).run())


def _check_options(io: str, weights: str, activations: str = "int8") -> None:
    if io not in IO_MODES:
        raise EdgecError(f"unknown I/O mode '{io}'", f"choose one of: {', '.join(IO_MODES)}")
    if weights not in WEIGHT_DTYPES:
        raise EdgecError(f"unknown weight type '{weights}'",
                         f"choose one of: {', '.join(WEIGHT_DTYPES)}")
    if activations not in ACTIVATION_DTYPES:
        raise EdgecError(f"unknown activation type '{activations}'",
                         f"choose one of: {', '.join(ACTIVATION_DTYPES)}")
    if activations == "int16" and weights != "int8":
        raise EdgecError(f"{weights} weights with int16 activations: TFLite's 16x8 mode has "
                         "int8 weights only", "drop --weights or use --activations int8")


def _int4_ops(weights: str, int4_ops: Iterable[str] | None) -> set[str]:
    """The ops whose weights become int4 (or ternary); an op without such a kernel raises."""
    if weights not in SUB_BYTE_OPS:
        if int4_ops:
            raise EdgecError("int4 ops were named but the weights are int8",
                             "add --weights int4 or --weights ternary")
        return set()
    valid = SUB_BYTE_OPS[weights]
    ops = set(valid if int4_ops is None else int4_ops)
    unsupported = sorted(ops - set(valid))
    if unsupported:
        raise EdgecError(f"no {weights} kernel for op(s) {unsupported}",
                         f"{weights} weights exist for: {', '.join(valid)}")
    return ops


def _check_float_graph(graph: Graph, activations: str = "int8") -> None:
    for name in graph.inputs:
        t = graph.tensors[name]
        if t.dtype != "float32":
            raise EdgecError(f"model input '{name}' is {t.dtype}, not float32: the model is "
                             "already quantized or computes on plain integers",
                             "quantize a float32 model")
    for node in graph.nodes:
        op = get_op(node.op)
        if op.ptq is Ptq.UNSUPPORTED:
            raise EdgecError(f"node '{node.name}' is a {node.op}, which edgec's post-training "
                             "quantization does not quantize",
                             "build the float model, or quantize it with the TFLite "
                             "converter")
        if op.ptq is Ptq.NOT_IN_FLOAT:
            raise EdgecError(f"node '{node.name}' is a {node.op}: the model is already "
                             "(partly) quantized", "quantize a float32 model")
        if op.weight_axis is not None and not graph.tensors[node.inputs[1]].is_const:
            raise EdgecError(f"node '{node.name}' ({node.op}) has non-constant weights",
                             "post-training quantization needs constant weights")
        # A decomposed op (the GRU) is checked by its primitive ops after decomposition.
        if activations == "int16" and op.ptq is not Ptq.DECOMPOSE:
            _check_int16_kernel(node, graph)


# Ops that, without an int16 kernel, stay float in a 16x8 model (TFLM has no 16x8 kernel for
# them: LOG_SOFTMAX, DIV, comparisons, ...); the others (weights, recurrent) are refused.
_INT16_FLOAT_RULES = (Ptq.CALIBRATE, Ptq.SAME_AS_INPUT, Ptq.SHARED_INPUTS, Ptq.FIXED)


def _lacks_int16(op) -> bool:
    return "int16" not in op.kernels or (op.ptq is Ptq.FIXED and op.fixed_quant_int16 is None)


def stays_float(node: Node, activations: str) -> bool:
    """``node`` computes in float32 in the quantized graph: its op has no integer kernel in
    TFLM (``Ptq.FLOAT``), or (16x8) no int16 kernel in edgec and no weights."""
    op = get_op(node.op)
    return op.ptq is Ptq.FLOAT or (activations == "int16" and _lacks_int16(op)
                                   and op.ptq in _INT16_FLOAT_RULES and op.weight_axis is None)


def _check_int16_kernel(node: Node, graph: Graph) -> None:
    op = get_op(node.op)
    # An op that stays float, or computes on bool tensors alone, needs no int16 kernel.
    if stays_float(node, "int16") or all(graph.tensors[name].dtype != "float32" or
                                         graph.tensors[name].is_const
                                         for name in [*node.inputs, *node.outputs] if name):
        return
    if _lacks_int16(op):
        with_it = [n for n in registered_ops() if "int16" in get_op(n).kernels]
        raise EdgecError(f"node '{node.name}' ({node.op}) has no int16 kernel",
                         f"int16 activations exist for: {', '.join(with_it)}")


def choose_activation_quant(graph: Graph, ranges: dict[str, tuple[float, float]],
                            activations: str = "int8") -> dict[str, QuantParams]:
    """The int8 (or int16) quantization of every non-constant float tensor, in execution
    order."""
    activation_quant = ACTIVATION_QUANT[activations]
    ranges = _shared_ranges(graph, dict(ranges))
    quants = {name: activation_quant(*ranges[name]) for name in graph.inputs}
    for node in graph.nodes:
        op = get_op(node.op)
        for out in node.outputs:
            if graph.tensors[out].dtype != "float32":
                continue  # bool or plain integers: not quantized
            if stays_float(node, activations):
                quants[out] = activation_quant(*ranges[out])
            elif op.ptq is Ptq.RECURRENT:
                quants.update(recurrent_rule(node).quants(node, ranges, activations))
            elif op.ptq is Ptq.FIXED:
                fixed = op.fixed_quant_int16 if activations == "int16" else op.fixed_quant
                quants[out] = QuantParams(*fixed)
            elif op.ptq is Ptq.SAME_AS_INPUT:
                quants[out] = quants[node.inputs[0]]
            else:
                quants[out] = activation_quant(*ranges[out])
    return quants


def _shared_ranges(graph: Graph, ranges: dict) -> dict:
    """Widen each concatenation's output to the union of its inputs' ranges, and give that
    range to inputs nothing else constrains (so they need no requantization)."""
    producers, consumers = graph.producers(), graph.consumers()
    for node in graph.nodes:
        if get_op(node.op).ptq is not Ptq.SHARED_INPUTS:
            continue
        bool_inputs = {node.inputs[k] for k in get_op(node.op).bool_inputs}
        members = [i for i in node.inputs if i in ranges and i not in bool_inputs] \
            + node.outputs
        union = (min(ranges[m][0] for m in members), max(ranges[m][1] for m in members))
        ranges[node.outputs[0]] = union
        for name in node.inputs:
            producer = producers.get(name)
            free = producer is not None \
                and get_op(producer.op).ptq not in (Ptq.FIXED, Ptq.SAME_AS_INPUT)
            if free and len(consumers[name]) == 1 and name not in graph.outputs:
                ranges[name] = union
    return ranges


class _Rewriter:
    """Builds the int8 graph from the float one and the chosen activation quantization."""

    def __init__(self, graph: Graph, quants: dict[str, QuantParams], int4: set[str], io: str,
                 weights: str = "int4", activations: str = "int8",
                 dtypes: dict[str, str] | None = None):
        self.src = graph
        self.dtype = activations  # of every activation tensor but those in dtypes
        self.dtypes = dtypes or {}  # an LSTM's int16 cell states
        self.quants = quants
        self.int4 = int4  # the ops whose weights take the sub-byte type ``weights``
        self.sub_byte = weights if weights in SUB_BYTE_OPS else "int4"
        self.io = io
        self.out = Graph(name=graph.name)
        self.renamed: dict[str, str] = {}  # float activation name -> its int8 tensor's name
        self.shared: dict[tuple, str] = {}  # (float weight or bias, how) -> quantized const
        self.floats: dict[str, str] = {}  # float activation -> its float32 tensor (Ptq.FLOAT)

    def run(self) -> Graph:
        for name in self.src.inputs:
            self._activation(name)
        for node in self.src.nodes:
            if get_op(node.op).ptq is Ptq.FLOAT_STATE:
                self.out.nodes.extend(self._float_state(node))
            elif stays_float(node, self.dtype) or not self._int8_accepts(node):
                self._float_node(node)
            else:
                self.out.nodes.append(self._node(node))
        if self.io == "float":
            self._float_edges()
        else:
            self.out.inputs = [self.renamed[n] for n in self.src.inputs]
            self.out.outputs = [self._operand(n) for n in self.src.outputs]
        self.out.remove_unused_tensors()
        return self.out

    def _activation(self, name: str) -> str:
        """The int8 tensor of float activation ``name``. With float I/O the float name stays
        on the float edge tensor and the int8 one gets a suffix."""
        new_name = name
        t = self.src.tensors[name]
        if t.dtype != "float32":  # bool or plain integers: kept as they are
            self.out.add_tensor(Tensor(name, t.shape, t.dtype))
            self.renamed[name] = name
            return name
        if self.io == "float" and (name in self.src.inputs or name in self.src.outputs):
            new_name = f"{name}_int8"
            while new_name in self.src.tensors:
                new_name += "_"
        self.out.add_tensor(Tensor(new_name, t.shape, self.dtypes.get(name, self.dtype), None,
                                   self.quants[name]))
        self.renamed[name] = new_name
        return new_name

    def _const(self, base: str, data: np.ndarray, dtype: str, quant: QuantParams | None) -> str:
        name = self.out.unique_name(base)
        self.out.add_tensor(Tensor(name, data.shape, dtype, data, quant))
        return name

    def _shared_const(self, base: str, data: np.ndarray, dtype: str,
                      quant: QuantParams | None) -> str:
        """``_const``, once per float constant ``base`` and quantization (ONNX's Y and Y_c
        are two LSTM nodes reading the same weights)."""
        key = (base, dtype, None if quant is None else
               (quant.scale.tobytes(), quant.zero_point.tobytes()))
        if key not in self.shared:
            self.shared[key] = self._const(base, data, dtype, quant)
        return self.shared[key]

    def _node(self, node: Node) -> Node:
        op = get_op(node.op)
        if op.ptq is Ptq.RECURRENT:
            inputs = recurrent_rule(node).inputs(node, self.src, self.quants,
                                                 self._operand(node.inputs[0]),
                                                 self._shared_const, self.dtype,
                                                 self._state)
        elif op.weight_axis is not None:
            inputs = self._weighted_inputs(node)
        else:
            inputs = [self._operand(name) for name in node.inputs]
        if op.ptq is Ptq.SHARED_INPUTS:
            out_q = self.quants[node.outputs[0]]
            inputs = [name if k in op.bool_inputs else self._requantized(name, out_q, node)
                      for k, name in enumerate(inputs)]
        outputs = [self._activation(o) for o in node.outputs]
        attrs = dict(node.attrs)
        if node.op == "PAD" and attrs["value"] is not None:
            q = self.quants[node.inputs[0]]
            attrs["value"] = int(quantize_array(np.array([attrs["value"]]), q, self.dtype)[0])
        return Node(node.op, inputs, outputs, attrs, node.name)

    def _float_state(self, node: Node) -> list[Node]:
        """READ_VARIABLE / ASSIGN_VARIABLE of a variable that stays float (``Ptq.
        FLOAT_STATE``): the read's output is quantized to its calibrated quantization, the
        assigned value dequantized (the TensorFlow converter's int8 stateful layers)."""
        v = self.src.tensors[node.inputs[0]]
        variable = self._shared_const(v.name, v.data, "float32", None)
        nodes = []
        inputs = [variable]
        for name in node.inputs[1:]:  # ASSIGN_VARIABLE's value
            value = self._float_copy(name)
            nodes.append(Node("DEQUANTIZE", [self._operand(name)], [value], {},
                              f"{node.name}_dequantize"))
            inputs.append(value)
        out = node.outputs[0]
        float_out = self._float_copy(out)
        nodes.append(Node(node.op, inputs, [float_out], dict(node.attrs), node.name))
        nodes.append(Node("QUANTIZE", [float_out], [self._activation(out)], {},
                          f"{node.name}_quantize"))
        return nodes

    def _float_node(self, node: Node) -> None:
        """A ``Ptq.FLOAT`` op: float32 inputs (DEQUANTIZE of int8 activations, float
        constants as they are), float32 outputs, quantized only when an int8 op reads them
        (``_operand``). With float I/O a float graph output keeps its name and is not
        quantized at all."""
        inputs = [self._float_operand(name) for name in node.inputs]
        outputs = []
        for out in node.outputs:
            t = self.src.tensors[out]
            if t.dtype != "float32":
                outputs.append(self._activation(out))
            elif self.io == "float" and out in self.src.outputs:
                self.out.add_tensor(Tensor(out, t.shape, "float32"))
                self.floats[out] = out
                outputs.append(out)
            else:
                self.floats[out] = self._float_copy(out)
                outputs.append(self.floats[out])
        self.out.nodes.append(Node(node.op, inputs, outputs, dict(node.attrs), node.name))

    def _int8_accepts(self, node: Node) -> bool:
        """Whether the op's integer kernel takes the inputs' quantization (``OpDef.
        ptq_accepts``; a constant as ``_operand`` would quantize it)."""
        accepts = get_op(node.op).ptq_accepts
        if accepts is None:
            return True
        quants = []
        for name in node.inputs:
            t = self.src.tensors[name] if name else None
            if t is None or t.dtype != "float32":
                quants.append(None)
            elif t.is_const:
                quants.append(tensor_quant(t.data, self.dtype)[1])
            else:
                quants.append(self.quants[name])
        return accepts(node, quants)

    def _float_operand(self, name: str) -> str:
        """The float32 version of input ``name`` of a ``Ptq.FLOAT`` op."""
        if not name:
            return ""
        if name in self.floats:
            return self.floats[name]
        t = self.src.tensors[name]
        if t.is_const:
            return self._shared_const(name, t.data, t.dtype, t.quant)
        if t.dtype != "float32":
            return self.renamed[name]
        copy = self._float_copy(name)
        self.out.nodes.append(Node("DEQUANTIZE", [self.renamed[name]], [copy], {},
                                   f"{name}_dequantize"))
        self.floats[name] = copy
        return copy

    def _float_copy(self, name: str) -> str:
        """A new float32 tensor shaped like float activation ``name``."""
        copy = self.out.unique_name(f"{name}_float")
        self.out.add_tensor(Tensor(copy, self.src.tensors[name].shape, "float32"))
        return copy

    def _operand(self, name: str) -> str:
        """The int8 version of an input: a renamed activation or a quantized constant."""
        if not name:
            return ""
        if name in self.renamed:
            return self.renamed[name]
        if name in self.floats:  # a float op's output, quantized on first use
            self._activation(name)
            self.out.nodes.append(Node("QUANTIZE", [self.floats[name]], [self.renamed[name]],
                                       {}, f"{name}_quantize"))
            return self.renamed[name]
        t = self.src.tensors[name]
        if t.dtype != "float32":
            return self._const(name, t.data, t.dtype, t.quant)
        data, q = tensor_quant(t.data, self.dtype)
        return self._const(name, data, self.dtype, q)

    def _weighted_inputs(self, node: Node) -> list[str]:
        """(x, weights, bias?) of a conv-like node: weights int8/int4/ternary, bias int32."""
        w = self.src.tensors[node.inputs[1]]
        dtype = self.sub_byte if node.op in self.int4 else "int8"
        # TFLite Micro's int4 FULLY_CONNECTED takes per-tensor weights only.
        axis = None if dtype == "int4" and node.op == "FULLY_CONNECTED" \
            else get_op(node.op).weight_axis
        # Nodes sharing a float weight (a GRU's steps) share its quantized copy, and a bias
        # too when their inputs share a quantization.
        w_key = (w.name, dtype, axis)
        if w_key not in self.shared:
            w_data, w_q = weight_quant(w.data, axis, dtype)
            self.shared[w_key] = self._const(w.name, w_data, dtype, w_q)
        w_name = self.shared[w_key]
        w_q = self.out.tensors[w_name].quant
        inputs = [self._operand(node.inputs[0]), w_name]
        bias = node.inputs[2] if len(node.inputs) > 2 else ""
        if bias:
            b = self.src.tensors[bias]
            if not b.is_const:
                raise EdgecError(f"node '{node.name}' ({node.op}) has a non-constant bias",
                                 "post-training quantization needs a constant bias")
            bias_dtype = BIAS_DTYPE[self.dtype]
            in_q = self.quants[node.inputs[0]]
            b_key = (b.name, w_key, in_q.s)
            if b_key not in self.shared:
                b_data, b_q = bias_quant(b.data, in_q, w_q, bias_dtype)
                self.shared[b_key] = self._const(b.name, b_data, bias_dtype, b_q)
            inputs.append(self.shared[b_key])
        return inputs + [""] * (len(node.inputs) - len(inputs))

    def _state(self, name: str, dtype: str, q: QuantParams) -> str:
        """Run-time float tensor ``name`` as a ``dtype`` tensor with quantization ``q`` (one
        requantized copy, however many nodes read it)."""
        key = (name, dtype, q.scale.tobytes(), q.zero_point.tobytes())
        if key not in self.shared:
            self.shared[key] = self._requantized(self.renamed[name], q, None, dtype)
        return self.shared[key]

    def _requantized(self, name: str, q: QuantParams, node: Node | None,
                     dtype: str | None = None) -> str:
        """``name`` itself when it already has quantization ``q`` (and type ``dtype``, default
        the activations'), else a QUANTIZE copy."""
        dtype = dtype or self.dtype
        t = self.out.tensors[name]
        if t.quant == q and t.dtype == dtype:
            return name
        copy = self.out.unique_name(f"{name}_requantized")
        self.out.add_tensor(Tensor(copy, t.shape, dtype, None, q))
        self.out.nodes.append(Node("QUANTIZE", [name], [copy], {},
                                   copy if node is None else f"{node.name}_{copy}"))
        return copy

    def _float_edges(self) -> None:
        """QUANTIZE each float input, DEQUANTIZE each output: the float interface stays."""
        head = []
        for name in self.src.inputs:
            t = self.src.tensors[name]
            self.out.add_tensor(Tensor(name, t.shape, "float32"))
            head.append(Node("QUANTIZE", [name], [self.renamed[name]], {}, f"quantize_{name}"))
        for name in self.src.outputs:
            t = self.src.tensors[name]
            if t.dtype != "float32" or self.floats.get(name) == name:
                continue  # bool or plain integers, or a float op's output: as it is
            self.out.add_tensor(Tensor(name, t.shape, "float32"))
            self.out.nodes.append(Node("DEQUANTIZE", [self.renamed[name]], [name], {},
                                       f"dequantize_{name}"))
        self.out.nodes[:0] = head
        self.out.inputs, self.out.outputs = list(self.src.inputs), list(self.src.outputs)
