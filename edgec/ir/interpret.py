"""The reference interpreter: the executable definition of what a graph computes."""

from __future__ import annotations

import numpy as np

from edgec.errors import EdgecError
from edgec.ir.graph import Graph, kernel_key, storage_dtype
from edgec.ir.registry import KernelCall, get_op


def check_inputs(graph: Graph, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Validate user inputs against the graph's input tensors (names, shapes, dtypes)."""
    missing = [n for n in graph.inputs if n not in inputs]
    if missing:
        raise EdgecError(f"no value for model input(s) {missing}",
                         f"the model's inputs are {graph.inputs}")
    checked = {}
    for name in graph.inputs:
        t = graph.tensors[name]
        value = np.asarray(inputs[name])
        if value.dtype.name == t.dtype != storage_dtype(t.dtype):  # ml_dtypes int4, uint2, ...
            value = value.astype(storage_dtype(t.dtype))
        if tuple(value.shape) != t.shape:
            raise EdgecError(
                f"input '{name}' has shape {tuple(value.shape)}, the model expects {t.shape}",
                "reshape the array to the model's input shape")
        if value.dtype != np.dtype(storage_dtype(t.dtype)):
            raise EdgecError(
                f"input '{name}' has dtype {value.dtype}, the model expects {t.dtype}",
                f"convert it, e.g. array.astype(np.{t.dtype})")
        checked[name] = value
    return checked


def interpret(graph: Graph, inputs: dict[str, np.ndarray] | list[np.ndarray] | np.ndarray,
              keep: bool = False, state: dict[str, np.ndarray] | None = None
              ) -> dict[str, np.ndarray]:
    """Run ``graph`` on ``inputs`` with the numpy reference kernels.

    ``inputs`` maps input names to arrays (a list or a single array is taken in the order of
    ``graph.inputs``). Returns the graph outputs by name, or every tensor when ``keep``.
    ``state`` carries stateful ops' state (``OpDef.updates_state``, e.g. SVDF's) from one
    inference to the next, as the generated C keeps it: pass the same dict to consecutive
    calls (empty at first: the state starts at its initial value). Without it every
    inference starts from the initial state.
    """
    if not isinstance(inputs, dict):
        arrays = [inputs] if isinstance(inputs, np.ndarray) else list(inputs)
        inputs = dict(zip(graph.inputs, arrays))
    values: dict[str, np.ndarray] = {
        name: t.data for name, t in graph.tensors.items() if t.data is not None}
    values.update({name: np.zeros(t.shape, t.dtype) for name, t in graph.tensors.items()
                   if t.size == 0})  # an empty output: no node writes it (docs/IR.md)
    values.update(check_inputs(graph, inputs))
    if state:
        values.update(state)
    for node in graph.nodes:
        op = get_op(node.op)
        ins = [values[i] if i else None for i in node.inputs]
        call = KernelCall(node, ins, graph.input_tensors(node), graph.output_tensors(node))
        first = next(t for t in call.in_tensors if t is not None)
        results = op.kernel_for(kernel_key(first))(call)
        for t, r in zip(call.out_tensors, results):
            r = np.asarray(r)
            if r.dtype != np.dtype(storage_dtype(t.dtype)) or tuple(r.shape) != t.shape:
                raise AssertionError(
                    f"kernel {node.op} ({node.name}) produced {r.dtype}{list(r.shape)}, "
                    f"tensor '{t.name}' is {t.dtype}{list(t.shape)}")
            values[t.name] = r
        if op.updates_state is not None and state is not None:
            for index, new in op.updates_state(call).items():
                state[node.inputs[index]] = new
    if keep:
        return values
    return {name: values[name] for name in graph.outputs}
