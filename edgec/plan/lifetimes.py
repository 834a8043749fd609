"""From a graph in execution order (and its kernels) to the buffers the planner places.

Step ``i`` is the execution of ``graph.nodes[i]``. A tensor lives from the step that writes it
to the last step that reads it; graph inputs live from step 0 and graph outputs to the last
step, because they are copied into and out of the arena around the kernels. Constants live in
flash and need no arena.

Two rewrites shrink the arena before any placement:
- a copy-only node (``OpDef.alias``: RESHAPE) shares its input's bytes: the output is the
  same buffer, and the emitter does not call the kernel at all;
- an elementwise node (``OpDef.elementwise``) whose input dies at that node and has the
  output's shape and element size writes its output over that input (in place), when its
  kernel declares that input in ``Kernel.in_place`` (such parameters are not ``restrict``; see ``edgec.lower.kernel``).
- a window op whose kernel is a raster kernel (``Kernel.access``, see
  ``edgec.plan.overlap``) and whose input dies at that node writes its output trailing the
  input: ``lead`` bytes below it, so the bytes still to be read stay ahead of the writes
  (``overlaps``). The lead is rounded up to the alignment; the join is taken only when the
  group grows by less than the output's size (and ``plan_memory`` drops every join the
  arena does not need: a group keeps its size for its whole life).
- a view (``OpDef.view``: a STRIDED_SLICE that is one contiguous byte range of its input,
  rows of an NHWC tensor with N = 1) is its input's bytes at an offset, living from the
  step that wrote the input (the kernel is not called). A tensor read only through views
  needs its own bytes at the step that writes it only: each view keeps its own range alive,
  so the rows the early views alone read are free once those views die (patch-based
  execution, ``edgec.passes.patch``);
- a join (``OpDef.gathers``: a CONCATENATION along the outermost non-unit axis) is its
  inputs' bytes: each input's group moves into the join's at the input's offset in the
  output, when no two parts of the merged groups would clash (the kernel is not called).
Tensors sharing bytes form one group, which becomes one planner ``Buffer`` whose lifetime is
the union of its members' and whose size spans every member at its offset in the group
(``rel``). Kernel scratch is a buffer living for its one step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edgec.analysis import live_ranges
from edgec.ir.graph import Graph, Node
from edgec.ir.registry import get_op
from edgec.lower.kernel import Kernel
from edgec.plan.overlap import ACCESS, raster_lead, window_of
from edgec.plan.planner import Buffer, align_up


def scratch_name(step: int) -> str:
    """The buffer name of the scratch of the kernel at ``step``."""
    return f"scratch@{step}"


@dataclass
class Lifetimes:
    """Groups of tensors sharing bytes, their lifetimes, and the rewrites that made them."""

    group_of: dict[str, str] = field(default_factory=dict)  # tensor -> group leader
    first: dict[str, int] = field(default_factory=dict)  # per group leader
    last: dict[str, int] = field(default_factory=dict)
    size: dict[str, int] = field(default_factory=dict)
    elided: set[int] = field(default_factory=set)  # steps whose kernel is not called
    in_place: dict[int, str] = field(default_factory=dict)  # step -> input it overwrites
    rel: dict[str, int] = field(default_factory=dict)  # tensor -> offset in its group
    overlaps: dict[int, tuple[str, int]] = field(default_factory=dict)  # step -> (input, lead)
    no_overlap: frozenset[int] = frozenset()  # steps told to write no trailing output
    span: dict[str, tuple[int, int]] = field(default_factory=dict)  # tensor -> its own life
    nbytes: dict[str, int] = field(default_factory=dict)  # tensor -> its own bytes

    def merge(self, leader: str, into: str, shift: int) -> None:
        """Move every member of ``leader``'s group into ``into``'s, ``shift`` bytes further
        than their offset in their own group (may be negative: ``into``'s members move up)."""
        if shift < 0:
            for member, group in self.group_of.items():
                if group == into:
                    self.rel[member] -= shift
            self.size[into] -= shift
            shift = 0
        for member, group in list(self.group_of.items()):
            if group == leader:
                self.group_of[member] = into
                self.rel[member] += shift
                self.size[into] = max(self.size[into], self.rel[member] + self.nbytes[member])
        self.first[into] = min(self.first[into], self.first.pop(leader))
        self.last[into] = max(self.last[into], self.last.pop(leader))
        del self.size[leader]

    def members(self, leader: str) -> list[str]:
        return [t for t, g in self.group_of.items() if g == leader]

    def join(self, tensor: str, leader: str, nbytes: int, step: int, last: int,
             rel: int) -> None:
        """Make ``tensor`` (written at ``step``, read until ``last``) live in ``leader``'s
        group at offset ``rel`` of the group (a negative one moves every member up)."""
        if rel < 0:
            for member, group in self.group_of.items():
                if group == leader:
                    self.rel[member] -= rel
            self.size[leader] -= rel
            rel = 0
        self.group_of[tensor] = leader
        self.span[tensor] = (step, last)
        self.nbytes[tensor] = nbytes
        self.rel[tensor] = rel
        self.size[leader] = max(self.size[leader], rel + nbytes)
        self.first[leader] = min(self.first[leader], step)
        self.last[leader] = max(self.last[leader], last)


def tensor_lifetimes(graph: Graph) -> dict[str, tuple[int, int]]:
    """``(first, last)`` step of every activation tensor (constants excluded).

    The liveness rules are ``edgec.analysis.live_ranges``'; an input nobody reads lives at
    step 0 only.
    """
    return {name: (first, max(first, last)) for name, (first, last) in live_ranges(graph).items()}


def _in_place_candidates(node: Node, kernel: Kernel | None) -> list[str]:
    """The inputs ``node``'s output may overwrite, as far as the op and its C allow.

    With a kernel, exactly the ones it declares (``Kernel.in_place``): any other pointer may
    be ``restrict``, and passing it aliased would be undefined behaviour. Without kernels
    (planning activations only), every input of an elementwise op (``OpDef.elementwise``).
    """
    if kernel is not None:
        return list(kernel.in_place)
    return list(node.inputs) if get_op(node.op).elementwise else []


def _alias_source(graph: Graph, node: Node, life: Lifetimes, step: int,
                  kernel: Kernel | None) -> str | None:
    """The input whose bytes ``node``'s output may reuse, or None."""
    if len(node.outputs) != 1:
        return None
    out = graph.tensors[node.outputs[0]]
    if get_op(node.op).alias:
        src = graph.tensors[node.inputs[0]]
        return None if src.is_const or src.nbytes != out.nbytes else src.name
    # Bytes holding a graph output must survive to the end.
    pinned = {life.group_of[o] for o in graph.outputs if o in life.group_of}
    for name in _in_place_candidates(node, kernel):
        t = graph.tensors[name] if name else None
        if t is None or t.is_const or life.group_of[name] in pinned:
            continue
        leader = life.group_of[name]
        # Another input in the same bytes (e.g. a RESHAPE of this one) would be read after
        # the output overwrote them, through a pointer that may be restrict.
        shared = any(other != name and life.group_of.get(other) == leader
                     for other in node.inputs if other)
        same_layout = t.shape == out.shape and t.nbytes == out.nbytes
        if same_layout and not shared and life.last[leader] == step:
            return name
    return None


def _trailing_lead(graph: Graph, node: Node, life: Lifetimes, step: int,
                   kernel: Kernel | None, align: int) -> int | None:
    """The lead (bytes, a multiple of ``align``) at which ``node``'s raster kernel may write
    its output below its dying input, or None when it may not or it would not pay."""
    if kernel is None or kernel.access not in ACCESS or len(node.outputs) != 1:
        return None
    win = window_of(node, graph.input_tensors(node), graph.output_tensors(node))
    src = graph.tensors[node.inputs[0]]
    out = graph.tensors[node.outputs[0]]
    if win is None or src.is_const:
        return None
    leader = life.group_of[src.name]
    pinned = {life.group_of[o] for o in graph.outputs if o in life.group_of}
    shared = any(other != src.name and life.group_of.get(other) == leader
                 for other in node.inputs if other)
    if leader in pinned or shared or life.last[leader] != step:
        return None
    lead = align_up(max(raster_lead(win, kernel.access), 0), align)
    rel = life.rel[src.name] - lead
    grown = max(life.size[leader], rel + out.nbytes) - min(rel, 0) - life.size[leader]
    return lead if grown < out.nbytes else None


def view_offset(graph: Graph, node: Node) -> int | None:
    """The byte offset of ``node``'s output inside its input 0 when the node is a view
    (``OpDef.view``) of an activation, else None."""
    view = get_op(node.op).view
    if view is None or len(node.outputs) != 1 or not node.inputs or not node.inputs[0]:
        return None
    ins = graph.input_tensors(node)
    if ins[0].is_const:
        return None
    return view(node, ins, graph.output_tensors(node))


def gather_offsets(graph: Graph, node: Node) -> list[int] | None:
    """The byte offset of each input of ``node`` inside its output when the node is a join
    (``OpDef.gathers``) of distinct activations, else None."""
    gathers = get_op(node.op).gathers
    if gathers is None or len(node.outputs) != 1 or len(set(node.inputs)) != len(node.inputs):
        return None
    if any(not name or graph.tensors[name].is_const for name in node.inputs):
        return None
    return gathers(node, graph.input_tensors(node), graph.output_tensors(node))


def _view_spans(graph: Graph, spans: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """``spans`` with views living from their source's write, and a tensor read only by
    views (and not a graph output) living at its own write only."""
    spans = dict(spans)
    readers: dict[str, list[bool]] = {}
    for node in graph.nodes:
        is_view = view_offset(graph, node) is not None
        for i, name in enumerate(node.inputs):
            if name:
                readers.setdefault(name, []).append(is_view and i == 0)
    order = {name: -1 for name in graph.inputs}
    for step, node in enumerate(graph.nodes):
        for name in node.outputs:
            order[name] = step
        if view_offset(graph, node) is not None:
            src, out = node.inputs[0], node.outputs[0]
            spans[out] = (spans[src][0], max(spans[out][1], spans[src][0]))
    for name, is_view in readers.items():
        if name in spans and all(is_view) and name not in graph.outputs:
            spans[name] = (spans[name][0], spans[name][0])
    return spans


def _reach(graph: Graph, spans: dict[str, tuple[int, int]]) -> dict[str, int]:
    """The last step at which each tensor's bytes are read, directly or through views of it
    (a group may die only when every view of its tensors has died)."""
    reach = {name: last for name, (_, last) in spans.items()}
    views = [(node.inputs[0], node.outputs[0]) for node in graph.nodes
             if view_offset(graph, node) is not None]
    for src, out in reversed(views):
        reach[src] = max(reach[src], reach[out])
    return reach


def _join_inputs(graph: Graph, node: Node, life: Lifetimes, step: int,
                 spans: dict[str, tuple[int, int]]) -> bool:
    """Place a join's output over its inputs (``gather_offsets``) when their groups are
    distinct, hold no graph output and no two of their parts would clash; True if done."""
    offsets = gather_offsets(graph, node)
    if offsets is None:
        return False
    groups = [life.group_of[name] for name in node.inputs]
    pinned = {life.group_of[o] for o in graph.outputs if o in life.group_of}
    if len(set(groups)) != len(groups) or pinned & set(groups):
        return False
    out = node.outputs[0]
    shifts = [off - life.rel[name] for name, off in zip(node.inputs, offsets)]
    low = min(min(shifts), 0)
    placed = [(life.rel[t] + s - low, life.nbytes[t], *life.span[t], g)
              for g, s in zip(groups, shifts) for t in life.members(g)]
    mine = (-low, graph.tensors[out].nbytes, *spans[out], None)
    joined = set(node.inputs)
    for i, a in enumerate(placed):
        for b in placed[i + 1:]:
            if a[4] != b[4] and _clash(a, b):
                return False
    for t, a in zip([t for g in groups for t in life.members(g)], placed):
        if t not in joined and _clash(a, mine):
            return False
    _new_group(life, out, graph.tensors[out].nbytes, spans[out])
    for g, name, off in zip(groups, node.inputs, offsets):
        life.merge(g, out, life.rel[out] + off - life.rel[name])
    life.elided.add(step)
    return True


def _clash(a, b) -> bool:
    (ra, sa, fa, la, _), (rb, sb, fb, lb, _) = a, b
    return sa > 0 and sb > 0 and fa <= lb and fb <= la and ra < rb + sb and rb < ra + sa


def build_lifetimes(graph: Graph, kernels: list[Kernel] | None = None,
                    align: int = 16, no_overlap: frozenset[int] = frozenset()) -> Lifetimes:
    """Group the activations of ``graph`` into shared buffers (see the module docstring);
    the steps in ``no_overlap`` write no trailing output."""
    spans = _view_spans(graph, tensor_lifetimes(graph))
    reach = _reach(graph, spans)
    life = Lifetimes(no_overlap=no_overlap)
    for name in graph.inputs:
        _new_group(life, name, graph.tensors[name].nbytes, spans[name])
        life.last[name] = max(life.last[name], reach[name])
    for step, node in enumerate(graph.nodes):
        _group_outputs(graph, node, life, step, kernels[step] if kernels else None, spans,
                       align)
        for name in node.outputs:  # a group lives while views of its tensors do
            group = life.group_of[name]
            life.last[group] = max(life.last[group], reach[name])
    return life


def _group_outputs(graph: Graph, node: Node, life: Lifetimes, step: int,
                   kernel: Kernel | None, spans: dict[str, tuple[int, int]],
                   align: int) -> None:
    """Put ``node``'s outputs into a group: a view, a join, an alias, an in-place or a
    trailing write, or a group of their own."""
    # An elided copy is never called, so its kernel's qualifiers do not matter.
    offset = view_offset(graph, node)
    if offset is not None:
        src, out = node.inputs[0], node.outputs[0]
        life.join(out, life.group_of[src], graph.tensors[out].nbytes, *spans[out],
                  rel=life.rel[src] + offset)
        life.elided.add(step)
        return
    if _join_inputs(graph, node, life, step, spans):
        return
    source = _alias_source(graph, node, life, step, kernel)
    if source is not None:
        out = node.outputs[0]
        life.join(out, life.group_of[source], graph.tensors[out].nbytes, *spans[out],
                  rel=life.rel[source])
        if get_op(node.op).alias:
            life.elided.add(step)
        else:
            life.in_place[step] = source
        return
    lead = None if step in life.no_overlap else _trailing_lead(graph, node, life, step,
                                                                kernel, align)
    if lead is not None:
        src, out = node.inputs[0], node.outputs[0]
        life.join(out, life.group_of[src], graph.tensors[out].nbytes, *spans[out],
                  rel=life.rel[src] - lead)
        life.overlaps[step] = (src, lead)
        return
    for name in node.outputs:
        _new_group(life, name, graph.tensors[name].nbytes, spans[name])


def _new_group(life: Lifetimes, name: str, nbytes: int, span: tuple[int, int]) -> None:
    life.group_of[name] = name
    life.span[name] = span
    life.nbytes[name] = nbytes
    life.rel[name] = 0
    life.size[name] = nbytes
    life.first[name], life.last[name] = span


def planner_buffers(life: Lifetimes, kernels: list[Kernel] | None, align: int) -> list[Buffer]:
    """One ``Buffer`` per tensor group plus one per kernel scratch, in a stable order."""
    leaders = sorted(set(life.group_of.values()), key=lambda g: (life.first[g], g))
    members: dict[str, list[str]] = {}
    for tensor, leader in life.group_of.items():
        members.setdefault(leader, []).append(tensor)

    def parts(g: str) -> tuple:
        if len(members[g]) < 2:
            return ()
        return tuple(sorted((life.rel[t], life.nbytes[t], *life.span[t]) for t in members[g]))
    buffers = [Buffer(g, life.size[g], life.first[g], life.last[g], align, parts(g))
               for g in leaders]
    for step, kernel in enumerate(kernels or []):
        if kernel.scratch_bytes > 0 and step not in life.elided:
            buffers.append(Buffer(scratch_name(step), kernel.scratch_bytes, step, step, align))
    return buffers


def check_kernels_match(graph: Graph, kernels: list[Kernel]) -> None:
    """Kernels come one per node, in the graph's execution order."""
    if len(kernels) != len(graph.nodes):
        raise ValueError(f"{len(kernels)} kernels for {len(graph.nodes)} nodes")
    for node, kernel in zip(graph.nodes, kernels):
        if kernel.op != node.op:
            raise ValueError(f"kernel {kernel.func_name} is {kernel.op}, node "
                             f"'{node.name}' is {node.op}")

