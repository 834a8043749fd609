"""The stack a model's ``NAME_run`` needs, measured at build time by the compiler.

GCC's ``-fstack-usage -fcallgraph-info=su`` writes, per object, every function's frame (bytes,
``static`` when fixed) and the calls between them. The generated C's call graph is static and
acyclic (``NAME_run`` -> kernels -> helpers; no recursion, no function pointers), so the worst
chain from the entry point is the deepest the stack can go: the sum of the frames along the
heaviest path. Functions outside the object (the C library: ``memcpy``, ``expf``, libgcc
helpers) have no frame in the graph; each chain that calls one gets ``EXTERNAL_CALL_BYTES``
(newlib's leaf routines use far less; ``tests/cortexm`` checks the whole figure against the
stack the QEMU harness measures by painting). Compilers without these options (clang) give
no figure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

STACK_FLAGS = ["-fstack-usage", "-fcallgraph-info=su"]
# Allowance for one call into the C library or libgcc from a chain (its frame is unknown).
EXTERNAL_CALL_BYTES = 128

_NODE = re.compile(r'node: \{ title: "([^"]+)" label: "([^"]*)"')
_EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')
_FRAME = re.compile(r"\\n(\d+) bytes \(([a-z,]+)\)")


@dataclass
class StackUse:
    """The worst chain of calls from the entry point and the bytes it needs."""

    bytes: int
    chain: list[str]  # function names, entry first
    bounded: bool  # False when a frame is dynamic (alloca, VLA) or the graph has a cycle
    external: list[str] = field(default_factory=list)  # library callees on the chain
    method: str = ""

    def as_json(self) -> dict:
        return {"bytes": self.bytes, "chain": self.chain, "bounded": self.bounded,
                "external": self.external, "method": self.method}


def _short(title: str) -> str:
    return title.rsplit(":", 1)[-1]  # static functions are titled FILE:NAME


def parse_callgraph(text: str) -> tuple[dict[str, tuple[int, bool]], dict[str, list[str]]]:
    """Frames (bytes, bounded) of the functions defined in the object, and the call edges,
    from a ``.ci`` file."""
    frames, calls = {}, {}
    for title, label in _NODE.findall(text):
        frame = _FRAME.search(label)
        if frame is not None:
            bounded = frame.group(2) in ("static", "dynamic,bounded")
            frames[title] = (int(frame.group(1)), bounded)
    for source, target in _EDGE.findall(text):
        calls.setdefault(source, [])
        if target not in calls[source]:
            calls[source].append(target)
    return frames, calls


def worst_chain(frames: dict, calls: dict, entry: str) -> StackUse:
    """The heaviest path from ``entry`` (a title in ``frames``)."""
    memo: dict[str, tuple[int, list[str], bool, list[str]]] = {}
    active: set[str] = set()

    def visit(fn: str) -> tuple[int, list[str], bool, list[str]]:
        if fn in memo:
            return memo[fn]
        if fn not in frames:  # defined elsewhere: the C library or libgcc
            return EXTERNAL_CALL_BYTES, [_short(fn)], True, [_short(fn)]
        if fn in active:  # recursion: no bound
            return 0, [_short(fn)], False, []
        active.add(fn)
        own, bounded = frames[fn]
        best = (0, [], True, [])
        all_bounded = bounded
        for callee in calls.get(fn, []):
            sub = visit(callee)
            all_bounded = all_bounded and sub[2]
            if sub[0] > best[0]:
                best = sub
        active.discard(fn)
        memo[fn] = (own + best[0], [_short(fn)] + best[1], all_bounded, best[3])
        return memo[fn]

    total, chain, bounded, external = visit(entry)
    return StackUse(total, chain, bounded, external)


def stack_use(ci_file: Path, entry: str, method: str) -> StackUse | None:
    """The worst chain from the function ``entry`` in the call graph ``ci_file``; None when
    the file or the entry is missing."""
    if not ci_file.is_file():
        return None
    frames, calls = parse_callgraph(ci_file.read_text(errors="replace"))
    titles = [t for t in frames if _short(t) == entry]
    if not titles:
        return None
    use = worst_chain(frames, calls, titles[0])
    use.method = method
    return use
