"""The state of one ONNX import: what each ONNX value has become in the IR graph.

An ONNX tensor is either a constant (a numpy array in ONNX layout, possibly the
dequantization of an int8/int32 array: a ``QConst``) or an activation, a ``Value``:

- ``float``: a float32 IR tensor;
- ``int8``: an int8 (or int16: TFLite's 16x8 mode) IR tensor (a QuantizeLinear output, an
  integer graph input, or a shape op on one);
- ``deq``: an ONNX *float* value that is ``DequantizeLinear`` of an int8/int16 IR tensor; ops
  reading it in a Q/DQ sandwich become int8 (int16) ops on that tensor;
- ``pending``: the int8 output of a quantized op whose scale the next QuantizeLinear gives;
- ``int``: plain integers (an integer graph input, or an integer op on them: docs/IR.md
  "Plain integers"); an int8 / int16 graph input is ``int8`` until an op reads it as plain
  integers (``plain_int``) or a DequantizeLinear gives it a scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx

from edgec.errors import EdgecError
from edgec.frontends import onnx_layout as lay
from edgec.ir import Graph, Node, QuantParams, Tensor, get_op


@dataclass
class Value:
    """An ONNX activation as held in the IR: tensor name, layout (see ``onnx_layout``), kind."""

    name: str
    layout: tuple[int, ...] | None
    kind: str  # float | int8 | deq | pending | index (int32 positions: MaxPool's Indices)
    # | int (plain values: integers, float64 and the minifloats of edgec.ir.floats)
    # | bool (comparisons, logic)


@dataclass
class QConst:
    """``DequantizeLinear`` of a constant: integer data plus its quantization (ONNX layout)."""

    data: np.ndarray
    scale: np.ndarray
    zero_point: np.ndarray
    axis: int | None

    def dequantized(self) -> np.ndarray:
        shape = [1] * self.data.ndim
        if self.axis is not None and self.scale.size > 1:
            shape[self.axis] = -1
        scale = self.scale.reshape(shape).astype(np.float32)
        zp = self.zero_point.reshape(shape).astype(np.int64)
        return ((self.data.astype(np.int64) - zp) * scale).astype(np.float32)


class Context:
    """Everything a converter needs: the IR graph being built and the ONNX-to-IR mapping."""

    def __init__(self, model: onnx.ModelProto, shapes: dict[str, tuple[int, ...]], name: str):
        self.model = model
        self.graph = Graph(name=name)
        self.shapes = shapes
        self.values: dict[str, Value] = {}
        self.consts: dict[str, np.ndarray] = {}
        self.qconsts: dict[str, QConst] = {}
        self.producer: dict[str, Node] = {}
        self.consumers: dict[str, list[onnx.NodeProto]] = {}
        for node in model.graph.node:
            for i in node.input:
                if i:
                    self.consumers.setdefault(i, []).append(node)
        self.graph_outputs = {o.name for o in model.graph.output}
        self._relayouts: dict[tuple[str, object], str] = {}
        self._dequantized: dict[str, str] = {}
        # Per-axis QuantizeLinear outputs held as their float fake-quantization (onnx_qdq):
        # ONNX name -> (scale, zero point, ONNX axis).
        self.fake_quantized: dict[str, tuple[np.ndarray, np.ndarray, int]] = {}

    # --- ONNX side -------------------------------------------------------------------------
    def shape(self, onnx_name: str) -> tuple[int, ...]:
        """The static ONNX shape of a tensor (from shape inference)."""
        if onnx_name in self.consts:
            return tuple(self.consts[onnx_name].shape)
        if onnx_name in self.qconsts:
            return tuple(self.qconsts[onnx_name].data.shape)
        if onnx_name not in self.shapes:
            runtime = self._runtime_integer_inputs(onnx_name)
            if runtime:
                raise EdgecError(f"tensor '{onnx_name}' has no static shape: it depends on the "
                                 f"run-time values of integer input '{runtime[0]}'",
                                 f"make '{runtime[0]}' a constant (an initializer): edgec "
                                 "compiles fixed shapes")
            raise EdgecError(f"tensor '{onnx_name}' has no static shape",
                             "export the model with fixed input shapes")
        return self.shapes[onnx_name]

    def _runtime_integer_inputs(self, onnx_name: str) -> list[str]:
        """The integer graph inputs read by the node writing ``onnx_name`` (a shape, axes or
        sizes fed at run time)."""
        producer = next((n for n in self.model.graph.node if onnx_name in n.output), None)
        if producer is None:
            return []
        return [i for i in producer.input if i in self.values and i in
                {g.name for g in self.model.graph.input} and self.values[i].kind in ("int", "int8")
                and self.tensor(self.values[i]).quant is None]

    def is_const(self, onnx_name: str) -> bool:
        return onnx_name in self.consts or onnx_name in self.qconsts

    def const(self, onnx_name: str, what: str = "this input") -> np.ndarray:
        """A constant input in ONNX layout (a dequantized ``QConst`` as float)."""
        if onnx_name in self.consts:
            return self.consts[onnx_name]
        if onnx_name in self.qconsts:
            return self.qconsts[onnx_name].dequantized()
        raise EdgecError(f"{what} ('{onnx_name}') must be a constant",
                         "export the model with constant folding enabled")

    def value(self, onnx_name: str) -> Value:
        if onnx_name not in self.values:
            raise EdgecError(f"tensor '{onnx_name}' is read before it is produced",
                             "the ONNX graph must be topologically sorted")
        return self.values[onnx_name]

    def single_consumer(self, onnx_name: str) -> bool:
        """True when only one node reads ``onnx_name`` and it is not a graph output."""
        return len(self.consumers.get(onnx_name, [])) == 1 and onnx_name not in self.graph_outputs

    # --- IR side ---------------------------------------------------------------------------
    def tensor(self, value: Value | str) -> Tensor:
        return self.graph.tensors[value.name if isinstance(value, Value) else value]

    def new_tensor(self, base: str, shape, dtype: str, quant: QuantParams | None = None,
                   data: np.ndarray | None = None) -> str:
        if any(int(d) == 0 for d in shape):
            raise EdgecError(f"tensor '{base}' would be empty (shape {tuple(shape)})",
                             "edgec compiles tensors that hold data; a Reshape with allowzero "
                             "or a Slice may have produced a zero-size dimension")
        name = self.graph.unique_name(base)
        self.graph.add_tensor(Tensor(name, tuple(shape), dtype, data, quant))
        return name

    def const_tensor(self, base: str, data: np.ndarray, quant: QuantParams | None = None) -> str:
        data = np.ascontiguousarray(data)
        return self.new_tensor(base, data.shape, data.dtype.name, quant, data)

    def add_node(self, op: str, inputs: list[str], outputs: list[str], attrs: dict | None = None,
                 name: str = "") -> Node:
        node = Node(op, list(inputs), list(outputs), dict(attrs or {}), name or outputs[0])
        self.graph.nodes.append(node)
        for o in outputs:
            self.producer[o] = node
        return node

    def emit(self, onnx_node: onnx.NodeProto, op: str, inputs: list[str], attrs: dict,
             layout, quantized: bool) -> Node:
        """Add ``op`` computing the (first) output of ``onnx_node`` in ``layout``.

        The output is float32, or int8 (int16 when an activation input is int16: TFLite's
        16x8 ops) awaiting its scale from the next QuantizeLinear (``quantized``)."""
        out = onnx_node.output[0]
        shape = lay.permute_shape(self.shape(out), layout)
        dtype = self.quantized_dtype(inputs) if quantized else "float32"
        if dtype == "int16" and "int16" not in get_op(op).dtypes:
            raise EdgecError(f"{onnx_node.op_type} '{onnx_node.name or out}' computes with int16 "
                             f"activations; {op} has no int16 (TFLite 16x8) form",
                             "quantize this op's activations to 8 bits, or leave it in float "
                             "(no QuantizeLinear/DequantizeLinear around it)")
        ir_name = self.new_tensor(out, shape, dtype)
        if dtype == "int16":
            inputs = [self.int16_bias(i) if k == 2 else i for k, i in enumerate(inputs)]
        node = self.add_node(op, inputs, [ir_name], attrs, onnx_node.name or out)
        kind = "pending" if quantized else "float"
        self.values[out] = Value(ir_name, lay.normalize(layout), kind)
        return node

    def plain_int(self, onnx_name: str) -> bool:
        """Whether activation ``onnx_name`` holds plain integers: an ``int`` value, or an
        ``int8`` one without quantization (an int8 / int16 graph input), which reading it as
        plain integers makes ``int`` (a later DequantizeLinear of it is then refused)."""
        if self.is_const(onnx_name):
            return False
        v = self.value(onnx_name)
        if v.kind == "int8" and self.tensor(v).quant is None:
            self.values[onnx_name] = v = Value(v.name, v.layout, "int")
        return v.kind == "int"

    def quantized_dtype(self, inputs: list[str]) -> str:
        """The integer type of a quantized op on IR tensors ``inputs``: int16 when an
        activation (non-constant) input is int16, else int8."""
        acts = [self.tensor(i) for i in inputs if i and self.tensor(i).data is None]
        return "int16" if any(t.dtype == "int16" for t in acts) else "int8"

    def int16_bias(self, name: str) -> str:
        """The int64 twin of an int32 bias of a 16x8 op (TFLite's 16x8 form, which TFLM's
        depthwise convolution requires: the same values, accumulated in int64)."""
        t = self.tensor(name) if name else None
        if t is None or t.dtype != "int32" or t.data is None:
            return name
        return self.const_tensor(f"{name}_int64", t.data.astype(np.int64), _copy_quant(t.quant))

    # --- layout and dtype conversions -------------------------------------------------------
    def in_layout(self, value: Value, layout, onnx_name: str = "") -> str:
        """The IR tensor holding ``value`` in ``layout`` (adds a RESHAPE/TRANSPOSE once)."""
        layout = lay.normalize(layout)
        if value.layout == layout:
            return value.name
        if value.kind == "pending":
            raise EdgecError(f"the quantized result '{onnx_name or value.name}' is used before "
                             "its QuantizeLinear", "quantize each op's output directly")
        key = (value.name, layout)
        if key not in self._relayouts:
            self._relayouts[key] = self._transpose(value.name, lay.relayout_perm(
                value.layout, layout, len(self.tensor(value).shape)))
        return self._relayouts[key]

    def _transpose(self, src: str, perm: tuple[int, ...]) -> str:
        t = self.tensor(src)
        shape = tuple(t.shape[p] for p in perm)
        suffix = "nhwc" if perm == lay.NHWC else "t"
        out = self.new_tensor(f"{src}_{suffix}", shape, t.dtype, _copy_quant(t.quant))
        if lay.is_pure_reshape(t.shape, perm):
            self.add_node("RESHAPE", [src], [out], {"shape": shape})
        else:
            self.add_node("TRANSPOSE", [src], [out], {"perm": tuple(perm)})
        return out

    def as_float(self, value: Value, onnx_name: str = "") -> Value:
        """``value`` as a float32 IR tensor (adds a DEQUANTIZE for a ``deq`` value)."""
        if value.kind == "float":
            return value
        if value.kind != "deq":
            raise EdgecError(f"tensor '{onnx_name or value.name}' is {self.tensor(value).dtype}"
                             " where a float is expected",
                             "dequantize it with DequantizeLinear first")
        if value.name not in self._dequantized:
            t = self.tensor(value)
            out = self.new_tensor(f"{value.name}_dequant", t.shape, "float32")
            self.add_node("DEQUANTIZE", [value.name], [out])
            self._dequantized[value.name] = out
        return Value(self._dequantized[value.name], value.layout, "float")


def _copy_quant(q: QuantParams | None) -> QuantParams | None:
    return None if q is None else QuantParams(q.scale.copy(), q.zero_point.copy(), q.axis)
