"""Kernels + memory plan -> the generated sources: ``NAME.h``, ``NAME.c``, ``CMakeLists.txt``.

Python decides every name, offset and literal here; the Jinja2 templates in ``templates/``
only lay them out. Nothing depends on time or dict order of unrelated inputs, so the same
model and options always give the same bytes.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from edgec import __version__
from edgec.cdefs import MAX_LINE, CParam, wrap_list
from edgec.emit.cdata import (array_definition, c_float, c_type, content_key,
                              uses_math_macros)
from edgec.emit.cnames import c_comment_text, check_identifier
from edgec.emit.image import (HEADER_BYTES, LAYOUT_PLACEHOLDER, ConstantBlob, layout_hash,
                              pack_image)
from edgec.emit.kernels import CFunction, distinct_functions
from edgec.templating import render
from edgec.ir.floats import MINIFLOATS
from edgec.ir.graph import Graph, Tensor
from edgec.lower.kernel import Kernel
from edgec.lower.templates import helper_source
from edgec.plan import MemoryPlan

ALIGN = 16  # bytes; weights, derived constants and the arena


@dataclass
class EmitOptions:
    """How to emit: the symbol prefix, where the arena lives, and what the frontmatter says."""

    name: str
    arena: str = "static"  # or "extern": the caller defines NAME_arena
    model_file: str = ""  # file name only: the output must not depend on where it lies
    model_sha256: str = ""
    target: str = "host"
    constants: str = "inline"  # or "partition": constants in NAME.bin (edgec.emit.image)


@dataclass
class _Constants:
    """Constant arrays by C symbol, with the comment that precedes each definition."""

    prefix: str
    symbols: dict[str, str] = field(default_factory=dict)  # source key -> C symbol
    by_content: dict[tuple, str] = field(default_factory=dict)  # content_key -> C symbol
    definitions: list[dict] = field(default_factory=list)
    blob: ConstantBlob | None = None  # partition mode: the arrays go here, not into C

    weights: int = 0  # graph constants emitted so far (they are numbered)
    states: list[dict] = field(default_factory=list)  # persistent state buffers
    state_symbols: dict[str, str] = field(default_factory=dict)  # IR tensor -> C symbol

    def state(self, name: str, t: Tensor) -> str:
        """The static buffer holding stateful tensor ``name`` between calls (initialized to
        its initial value, which ``NAME_reset`` copies back from a constant)."""
        if name not in self.state_symbols:
            symbol = f"{self.prefix}_state{len(self.states)}"
            self.state_symbols[name] = symbol
            self.states.append({
                "symbol": symbol, "nbytes": t.nbytes,
                "comment": c_comment_text(f"state of {name} {_shape_text(t)}", MAX_LINE - 6),
                "text": array_definition(symbol, t.data, "static",
                                         f"{self.prefix.upper()}_ALIGNED"),
                "init": array_definition(f"{symbol}_initial", t.data, "static const"),
            })
        return self.state_symbols[name]

    def add(self, key: str, symbol: str, array, comment: str) -> str:
        """Define ``array`` as ``symbol`` once per ``key``; ``comment`` heads the group of
        definitions it starts (consecutive definitions with one comment share it)."""
        if key not in self.symbols and content_key(array) in self.by_content:
            # The same bytes under another key (a table or weight repeated by unrolled steps,
            # shared per-step quantization): one definition serves both.
            self.symbols[key] = self.by_content[content_key(array)]
        if key not in self.symbols:
            if self.blob is not None:  # a macro naming a place in the model image
                symbol = symbol.upper()
            if symbol in self.symbols.values():
                raise ValueError(f"two constants would both be named {symbol}")
            self.symbols[key] = symbol
            self.by_content[content_key(array)] = symbol
            comment = c_comment_text(comment, MAX_LINE - 6)
            previous = self.definitions[-1]["group"] if self.definitions else None
            if self.blob is None:
                text = array_definition(symbol, array, attribute=f"{self.prefix.upper()}_ALIGNED")
            else:
                text = (f"#define {symbol} ((const {c_type(array.dtype)} *)"
                        f"({self.prefix}_constants + {self.blob.add(array)}u))")
            self.definitions.append({
                "group": comment,
                "comment": comment if comment != previous else None,
                "text": text,
                "array": array,
            })
        return self.symbols[key]


def _shape_text(t: Tensor) -> str:
    return f"{t.dtype}[{','.join(str(d) for d in t.shape)}]"


def _node_comment(graph: Graph, step: int) -> str:
    node = graph.nodes[step]
    ins = ", ".join(_shape_text(graph.tensors[i]) for i in node.inputs
                    if i and not graph.tensors[i].is_const)
    outs = ", ".join(_shape_text(graph.tensors[o]) for o in node.outputs)
    return f"node {step} '{node.name}': {node.op} {ins} -> {outs}"


def _arg_expression(name: str, param: CParam, step: int, kernel: Kernel, graph: Graph,
                    plan: MemoryPlan, consts: _Constants, prefix: str) -> str:
    """The C expression passed for kernel argument ``name`` (C parameter ``param``) at
    ``step``: a constant array by name, or the activation's place in the arena, typed."""
    if name in kernel.states:
        symbol = consts.state(name, graph.tensors[name])
        return symbol if c_type(graph.tensors[name].data.dtype) == param.ctype else \
            f"({param.ctype} *){symbol}"
    if name in kernel.constants:
        # The lowering names derived constants uniquely (k<i>_<op>_<what>), so the name
        # itself can be the symbol; a clash is caught by _Constants.add.
        c_name = re.sub(r"\W", "_", name)
        array = kernel.constants[name]
        symbol = consts.add(f"{step}:{name}", f"{prefix}_{c_name}", array,
                            f"node {step} '{graph.nodes[step].name}': derived constants")
    elif name in graph.tensors and graph.tensors[name].is_const:
        t = graph.tensors[name]
        array = t.data
        if name not in consts.symbols:
            consts.weights += 1
        symbol = consts.add(name, f"{prefix}_w{consts.weights - 1}", array,
                            f"{name} {_shape_text(t)}")
    elif name in plan.offsets:
        return f"({param.ctype} *)&{prefix}_arena[{plan.offsets[name]}]"
    else:
        raise ValueError(f"kernel {kernel.func_name} argument '{name}' is neither a constant "
                         "nor an activation")
    if c_type(array.dtype) == param.ctype and param.const:
        return symbol
    return f"({'const ' if param.const else ''}{param.ctype} *){symbol}"


def _call(step: int, fn: CFunction, kernel: Kernel, graph: Graph, plan: MemoryPlan,
          consts: _Constants, prefix: str) -> list[str]:
    """The executor's lines calling kernel ``step`` (indented by four in ``NAME_run``)."""
    args = [_arg_expression(a, p, step, kernel, graph, plan, consts, prefix)
            for a, p in zip(kernel.args, fn.params)]
    if kernel.scratch_bytes > 0:
        args.append(f"({fn.params[-1].ctype} *)&{prefix}_arena[{plan.scratch[step]}]")
    call = f"{fn.c_name}({', '.join(args)});"
    if len(call) + 4 <= MAX_LINE:
        return [call]
    return [f"{fn.c_name}("] + wrap_list(args, ");", "    ", MAX_LINE - 4)  # in NAME_run


def _unrestricted(kernel: Kernel) -> Kernel:
    """``kernel`` with no ``restrict`` pointer: its output overlaps its input (the plan's
    ``overlaps``), which ``restrict`` would make undefined behaviour."""
    params = [dataclasses.replace(p, restrict=False) for p in kernel.params]
    return dataclasses.replace(kernel, params=params)


def _functions(graph: Graph, kernels: list[Kernel], plan: MemoryPlan, prefix: str):
    """The function each non-elided step calls, and the distinct functions to define."""
    steps = [s for s in range(len(kernels)) if s not in plan.elided]
    return distinct_functions(
        {s: _unrestricted(kernels[s]) if s in plan.overlaps else kernels[s] for s in steps},
        {s: graph.tensors[graph.nodes[s].outputs[0]].shape for s in steps},
        {s: c_comment_text(_node_comment(graph, s), MAX_LINE - 6) for s in steps}, prefix)


def _io(graph: Graph, plan: MemoryPlan, names: list[str]) -> list[dict]:
    entries = []
    for index, name in enumerate(names):
        t = graph.tensors[name]
        q = t.quant if t.quant is not None and t.quant.per_tensor else None
        entries.append({
            "index": index, "name": c_comment_text(name), "ctype": c_type(t.dtype),
            "format": f", {t.dtype} bit patterns" if t.dtype in MINIFLOATS else "",
            "size": t.size, "nbytes": t.nbytes,
            "offset": plan.offsets[name] if t.size else None,  # empty: no bytes, no place
            "shape": ", ".join(str(d) for d in t.shape), "rank": len(t.shape),
            "scale": c_float(q.s) if q else None, "zero_point": q.zp if q else None,
        })
    return entries


def _null_check(n_inputs: int, n_outputs: int, extra: list[str]) -> list[str]:
    """``if (inputs == NULL || ... || outputs[k] == NULL) {`` for ``NAME_run``, wrapped
    (``extra`` conditions first). A model without inputs (each ONNX input was empty) takes
    any ``inputs``, NULL too."""
    terms = extra + (["inputs == NULL"] if n_inputs else []) + ["outputs == NULL"]
    terms += [f"inputs[{i}] == NULL" for i in range(n_inputs)]
    terms += [f"outputs[{i}] == NULL" for i in range(n_outputs)]
    lines, line = [], "if ("
    for i, term in enumerate(terms):
        piece = term + (") {" if i == len(terms) - 1 else " ||")
        if len(line) + len(piece) + 5 > MAX_LINE:
            lines.append(line.rstrip())
            line = "    "
        line += piece + " "
    return lines + [line.rstrip()]


def _with_layout_hash(files: dict[str, str], name: str, model_sha256: str,
                      blob: ConstantBlob) -> dict[str, str]:
    """Partition mode: put the layout hash (of the code without its frontmatter, which names
    the model) into the sources and add the model image ``NAME.bin``."""
    def body(text: str) -> str:
        return text.split("*/\n", 1)[1]

    digest = layout_hash(body(files[f"{name}.c"]), body(files[f"{name}.h"]))
    literal = ",\n    ".join(", ".join(f"0x{b:02x}" for b in digest[i:i + 8])
                              for i in range(0, 32, 8))
    files = {k: v.replace(LAYOUT_PLACEHOLDER, literal) for k, v in files.items()}
    model_hash = bytes.fromhex(model_sha256) if model_sha256 else bytes(32)
    files[f"{name}.bin"] = pack_image(bytes(blob.data), model_hash, digest)
    return files


def emit_model(graph: Graph, kernels: list[Kernel], plan: MemoryPlan,
               options: EmitOptions) -> dict[str, str | bytes]:
    """The generated files, by file name, for ``graph`` lowered to ``kernels`` and planned
    (text, and in partition mode the model image ``NAME.bin`` as bytes)."""
    name = check_identifier(options.name)
    if options.arena not in ("static", "extern"):
        raise ValueError(f"arena must be 'static' or 'extern', not {options.arena!r}")
    if options.constants not in ("inline", "partition"):
        raise ValueError(f"constants must be 'inline' or 'partition', not {options.constants!r}")
    partition = options.constants == "partition"
    consts = _Constants(name, blob=ConstantBlob.empty() if partition else None)
    by_step, functions = _functions(graph, kernels, plan, name)
    steps = []
    for step, kernel in enumerate(kernels):
        if step in plan.elided:
            lines = ["/* shares the bytes of its input: nothing to do */"]
        else:
            lines = _call(step, by_step[step], kernel, graph, plan, consts, name)
        steps.append({"comment": c_comment_text(_node_comment(graph, step), MAX_LINE - 10),
                      "lines": lines, "step": step})
    if partition:
        consts.blob.pad()
    inputs, outputs = _io(graph, plan, graph.inputs), _io(graph, plan, graph.outputs)
    context = {
        "name": name, "NAME": name.upper(), "version": __version__, "options": options,
        "model_file": c_comment_text(options.model_file), "align": ALIGN,
        "arena_bytes": max(plan.arena_bytes, 1), "static_arena": options.arena == "static",
        "inputs": inputs, "outputs": outputs, "steps": steps, "constants": consts.definitions,
        "functions": [{"comments": f.comments, "source": f.source(f"{name.upper()}_KERNEL")}
                      for f in functions],
        "helpers": helper_source({h for f in functions for h in f.helpers}),
        "uses_math": any(f.math for f in functions)
        or (not partition and uses_math_macros(d["array"] for d in consts.definitions)),
        "invoke": len(inputs) == 1 and len(outputs) == 1,
        "states": consts.states,
        "null_check": _null_check(len(inputs), len(outputs),
                                  [f"{name}_constants == NULL"] if partition else []),
        "partition": partition, "layout_hash": LAYOUT_PLACEHOLDER,
        "constants_bytes": len(consts.blob.data) if partition else 0,
        "image_header_bytes": HEADER_BYTES,
    }
    files = {
        f"{name}.h": render("model.h.j2", context),
        f"{name}.c": render("model.c.j2", context),
        "CMakeLists.txt": render("CMakeLists.txt.j2", context),
    }
    if partition:
        files = _with_layout_hash(files, name, options.model_sha256, consts.blob)
    return files
