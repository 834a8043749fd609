"""The gateway: reads the result lines many nodes print, keeps per-node state, combines the
nodes' results by rules (and/or a second-stage model run by the reference interpreter) and
emits decisions. Pure Python; nothing here imports tvm. The line format is docs/GATEWAY.md.

``lines`` parses one line; ``sources`` turns serial ports, TCP sockets, files and stdin into
one stream of events; ``state`` keeps what each node said last; ``rules`` and ``stage2`` decide;
``sinks`` print and publish; ``run`` ties them together.
"""

from edgec.gateway.lines import FORMAT_VERSION, Result, parse_line
from edgec.gateway.rules import RuleSet, load_rules
from edgec.gateway.run import Gateway
from edgec.gateway.state import Fleet, NodeState

__all__ = ["FORMAT_VERSION", "Fleet", "Gateway", "NodeState", "Result", "RuleSet", "load_rules",
           "parse_line"]
