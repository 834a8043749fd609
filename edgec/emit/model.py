"""Kernels + memory plan -> the generated sources: ``NAME.h``, ``NAME.c``, ``CMakeLists.txt``.

Python decides every name, offset and literal here; the Jinja2 templates in ``templates/``
only lay them out. Nothing depends on time or dict order of unrelated inputs, so the same
model and options always give the same bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from edgec import __version__
from edgec.emit.cdata import array_definition, c_float, c_type, uses_math_macros
from edgec.emit.cnames import c_comment_text, check_identifier
from edgec.emit.kernels import CFunction, prepare_kernel
from edgec.templating import render
from edgec.ir.graph import Graph, Tensor
from edgec.lower.kernel import Kernel
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


@dataclass
class _Constants:
    """Constant arrays by C symbol, with the comment that precedes each definition."""

    prefix: str
    symbols: dict[str, str] = field(default_factory=dict)  # source key -> C symbol
    definitions: list[dict] = field(default_factory=list)

    weights: int = 0  # graph constants emitted so far (they are numbered)

    def add(self, key: str, symbol: str, array, comment: str) -> str:
        if key not in self.symbols:
            if symbol in self.symbols.values():
                raise ValueError(f"two constants would both be named {symbol}")
            self.symbols[key] = symbol
            self.definitions.append({
                "comment": c_comment_text(comment),
                "text": array_definition(symbol, array,
                                         attribute=f"{self.prefix.upper()}_ALIGNED"),
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


def _arg_expression(name: str, const_param: bool, step: int, kernel: Kernel, graph: Graph,
                    plan: MemoryPlan, consts: _Constants, prefix: str) -> str:
    """The C expression passed for kernel argument ``name`` at ``step``."""
    if name in kernel.constants:
        # The lowering names derived constants uniquely (k<i>_<op>_<what>), so the name
        # itself can be the symbol; a clash is caught by _Constants.add.
        c_name = re.sub(r"\W", "_", name)
        symbol = consts.add(f"{step}:{name}", f"{prefix}_{c_name}",
                            kernel.constants[name],
                            f"node {step} '{graph.nodes[step].name}': derived constant {name}")
    elif name in graph.tensors and graph.tensors[name].is_const:
        t = graph.tensors[name]
        if name not in consts.symbols:
            consts.weights += 1
        symbol = consts.add(name, f"{prefix}_w{consts.weights - 1}", t.data,
                            f"{name} {_shape_text(t)}")
    elif name in plan.offsets:
        return f"(void *)({prefix}_arena + {plan.offsets[name]})"
    else:
        raise ValueError(f"kernel {kernel.func_name} argument '{name}' is neither a constant "
                         "nor an activation")
    return f"({'const ' if const_param else ''}void *){symbol}"


def _call(step: int, fn: CFunction, kernel: Kernel, graph: Graph, plan: MemoryPlan,
          consts: _Constants, prefix: str) -> list[str]:
    """The executor's lines calling kernel ``step``."""
    args = [_arg_expression(a, c, step, kernel, graph, plan, consts, prefix)
            for a, c in zip(kernel.args, fn.const_params)]
    if kernel.scratch_bytes > 0:
        args.append(f"(void *)({prefix}_arena + {plan.scratch[step]})")
    call = f"{fn.c_name}({', '.join(args)})"
    if len(call) > 88:  # one argument per line keeps long calls readable
        call = f"{fn.c_name}(\n        " + ",\n        ".join(args) + ")"
    if fn.returns_status:
        return [f"if ({call} != 0) {{", f"    return {step + 1};", "}"]
    return [f"{call};"]


def _functions(graph: Graph, kernels: list[Kernel], plan: MemoryPlan, prefix: str):
    """Prepared kernels by step (None for elided steps) and the distinct ones to define."""
    by_step: dict[int, CFunction] = {}
    distinct: dict[str, dict] = {}
    for step, kernel in enumerate(kernels):
        if step in plan.elided:
            continue
        fn = prepare_kernel(kernel, f"{prefix}_{kernel.func_name}", f"{prefix.upper()}_KERNEL")
        entry = distinct.setdefault(fn.c_name, {"fn": fn, "nodes": []})
        if entry["fn"].source != fn.source:
            raise ValueError(f"two different kernels are both named {kernel.func_name}")
        entry["nodes"].append(_node_comment(graph, step))
        by_step[step] = fn
    return by_step, list(distinct.values())


def _io(graph: Graph, plan: MemoryPlan, names: list[str]) -> list[dict]:
    entries = []
    for index, name in enumerate(names):
        t = graph.tensors[name]
        q = t.quant if t.quant is not None and t.quant.per_tensor else None
        entries.append({
            "index": index, "name": c_comment_text(name), "ctype": c_type(t.dtype),
            "size": t.size, "nbytes": t.nbytes, "offset": plan.offsets[name],
            "shape": ", ".join(str(d) for d in t.shape), "rank": len(t.shape),
            "scale": c_float(q.s) if q else None, "zero_point": q.zp if q else None,
        })
    return entries


def emit_model(graph: Graph, kernels: list[Kernel], plan: MemoryPlan,
               options: EmitOptions) -> dict[str, str]:
    """The generated files, by file name, for ``graph`` lowered to ``kernels`` and planned."""
    name = check_identifier(options.name)
    if options.arena not in ("static", "extern"):
        raise ValueError(f"arena must be 'static' or 'extern', not {options.arena!r}")
    consts = _Constants(name)
    by_step, functions = _functions(graph, kernels, plan, name)
    steps = []
    for step, kernel in enumerate(kernels):
        if step in plan.elided:
            lines = ["/* shares the bytes of its input: nothing to do */"]
        else:
            lines = _call(step, by_step[step], kernel, graph, plan, consts, name)
        steps.append({"comment": c_comment_text(_node_comment(graph, step)), "lines": lines})
    inputs, outputs = _io(graph, plan, graph.inputs), _io(graph, plan, graph.outputs)
    context = {
        "name": name, "NAME": name.upper(), "version": __version__, "options": options,
        "model_file": c_comment_text(options.model_file), "align": ALIGN,
        "arena_bytes": max(plan.arena_bytes, 1), "static_arena": options.arena == "static",
        "inputs": inputs, "outputs": outputs, "steps": steps, "constants": consts.definitions,
        "functions": [{"comments": f["nodes"], "source": f["fn"].source} for f in functions],
        "uses_math": any(f["fn"].uses_math for f in functions)
        or uses_math_macros(d["array"] for d in consts.definitions),
        "invoke": len(inputs) == 1 and len(outputs) == 1,
    }
    return {
        f"{name}.h": render("model.h.j2", context),
        f"{name}.c": render("model.c.j2", context),
        "CMakeLists.txt": render("CMakeLists.txt.j2", context),
    }
