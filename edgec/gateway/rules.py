"""The rule set that combines node results into decisions (docs/GATEWAY.md, "Rules").

A rules file (YAML) holds ``heartbeat`` (seconds), ``thresholds`` (per-label minimum score: a
result below its label's threshold is no vote) and ``rules``, each one of:

- ``majority``: the label held by more than ``quorum`` (default 0.5) of the nodes that reported
  within ``window`` seconds (each node's latest result votes); needs ``min_nodes`` voters.
- ``k_of_n``: at least ``k`` distinct nodes reported ``label`` within ``window`` seconds: raised.
- ``threshold``: some node's latest result within ``window`` is ``label`` with score >= ``score``.

Every rule is edge-triggered: it emits when its output changes (a new majority label, an alarm
raised or cleared), not on every line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from edgec.errors import EdgecError


@dataclass
class Rule:
    name: str
    kind: str
    window: float = 10.0
    label: str | None = None
    k: int = 1
    quorum: float = 0.5
    min_nodes: int = 1
    score: float = 0.0
    state: object = None  # the last output, for edge triggering

    def evaluate(self, votes: dict[str, list[tuple[float, str, float | None]]]) -> object:
        """This rule's output on ``votes`` (each node's scored results within the window)."""
        return _KINDS[self.kind][1](self, votes)


def _latest(votes):
    return {node: results[-1] for node, results in votes.items() if results}


def _majority(rule: Rule, votes) -> object:
    latest = _latest(votes)
    if len(latest) < rule.min_nodes:
        return None
    counts: dict[str, list[str]] = {}
    for node, (_, label, _) in sorted(latest.items()):
        counts.setdefault(label, []).append(node)
    label, nodes = max(counts.items(), key=lambda item: (len(item[1]), item[0]))
    if len(nodes) > rule.quorum * len(latest):
        return (label, tuple(nodes))
    return None


def _k_of_n(rule: Rule, votes) -> object:
    nodes = tuple(sorted(node for node, results in votes.items()
                         if any(label == rule.label for _, label, _ in results)))
    return nodes if len(nodes) >= rule.k else None


def _threshold(rule: Rule, votes) -> object:
    nodes = tuple(sorted(node for node, (_, label, score) in _latest(votes).items()
                         if label == rule.label and score is not None and score >= rule.score))
    return nodes or None


# kind -> (required keys, evaluator)
_KINDS = {"majority": ((), _majority), "k_of_n": (("label", "k"), _k_of_n),
          "threshold": (("label", "score"), _threshold)}
_KEYS = {"name", "kind", "window", "label", "k", "quorum", "min_nodes", "score"}


@dataclass
class RuleSet:
    rules: list[Rule] = field(default_factory=list)
    thresholds: dict[str, float] = field(default_factory=dict)
    heartbeat: float = 0.0

    @property
    def longest_window(self) -> float:
        return max([r.window for r in self.rules] + [0.0])

    def votes(self, recent: dict[str, list]) -> dict[str, list]:
        """Drop results under their label's threshold (a result without a score stays)."""
        def counts(label, score):
            return score is None or score >= self.thresholds.get(label, 0.0)
        return {node: [r for r in results if counts(r[1], r[2])]
                for node, results in recent.items()}


def _rule(entry: object, where: str) -> Rule:
    if not isinstance(entry, dict):
        raise EdgecError(f"{where}: a rule is a mapping", "see docs/GATEWAY.md")
    kind = entry.get("kind")
    if kind not in _KINDS:
        raise EdgecError(f"{where}: unknown rule kind {kind!r}",
                         f"valid kinds: {', '.join(sorted(_KINDS))}")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise EdgecError(f"{where}: unknown keys {unknown}", f"valid keys: {sorted(_KEYS)}")
    missing = [key for key in _KINDS[kind][0] if key not in entry]
    if missing:
        raise EdgecError(f"{where}: a {kind} rule needs {missing}", "see docs/GATEWAY.md")
    try:
        rule = Rule(name=str(entry.get("name", kind)), kind=kind,
                    window=float(entry.get("window", 10.0)),
                    label=None if entry.get("label") is None else str(entry["label"]),
                    k=int(entry.get("k", 1)), quorum=float(entry.get("quorum", 0.5)),
                    min_nodes=int(entry.get("min_nodes", 1)), score=float(entry.get("score", 0)))
    except (TypeError, ValueError) as exc:
        raise EdgecError(f"{where}: {exc}", "windows and scores are numbers, k an integer") from exc
    if rule.window <= 0 or rule.k < 1:
        raise EdgecError(f"{where}: window must be > 0 and k >= 1", "see docs/GATEWAY.md")
    return rule


def parse_rules(data: object, where: str = "rules") -> RuleSet:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise EdgecError(f"{where}: the rules file is a mapping", "see docs/GATEWAY.md")
    unknown = sorted(set(data) - {"version", "heartbeat", "thresholds", "rules", "model"})
    if unknown:
        raise EdgecError(f"{where}: unknown keys {unknown}",
                         "valid keys: version, heartbeat, thresholds, rules, model")
    if data.get("version", 1) != 1:
        raise EdgecError(f"{where}: rules format version {data['version']} is not supported",
                         "this edgec reads version 1")
    thresholds = data.get("thresholds") or {}
    if not isinstance(thresholds, dict):
        raise EdgecError(f"{where}: thresholds maps labels to scores", "e.g. {person: 0.6}")
    entries = data.get("rules") or []
    rules = [_rule(entry, f"{where}: rule {i + 1}") for i, entry in enumerate(entries)]
    try:
        return RuleSet(rules, {str(k): float(v) for k, v in thresholds.items()},
                       float(data.get("heartbeat", 0.0)))
    except (TypeError, ValueError) as exc:
        raise EdgecError(f"{where}: {exc}", "thresholds and heartbeat are numbers") from exc


def load_rules(path: str | Path) -> tuple[RuleSet, dict | None]:
    """The rule set of a YAML file, and its ``model`` section (the second stage) if any."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise EdgecError(f"cannot read rules file '{path}': {exc.strerror}",
                         "check the path") from exc
    except yaml.YAMLError as exc:
        raise EdgecError(f"rules file '{path}' is not valid YAML: {exc}".replace("\n", " "),
                         "see docs/GATEWAY.md for an example") from exc
    return parse_rules(data, str(path)), (data or {}).get("model")
