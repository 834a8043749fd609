"""Reference runtimes for tests: TFLite Micro, LiteRT, and edgec's own import + interpreter.

Every runner takes the model bytes and a list of input arrays (in the model's input order) and
returns the output arrays in the model's output order.
"""

from __future__ import annotations

import numpy as np

# TFLM allocates every tensor in one arena whose size is fixed at construction; its Python
# wrapper defaults to 10x the model size, too small for models with small weights and large
# activations. Tests are not about memory, so give it room: activations at most this much.
_TFLM_MIN_ARENA = 1 << 20


def _main_subgraph(model_bytes: bytes):
    import tflite

    return tflite.Model.GetRootAsModel(model_bytes, 0).Subgraphs(0)


def _tflm_arena_size(model_bytes: bytes) -> int:
    """Room for every tensor at 8 bytes an element, twice over, and never less than 1 MiB."""
    sg = _main_subgraph(model_bytes)
    total = sum(int(np.prod(sg.Tensors(i).ShapeAsNumpy())) if sg.Tensors(i).ShapeLength() else 1
                for i in range(sg.TensorsLength()))
    return max(_TFLM_MIN_ARENA, 16 * total + len(model_bytes))


def run_tflm(model_bytes: bytes, inputs) -> list[np.ndarray]:
    """Run the model once with TFLite Micro's reference kernels (the int8 ground truth).

    The arena size is chosen by ``_tflm_arena_size``; ``interp.print_allocations()`` would
    print TFLM's actual use to stderr.
    """
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(bytes(model_bytes),
                                            arena_size=_tflm_arena_size(model_bytes))
    for i, x in enumerate(inputs):
        interp.set_input(np.ascontiguousarray(x), i)
    interp.invoke()
    # get_output may alias the arena; copy before the interpreter goes away.
    return [np.array(interp.get_output(i), copy=True)
            for i in range(_main_subgraph(model_bytes).OutputsLength())]


def run_tflm_stream(model_bytes: bytes, stream) -> list[list[np.ndarray]]:
    """Consecutive inferences of one TFLite Micro interpreter, never reset: its variable
    tensors (an LSTM's hidden and cell states, an SVDF's state) carry from one to the next.
    ``stream``: one list of input arrays per inference."""
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(bytes(model_bytes),
                                            arena_size=_tflm_arena_size(model_bytes))
    outs = []
    for inputs in stream:
        for i, x in enumerate(inputs):
            interp.set_input(np.ascontiguousarray(x), i)
        interp.invoke()
        outs.append([np.array(interp.get_output(i), copy=True)
                     for i in range(_main_subgraph(model_bytes).OutputsLength())])
    return outs


def run_litert_stream(model_bytes: bytes, stream) -> list[list[np.ndarray]]:
    """Consecutive inferences of one LiteRT interpreter (BUILTIN_REF), never reset: its
    variable tensors carry from one to the next."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interp = Interpreter(model_content=bytes(model_bytes),
                         experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interp.allocate_tensors()
    outs = []
    for inputs in stream:
        for detail, x in zip(interp.get_input_details(), inputs):
            interp.set_tensor(detail["index"], np.ascontiguousarray(x))
        interp.invoke()
        outs.append([np.array(interp.get_tensor(d["index"]), copy=True)
                     for d in interp.get_output_details()])
    return outs


def run_litert(model_bytes: bytes, inputs, reference: bool = True) -> list[np.ndarray]:
    """Run the model once with LiteRT; ``reference`` selects the BUILTIN_REF kernels."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    resolver = OpResolverType.BUILTIN_REF if reference else OpResolverType.AUTO
    interp = Interpreter(model_content=bytes(model_bytes),
                         experimental_op_resolver_type=resolver)
    interp.allocate_tensors()
    for detail, x in zip(interp.get_input_details(), inputs):
        interp.set_tensor(detail["index"], np.ascontiguousarray(x))
    interp.invoke()
    return [np.array(interp.get_tensor(d["index"]), copy=True)
            for d in interp.get_output_details()]


def run_edgec_tflite(model_bytes: bytes, inputs) -> list[np.ndarray]:
    """Import the model with edgec's TFLite frontend and run the reference interpreter."""
    from edgec.frontends.tflite import load_tflite
    from edgec.ir import interpret

    graph = load_tflite(bytes(model_bytes))
    results = interpret(graph, list(inputs))
    return [results[name] for name in graph.outputs]


def describe_mismatch(expected: np.ndarray, actual: np.ndarray, label: str = "") -> str | None:
    """None when the arrays are equal in shape, dtype and every byte; otherwise a summary
    naming the first differing flat index, both values and the count of differences."""
    expected, actual = np.asarray(expected), np.asarray(actual)
    if expected.shape != actual.shape or expected.dtype != actual.dtype:
        return (f"{label}: expected {expected.dtype}{list(expected.shape)}, "
                f"got {actual.dtype}{list(actual.shape)}")
    diff = np.flatnonzero(expected.reshape(-1) != actual.reshape(-1))
    if diff.size == 0:
        return None
    first = int(diff[0])
    worst = np.max(np.abs(expected.reshape(-1)[diff].astype(np.float64)
                          - actual.reshape(-1)[diff].astype(np.float64)))
    return (f"{label}: {diff.size} of {expected.size} elements differ; first at flat index "
            f"{first} (index {np.unravel_index(first, expected.shape)}): expected "
            f"{expected.reshape(-1)[first]}, got {actual.reshape(-1)[first]}; "
            f"largest difference {worst:g}")


def assert_matches_tflm(model_bytes: bytes, inputs) -> list[np.ndarray]:
    """Assert edgec's outputs equal TFLite Micro's, every byte; return TFLM's outputs."""
    expected = run_tflm(model_bytes, inputs)
    actual = run_edgec_tflite(model_bytes, inputs)
    assert len(expected) == len(actual), \
        f"TFLM gives {len(expected)} outputs, edgec {len(actual)}"
    problems = [describe_mismatch(e, a, f"output {i}")
                for i, (e, a) in enumerate(zip(expected, actual))]
    problems = [p for p in problems if p]
    assert not problems, "edgec differs from TFLite Micro:\n" + "\n".join(problems)
    return expected
