"""Patch-based execution of the first layers (MCUNetV2's idea): run a prefix of the graph on
row bands of its input, with recomputed halos, and join the bands' outputs.

``patch_graph(graph, cut, bands)`` rewrites ``graph.nodes[0..cut]`` (the *prefix*, ending at
the *cut* node) into ``bands`` copies, one per band of output rows of the cut tensor:

- each band starts with a STRIDED_SLICE of every graph input it reads: the rows its
  receptive field needs (the halo), a contiguous byte range of the NHWC input (N = 1);
- then the prefix's nodes on band-sized tensors (``t@p<b>``), each window op with explicit
  pads: the top pad only where the band's window reaches above row 0, the bottom pad only
  where it reaches below the last row, so every window reads exactly the rows (and padding)
  it reads in the unsplit graph. A tensor computed for more rows than one of its readers
  needs is sliced for that reader (again a contiguous view);
- a CONCATENATION along H of the bands' cut tensors writes the cut tensor, which the rest of
  the graph reads unchanged.

Every output element is computed from the same inputs by the same kernel, so the rewritten
graph is bit-exact with the original by construction (tested with the reference
interpreter). Halo rows are computed by more than one band: ``patch_macs`` counts the extra
MACs. The planner (``edgec.plan.lifetimes``) places the slices inside the input and the band
outputs inside the joined tensor (``OpDef.view``, ``OpDef.gathers``): no copies, and rows of
the input that no later band reads are free once their bands are done. ``edgec.ram.choose_patch``
picks the cut and the band count.

A prefix qualifies (``patchable_cuts``) when its nodes are window ops (CONV_2D,
DEPTHWISE_CONV_2D, the pools) or elementwise ops on same-shaped NHWC activations with N = 1
(constants broadcast along H), every node is an ancestor of the cut tensor, and no tensor of
the prefix but the cut tensor is read after it or is a graph output.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgec.analysis import node_macs
from edgec.errors import EdgecError
from edgec.ir.graph import Graph, Node, Tensor
from edgec.ir.registry import get_op

WINDOW_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D")
Rows = tuple[int, int]  # [first, end) rows of a tensor


@dataclass(frozen=True)
class Patch:
    """A prefix ``nodes[0..cut]`` run in ``bands`` row bands."""

    cut: int
    bands: int


def _window(graph: Graph, node: Node) -> tuple[int, int, int, int, int, int]:
    """``(kernel height, stride, dilation, top pad, bottom pad, input height)`` along H."""
    a = node.attrs
    kh = (graph.tensors[node.inputs[1]].shape[1] if node.op in ("CONV_2D", "DEPTHWISE_CONV_2D")
          else a["filter"][0])
    return (int(kh), int(a["strides"][0]), int(a.get("dilations", (1, 1))[0]),
            int(a["pads"][0]), int(a["pads"][2]), graph.tensors[node.inputs[0]].shape[1])


def _input_rows(graph: Graph, node: Node, rows: Rows) -> tuple[Rows, int, int]:
    """The input rows a window op reads for output ``rows``, and the band's top and bottom
    pads."""
    kh, s, d, top, _, h = _window(graph, node)
    first = rows[0] * s - top
    last = (rows[1] - 1) * s - top + (kh - 1) * d
    lo, hi = max(first, 0), min(last + 1, h)
    return (lo, hi), lo - first, last + 1 - hi


def _row_local(graph: Graph, node: Node) -> bool:
    """Whether ``node`` computes output row r from input rows near r only (and has the
    shapes the rewrite handles)."""
    outs = graph.output_tensors(node)
    if len(outs) != 1 or len(outs[0].shape) != 4 or outs[0].shape[0] != 1:
        return False
    acts = [graph.tensors[i] for i in node.inputs if i and not graph.tensors[i].is_const]
    if not acts or any(len(t.shape) != 4 or t.shape[0] != 1 for t in acts):
        return False
    if node.op in WINDOW_OPS:
        return bool(node.inputs[0]) and not graph.tensors[node.inputs[0]].is_const \
            and len(acts) == 1
    if not get_op(node.op).elementwise:
        return False
    consts = [graph.tensors[i] for i in node.inputs if i and graph.tensors[i].is_const]
    return (all(t.shape == outs[0].shape for t in acts)
            and all(len(c.shape) < 3 or c.shape[-3] == 1 for c in consts))


def patchable_cuts(graph: Graph) -> list[int]:
    """The steps ``k`` such that ``nodes[0..k]`` may run in row bands (module docstring)."""
    producers, cuts = {}, []
    last_reader: dict[str, int] = {}
    for step, node in enumerate(graph.nodes):
        for name in node.inputs:
            if name:
                last_reader[name] = step
    for k, node in enumerate(graph.nodes):
        if not _row_local(graph, node):
            break
        for i in node.inputs:
            if i and not graph.tensors[i].is_const and i not in producers \
                    and i not in graph.inputs:
                return cuts
        producers[node.outputs[0]] = k
        cut = node.outputs[0]
        if graph.tensors[cut].shape[1] < 2:
            continue
        inner = [n.outputs[0] for n in graph.nodes[:k]]
        if any(t in graph.outputs or last_reader.get(t, -1) > k for t in inner):
            continue
        needed = {cut}
        for n in reversed(graph.nodes[:k + 1]):
            if n.outputs[0] in needed:
                needed.update(i for i in n.inputs if i)
        if all(n.outputs[0] in needed for n in graph.nodes[:k + 1]):
            cuts.append(k)
    return cuts


def band_rows(height: int, bands: int) -> list[Rows]:
    """``bands`` runs of rows covering ``height``, sizes differing by at most one (the larger
    ones first)."""
    base, extra = divmod(height, bands)
    rows, at = [], 0
    for b in range(bands):
        size = base + (b < extra)
        rows.append((at, at + size))
        at += size
    return rows


def _needed_rows(graph: Graph, prefix: list[Node], cut_rows: Rows):
    """Rows each activation of the prefix is computed for in one band, the rows each node
    reads of each input, and each window op's band pads (top, bottom)."""
    need: dict[str, Rows] = {prefix[-1].outputs[0]: cut_rows}
    reads: dict[tuple[int, int], Rows] = {}
    pads: dict[int, tuple[int, int]] = {}
    for k in range(len(prefix) - 1, -1, -1):
        node = prefix[k]
        rows = need[node.outputs[0]]
        for i, name in enumerate(node.inputs):
            if not name or graph.tensors[name].is_const:
                continue
            if node.op in WINDOW_OPS:
                r, top, bottom = _input_rows(graph, node, rows)
                pads[k] = (top, bottom)
            else:
                r = rows
            reads[k, i] = r
            old = need.get(name)
            need[name] = r if old is None else (min(old[0], r[0]), max(old[1], r[1]))
    return need, reads, pads


def _row_slice(graph: Graph, src: str, rows: Rows, at: Rows, name: str,
               nodes: list[Node]) -> str:
    """A view of rows ``rows`` of ``src`` (which holds rows ``at``), as a new tensor."""
    t = graph.tensors[src]
    if rows == at:
        return src
    out = graph.unique_name(name)
    shape = (1, rows[1] - rows[0], *t.shape[2:])
    graph.add_tensor(Tensor(out, shape, t.dtype, quant=t.quant))
    nodes.append(Node("STRIDED_SLICE", [src], [out],
                      {"begin": [0, rows[0] - at[0], 0, 0], "size": list(shape),
                       "steps": [1, 1, 1, 1]}, f"{out}:slice"))
    return out


def patch_graph(graph: Graph, cut: int, bands: int) -> Graph:
    """``graph`` with ``nodes[0..cut]`` run in ``bands`` row bands (module docstring)."""
    if cut not in patchable_cuts(graph):
        raise EdgecError(f"node {cut} is not the end of a prefix that can run in row bands",
                         f"patchable cut steps: {patchable_cuts(graph) or 'none'}")
    cut_name = graph.nodes[cut].outputs[0]
    height = graph.tensors[cut_name].shape[1]
    if not 1 <= bands <= height:
        raise EdgecError(f"{bands} bands for a cut tensor of {height} rows",
                         f"use 1 to {height} bands")
    g = graph.copy()
    prefix = g.nodes[:cut + 1]
    nodes: list[Node] = []
    joined = []
    for b, rows in enumerate(band_rows(height, bands)):
        need, reads, pads = _needed_rows(g, prefix, rows)
        made: dict[str, str] = {}
        for name in g.inputs:
            if name in need:
                made[name] = _row_slice(g, name, need[name], (0, g.tensors[name].shape[1]),
                                        f"{name}@p{b}", nodes)
        for k, node in enumerate(prefix):
            inputs = []
            for i, name in enumerate(node.inputs):
                if not name or g.tensors[name].is_const:
                    inputs.append(name)
                else:
                    inputs.append(_row_slice(g, made[name], reads[k, i], need[name],
                                             f"{name}@p{b}r{reads[k, i][0]}", nodes))
            attrs = dict(node.attrs)
            if k in pads:
                p = list(attrs["pads"])
                attrs["pads"] = (pads[k][0], p[1], pads[k][1], p[3])
            out = node.outputs[0]
            t = g.tensors[out]
            rows_out = need[out]
            made[out] = g.unique_name(f"{out}@p{b}")
            shape = (1, rows_out[1] - rows_out[0], *t.shape[2:])
            g.add_tensor(Tensor(made[out], shape, t.dtype, quant=t.quant))
            band_node = Node(node.op, inputs, [made[out]], attrs, f"{node.name}@p{b}")
            inferred = get_op(node.op).infer_shapes(band_node, g.input_tensors(band_node))[0]
            if tuple(inferred) != shape:  # the row arithmetic above is the whole proof
                raise AssertionError(f"band {b} of {node.name}: {inferred} != {shape}")
            nodes.append(band_node)
        joined.append(made[cut_name])
    nodes.append(Node("CONCATENATION", joined, [cut_name], {"axis": 1},
                      f"{graph.nodes[cut].name}:join"))
    g.nodes = nodes + g.nodes[cut + 1:]
    g.remove_unused_tensors()
    return g


def patch_macs(graph: Graph) -> int:
    """MACs of every node of ``graph`` (the patched graph's minus the original's: the
    recomputed halos)."""
    return sum(node_macs(graph, k) for k in range(len(graph.nodes)))
