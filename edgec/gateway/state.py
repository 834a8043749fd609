"""Per-node state: what each node said last, when, and how many heartbeats it has missed.

A node's heartbeat is any line it prints: a node silent for longer than ``heartbeat`` seconds
has missed ``floor(silence / heartbeat)`` heartbeats. Times are seconds (the caller's clock).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from edgec.gateway.lines import Garbage, Result


@dataclass
class NodeState:
    """One node: its last result and counters. ``history`` keeps (time, label, score) results
    young enough for the longest rule window."""

    name: str
    last_label: str | None = None
    last_index: int | None = None
    last_score: float | None = None
    last_result_time: float | None = None
    last_seen: float | None = None
    results: int = 0
    errors: int = 0
    garbage: int = 0
    garbage_reasons: dict[str, int] = field(default_factory=dict)
    done: bool = False
    closed: bool = False
    silent: bool = False  # reported as missing its heartbeat and not heard from since
    history: deque = field(default_factory=deque)

    def missed_heartbeats(self, now: float, heartbeat: float) -> int:
        if self.last_seen is None or heartbeat <= 0 or self.closed or self.done:
            return 0
        return max(0, int((now - self.last_seen) // heartbeat))

    def to_dict(self, now: float, heartbeat: float) -> dict:
        return {"node": self.name, "label": self.last_label, "index": self.last_index,
                "score": self.last_score, "time": self.last_result_time,
                "last_seen": self.last_seen, "results": self.results, "errors": self.errors,
                "garbage": self.garbage,
                "missed_heartbeats": self.missed_heartbeats(now, heartbeat),
                "done": self.done, "closed": self.closed}


class Fleet:
    """Every node by name. ``observe`` takes one parsed line; ``heartbeat_events`` reports
    nodes that went silent since the last call."""

    def __init__(self, heartbeat: float = 0.0, keep: float = 60.0):
        self.heartbeat = heartbeat
        self.keep = keep  # seconds of history to keep per node
        self.nodes: dict[str, NodeState] = {}

    def node(self, name: str) -> NodeState:
        if name not in self.nodes:
            self.nodes[name] = NodeState(name)
        return self.nodes[name]

    def observe(self, name: str, parsed: Result | Garbage, now: float) -> list[dict]:
        """Update ``name``'s state; return node events (a silent node is back, a replay ended)."""
        node = self.node(name)
        events = []
        if node.silent:
            node.silent = False
            events.append({"event": "back", "node": name})
        node.last_seen = now
        if isinstance(parsed, Garbage):
            node.garbage += 1
            node.garbage_reasons[parsed.reason] = node.garbage_reasons.get(parsed.reason, 0) + 1
        elif parsed.kind == "done":
            node.done = True
            events.append({"event": "done", "node": name})
        elif parsed.kind == "error":
            node.errors += 1
        else:
            node.results += 1
            node.last_label, node.last_index = parsed.label, parsed.index
            node.last_score, node.last_result_time = parsed.score, now
            node.history.append((now, parsed.label, parsed.score))
        self._trim(node, now)
        return events

    def close(self, name: str) -> list[dict]:
        node = self.node(name)
        node.closed = True
        return [{"event": "closed", "node": name}]

    def heartbeat_events(self, now: float) -> list[dict]:
        """A "silent" event per node that has missed a heartbeat since it was last heard."""
        events = []
        for node in self.nodes.values():
            missed = node.missed_heartbeats(now, self.heartbeat)
            if missed and not node.silent:
                node.silent = True
                events.append({"event": "silent", "node": node.name, "missed": missed,
                               "last_seen": node.last_seen})
        return events

    def recent(self, now: float, window: float) -> dict[str, list[tuple[float, str, float]]]:
        """Each node's results within ``window`` seconds before ``now``."""
        return {name: [h for h in node.history if now - h[0] <= window]
                for name, node in self.nodes.items()}

    def _trim(self, node: NodeState, now: float) -> None:
        while node.history and now - node.history[0][0] > self.keep:
            node.history.popleft()

    def summary(self, now: float) -> list[dict]:
        return [node.to_dict(now, self.heartbeat) for node in self.nodes.values()]
