"""The ONNX frontend: float and QDQ-int8 ONNX models to edgec's NHWC graph IR.

Steps: parse; pin a symbolic batch dimension to 1 and run ONNX shape inference (every shape
must be static); fold constant subgraphs; convert node by node through the converter registry
(``onnx_converters``); lay the graph outputs out as ONNX does; tidy up (``onnx_cleanup``); check.

Decisions a user sees:
- Inputs and outputs keep the ONNX shapes and dtypes. An NCHW input gets one TRANSPOSE into
  NHWC (and a rank-4 output one back), so ``interpret(graph, x)`` equals onnxruntime on ``x``.
- A QDQ model whose input is int8 (as tf2onnx writes them) takes int8; a float input followed
  by QuantizeLinear stays float and is quantized by a QUANTIZE op inside the graph.
- An output that does not depend on the inputs (a Shape of a static tensor, an
  inference-mode Dropout's mask) is a constant the run function copies into that output's
  buffer, so the C API keeps one buffer per ONNX output: int64 values as int32, bools as
  uint8 0/1 (``_constant_output``); an empty one is a zero-size output nothing writes.
- An input with a zero-size dimension holds no values: it is an empty constant, not an input
  of the compiled model; any zero-size value is an empty constant (docs/IR.md "Empty
  tensors").
"""

from __future__ import annotations

import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import shape_inference

from edgec.errors import EdgecError
from edgec.frontends.onnx_cleanup import simplify
from edgec.frontends.onnx_context import Context, Value
from edgec.frontends.onnx_fold import fold_constant_node
from edgec.frontends.onnx_converters import converter_for
from edgec.frontends.onnx_validate import check_model, check_node, check_order, tensor_array
from edgec.ir import Graph, Node, Tensor, check_graph
from edgec.ir.floats import OTHER_FLOATS
from edgec.ir.graph import INT_DTYPES, NARROW_INT_DTYPES
from edgec.limits import check_shape
from edgec.passes.rewrite import rename_tensor

_DTYPES = {onnx.TensorProto.FLOAT: "float32", onnx.TensorProto.INT8: "int8",
           onnx.TensorProto.INT16: "int16",
           onnx.TensorProto.UINT8: "uint8", onnx.TensorProto.INT32: "int32",
           onnx.TensorProto.INT64: "int64", onnx.TensorProto.UINT16: "uint16",
           onnx.TensorProto.UINT32: "uint32", onnx.TensorProto.UINT64: "uint64",
           onnx.TensorProto.BOOL: "bool",
           # float64 and the minifloats (edgec.ir.floats): plain values, like integers
           onnx.TensorProto.DOUBLE: "float64", onnx.TensorProto.FLOAT16: "float16",
           onnx.TensorProto.BFLOAT16: "bfloat16",
           onnx.TensorProto.FLOAT8E4M3FN: "float8_e4m3fn",
           onnx.TensorProto.FLOAT8E4M3FNUZ: "float8_e4m3fnuz",
           onnx.TensorProto.FLOAT8E5M2: "float8_e5m2",
           onnx.TensorProto.FLOAT8E5M2FNUZ: "float8_e5m2fnuz",
           onnx.TensorProto.FLOAT8E8M0: "float8_e8m0fnu",
           onnx.TensorProto.FLOAT4E2M1: "float4_e2m1fn",
           onnx.TensorProto.INT4: "int4",
           onnx.TensorProto.UINT4: "uint4",
           onnx.TensorProto.INT2: "int2",
           onnx.TensorProto.UINT2: "uint2",
           }
_FIXED_SHAPE_HINT = ("export the model with a fixed input shape, or fix it with "
                     "`python -m onnxruntime.tools.make_dynamic_shape_fixed`")


def load_onnx(data: bytes, name: str = "model", base_dir=None) -> Graph:
    """Import an ONNX model (float, or int8 in QDQ form) as an NHWC edgec graph; external
    data is read from ``base_dir``, the model's folder."""
    model = _parse(data)
    consts = check_model(model, base_dir)
    check_order(model)
    _pin_batch_dims(model)
    empty_inputs = _freeze_empty_inputs(model)
    consts.update(empty_inputs)
    shapes, empty = _infer_shapes(model)
    ctx = Context(model, shapes, name)
    ctx.consts.update(consts)
    _bind_inputs(ctx)
    opset = _default_opset(model)
    for node in model.graph.node:
        check_node(node, opset, ctx.shape)
        if fold_constant_node(ctx, node):
            continue
        # A zero-size result holds no values: it is the empty constant of its type, computed
        # by nothing (a Slice or Split that selects nothing, a Reshape to a zero size).
        if not _empty_results(ctx, node, empty):
            converter_for(node)(ctx, node)
    _bind_outputs(ctx, bool(empty_inputs))
    graph = simplify(ctx.graph)
    _restore_output_names(graph, [o.name for o in model.graph.output])
    return check_graph(graph)


# Ops that keep every element: an empty result of a non-empty input is an invalid model,
# left to the converter to refuse.
_RESHAPES = ("Reshape", "Flatten", "Squeeze", "Unsqueeze")


def _empty_results(ctx: Context, node: onnx.NodeProto, empty: dict) -> bool:
    """Bind ``node``'s zero-size outputs as empty constants; True when that is all of them
    (nothing left to convert)."""
    if node.op_type in _RESHAPES and 0 not in ctx.shape(node.input[0]):
        return False
    ctx.consts.update({o: empty[o] for o in node.output if o in empty})
    return all(o in empty for o in node.output if o)


def _default_opset(model: onnx.ModelProto) -> int:
    versions = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
    return max(1, min(versions[0] if versions else onnx.defs.onnx_opset_version(),
                      onnx.defs.onnx_opset_version()))


def _parse(data: bytes) -> onnx.ModelProto:
    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, ValueError) as e:
        raise EdgecError(f"not a valid ONNX model: {e}",
                         "check that the file is a complete .onnx file") from e
    if not model.graph.node:
        raise EdgecError("the ONNX model has no nodes",
                         "check that the file is a complete .onnx file")
    _check_names_decode(model.graph)
    if model.ir_version < 4:
        # IR 3 lists initializers as graph inputs; files that do not (onnxruntime's quantizer
        # leaves them so) are read as IR 4, or shape inference would not see the constants.
        model.ir_version = 4
    return model


def _check_names_decode(graph: onnx.GraphProto) -> None:
    """Protobuf hands back a string field that is not valid UTF-8 as bytes: a corrupt file."""
    named = [*graph.node, *graph.initializer, *graph.input, *graph.output, *graph.value_info]
    names = [n.name for n in named] + [t for n in graph.node for t in (*n.input, *n.output)]
    if any(not isinstance(name, str) for name in names):
        raise EdgecError("the ONNX model is corrupt: a tensor or node name is not valid UTF-8",
                         "check that the file is a complete, unmodified .onnx file")


def _pin_batch_dims(model: onnx.ModelProto) -> None:
    """Fix a symbolic leading (batch) dimension of each input to 1; any other symbolic
    dimension is an error. Output and intermediate shapes are re-inferred."""
    initializers = {i.name for i in model.graph.initializer}
    for inp in model.graph.input:
        if inp.name in initializers:
            continue
        for axis, dim in enumerate(inp.type.tensor_type.shape.dim):
            if dim.HasField("dim_value"):
                continue  # a size of 0 makes an empty input: a constant (_freeze_empty_inputs)
            if axis != 0:
                raise EdgecError(f"input '{inp.name}' has a dynamic dimension "
                                 f"'{dim.dim_param or '?'}' at axis {axis}", _FIXED_SHAPE_HINT)
            dim.dim_value = 1
        check_shape(f"input '{inp.name}'", [d.dim_value for d in
                                             inp.type.tensor_type.shape.dim])
    for out in model.graph.output:
        out.type.tensor_type.ClearField("shape")
    del model.graph.value_info[:]


def _infer_shapes(model: onnx.ModelProto) -> tuple[dict[str, tuple[int, ...]],
                                                   dict[str, np.ndarray]]:
    """Static shapes of every tensor ONNX shape inference can determine, and the zero-size
    ones among them as empty arrays of their element type (when numpy has it)."""
    try:
        inferred = shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
    except Exception as e:  # onnx raises several unrelated types here
        raise EdgecError(f"ONNX shape inference failed: {str(e).strip().splitlines()[0]}",
                         "check the model with onnx.checker.check_model") from e
    shapes, empty = {}, {}
    g = inferred.graph
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        dims = vi.type.tensor_type.shape.dim
        if vi.type.tensor_type.HasField("shape") and all(d.HasField("dim_value") for d in dims):
            shapes[vi.name] = check_shape(f"tensor '{vi.name}'", [d.dim_value for d in dims])
            if 0 in shapes[vi.name] and vi.type.tensor_type.elem_type in _NUMPY_TYPES:
                empty[vi.name] = np.zeros(shapes[vi.name],
                                          _NUMPY_TYPES[vi.type.tensor_type.elem_type])
    return shapes, empty


# ONNX element types of the zero-size tensors the importer holds as empty constants.
_NUMPY_TYPES = {**_DTYPES, onnx.TensorProto.DOUBLE: "float64",
                onnx.TensorProto.FLOAT16: "float16"}


def _bind_inputs(ctx: Context) -> None:
    for inp in ctx.model.graph.input:
        if inp.name in ctx.consts:
            continue  # an initializer listed as input (old exporters): a constant
        dtype = _DTYPES.get(inp.type.tensor_type.elem_type)
        if inp.type.tensor_type.elem_type == onnx.TensorProto.STRING:
            raise EdgecError(f"input '{inp.name}' holds strings",
                             "edgec compiles numeric models; convert strings before the model")
        if dtype not in ("float32", "bool", *INT_DTYPES, *NARROW_INT_DTYPES, *OTHER_FLOATS):
            raise EdgecError(f"input '{inp.name}' has element type "
                             f"{onnx.TensorProto.DataType.Name(inp.type.tensor_type.elem_type)}",
                             "model inputs must be floats (float4 to float64), bool or "
                             "integers of 2 to 64 bits")
        ir = ctx.new_tensor(inp.name, ctx.shape(inp.name), dtype)
        ctx.graph.inputs.append(ir)
        # int8 / int16 inputs may be QDQ inputs (a DequantizeLinear gives them a scale) or
        # plain integers (an integer op reads them); the others are plain integers.
        kind = "float" if dtype == "float32" else "int8" if dtype in ("int8", "int16") \
            else "bool" if dtype == "bool" else "int"
        ctx.values[inp.name] = Value(ir, None, kind)


def _freeze_empty_inputs(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    """A graph input with a zero-size dimension holds no values: the only tensor it can
    receive is the empty one of its dtype and shape. It becomes that constant, an initializer
    (before shape inference, which then sees e.g. an empty ``axes``, ``shape`` or ``split``,
    or CastLike's ``like``), and is not an input of the compiled model. Its element type must
    still be one edgec reads."""
    empty = {}
    for inp in list(model.graph.input):
        shape = [d.dim_value for d in inp.type.tensor_type.shape.dim]
        if inp.name in empty or 0 not in shape or any(
                i.name == inp.name for i in model.graph.initializer):
            continue
        proto = onnx.TensorProto(name=inp.name, data_type=inp.type.tensor_type.elem_type,
                                 dims=shape)
        empty[inp.name] = tensor_array(proto, None,
                                       f"input '{inp.name}' (empty, shape {shape})")
        model.graph.initializer.append(proto)
        model.graph.input.remove(inp)
    return empty


def _bind_outputs(ctx: Context, had_empty_inputs: bool) -> None:
    """The graph outputs. A model whose every input was empty (``_freeze_empty_inputs``)
    computes constants and has no inputs: allowed; a model declaring none is refused."""
    if not ctx.graph.inputs and not had_empty_inputs:
        raise EdgecError("the model has no inputs: every output is a constant",
                         "edgec compiles models that compute their outputs from an input")
    for out in ctx.model.graph.output:
        if ctx.is_const(out.name):
            ctx.graph.outputs.append(_constant_output(ctx, out.name))
            continue
        if out.name not in ctx.values:
            _unproduced_output(ctx, out.name)
        v = ctx.value(out.name)
        if v.kind == "pending":
            raise EdgecError(f"output '{out.name}' is computed in int8 but never quantized",
                             "end the graph with QuantizeLinear or a float op")
        # Lay out before dequantizing: moving int8 is cheaper than moving float.
        v = Value(ctx.in_layout(v, None, out.name), None, v.kind)
        if v.kind == "deq":
            v = ctx.as_float(v, out.name)
        ctx.graph.outputs.append(v.name)


# A constant output's values in the IR dtype that holds them exactly: ONNX's int64 shapes as
# int32 (as the importer narrows int64 elsewhere), bools as uint8 0/1.
_CONSTANT_DTYPES = {"float32": "float32", "float64": "float32", "float16": "float32",
                    "int8": "int8", "uint8": "uint8", "int16": "int16", "int32": "int32",
                    "int64": "int32", "bool": "uint8"}


def _constant_output(ctx: Context, name: str) -> str:
    """A model output that does not depend on the inputs (a Shape of a static tensor, an
    inference-mode Dropout's mask): a constant the generated run function copies into the
    output buffer (a RESHAPE of it), so the C API keeps one buffer per ONNX output."""
    data = np.asarray(ctx.const(name))
    dtype = _CONSTANT_DTYPES.get(data.dtype.name)
    exact = dtype is not None and np.array_equal(data.astype(dtype).astype(data.dtype), data)
    if not exact:
        raise EdgecError(f"output '{name}' is a constant {data.dtype} tensor of shape "
                         f"{list(data.shape)}, which edgec cannot hold",
                         "make the output depend on the input, or drop it")
    if data.size == 0:  # nothing to write: a zero-size output no node writes (docs/IR.md)
        return ctx.graph.add_tensor(Tensor(ctx.graph.unique_name(name), data.shape,
                                           dtype)).name
    const = ctx.const_tensor(f"{name}_value", data.astype(dtype))
    ir = ctx.new_tensor(name, data.shape, dtype)
    ctx.add_node("RESHAPE", [const], [ir], {"shape": tuple(data.shape)}, f"{name}_constant")
    return ir


def _unproduced_output(ctx: Context, name: str) -> None:
    """A graph output no converter produced: an optional extra output of some node (a
    Dropout mask, BatchNormalization's running statistics) that edgec does not compute."""
    for node in ctx.model.graph.node:
        if name in node.output[1:]:
            raise EdgecError(f"model output '{name}' is extra output {list(node.output).index(name)}"
                             f" of {node.op_type} '{node.name}', which edgec does not compute",
                             "export the model in inference mode, without that output")


def _restore_output_names(graph: Graph, names: list[str]) -> None:
    """Give each output tensor its ONNX name (a materialized layout got a derived name)."""
    for i, (current, wanted) in enumerate(zip(list(graph.outputs), names)):
        if current != wanted and current in graph.inputs and wanted not in graph.tensors:
            _copy_to_output(graph, i, wanted)
            continue
        if current == wanted or current in graph.inputs or graph.outputs.count(current) > 1:
            continue
        if wanted in graph.tensors:
            if wanted in graph.inputs or wanted in graph.outputs:
                continue
            rename_tensor(graph, wanted, graph.unique_name(f"{wanted}_ir"))
        rename_tensor(graph, current, wanted)


def _copy_to_output(graph: Graph, index: int, name: str) -> None:
    """An output that is a graph input (Identity, inference-mode Dropout) gets its own tensor,
    written by a RESHAPE to the same shape, so it keeps its ONNX name and its own buffer."""
    source = graph.tensors[graph.outputs[index]]
    graph.add_tensor(Tensor(name, source.shape, source.dtype, quant=source.quant))
    graph.nodes.append(Node("RESHAPE", [source.name], [name], {"shape": list(source.shape)},
                            name=f"{name}_copy"))
    graph.outputs[index] = name
