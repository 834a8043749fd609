"""The gateway's pure parts: the line parser, the rules, node state, the second stage, all on
recorded streams with explicit times."""

import numpy as np
import pytest

from edgec.errors import EdgecError
from edgec.gateway import Gateway, parse_line
from edgec.gateway.lines import Garbage, Result, format_line
from edgec.gateway.rules import parse_rules
from edgec.gateway.sources import Event, parse_spec


def test_parse_the_firmware_line_and_its_variants():
    assert parse_line("EDGEC,3,three,875,12345") == Result("result", 3, "three", 0.875, 12345)
    assert parse_line("EDGEC/1,3,three,875,12345") == Result("result", 3, "three", 0.875, 12345)
    logged = "[00:00:01.000,000] <inf> app: EDGEC,0,no person,1000,7"
    assert parse_line(logged) == Result("result", 0, "no person", 1.0, 7)
    replay = "inference: status 0, label 2 (two), 4321 cycles, 43 us"
    assert parse_line(replay) == Result("result", 2, "two", None, 4321)
    assert parse_line("inference: status -5, label 0 (zero), 1 cycles, 0 us").kind == "error"
    assert parse_line("EDGEC DONE") == Result("done")
    assert parse_line(format_line(4, "four", 0.5, 9)) == Result("result", 4, "four", 0.5, 9)


@pytest.mark.parametrize("text,reason", [
    ("", "no EDGEC result"),
    ("EDGEC,1,one", "no EDGEC result"),
    ("EDGEC/2,1,one,500,3", "unsupported format version 2"),
    ("EDGEC,1,one,1500,3", "outside 0..1000"),
    ("EDGEC,1,o\ufffdne,500,3", "not text"),
    ("EDGEC,1,one,500,3" + "x" * 600, "longer than"),
])
def test_garbage_lines_say_why(text, reason):
    parsed = parse_line(text)
    assert isinstance(parsed, Garbage) and reason in parsed.reason


def _feed(gateway, stream):
    out = []
    for t, node, text in stream:
        out += gateway.feed(Event(node, "line", text, float(t)))
    return out


RULES = {"heartbeat": 1.0, "thresholds": {"fire": 0.6},
         "rules": [{"name": "vote", "kind": "majority", "window": 5, "min_nodes": 2},
                   {"name": "alarm", "kind": "k_of_n", "label": "fire", "k": 2, "window": 3},
                   {"name": "sure", "kind": "threshold", "label": "fire", "score": 0.95}]}


def test_recorded_streams_of_several_nodes_a_dying_node_and_garbage():
    gateway = Gateway(parse_rules(RULES))
    stream = [(0.0, "a", format_line(0, "quiet", 0.9)), (0.1, "b", format_line(0, "quiet", 0.8)),
              (0.2, "c", "\x00\x01 garbage"), (0.3, "c", format_line(1, "fire", 0.5)),
              (1.0, "a", format_line(1, "fire", 0.7)), (1.1, "b", format_line(1, "fire", 0.97)),
              (1.2, "c", "EDGEC,1,fire,9999,1"), (1.3, "c", format_line(1, "fire", 0.9))]
    decisions = _feed(gateway, stream)
    names = [(d["name"], d["event"], d.get("label"), tuple(d["nodes"])) for d in decisions]
    # c's 0.5 fire is under the fire threshold: no vote, so a's switch leaves no majority;
    # b's switch makes one and the alarm; c agreeing changes no output (edge-triggered)
    assert names == [("vote", "changed", "quiet", ("a", "b")), ("vote", "lost", "quiet", ()),
                     ("vote", "changed", "fire", ("a", "b")),
                     ("alarm", "raised", "fire", ("a", "b")),
                     ("sure", "raised", "fire", ("b",))]
    fleet = gateway.fleet.nodes
    assert fleet["c"].garbage == 2 and fleet["c"].results == 2 and fleet["a"].results == 2
    # b and c keep talking, a dies: one "silent" report for a, none for the others
    more = _feed(gateway, [(2.0, "b", format_line(1, "fire", 0.9)),
                           (2.1, "c", format_line(1, "fire", 0.9))])
    assert [(d["name"], d["event"]) for d in more] == [("sure", "cleared")]  # b now under 0.95
    silent = gateway.tick(2.5)
    assert [(d["event"], d["nodes"]) for d in silent] == [("silent", ["a"])]
    assert silent[0]["missed"] == 1 and gateway.tick(2.6) == []
    assert gateway.fleet.nodes["a"].missed_heartbeats(4.0, 1.0) == 3
    late = gateway.tick(9.0)  # everyone silent, every window expired
    assert {(d["name"], d["event"]) for d in late} == {
        ("node", "silent"), ("vote", "lost"), ("alarm", "cleared")}
    back = _feed(gateway, [(9.5, "a", format_line(0, "quiet", 0.9))])
    assert ("node", "back", ["a"]) in [(d["name"], d["event"], d["nodes"]) for d in back]


def test_closed_node_is_reported():
    gateway = Gateway(parse_rules({"rules": []}))
    out = gateway.feed(Event("x", "closed", time=1.0, error="read failed"))
    assert out == [{"event": "closed", "node": "x", "name": "node", "kind": "node", "label": None,
                    "nodes": ["x"], "error": "read failed", "time": 1.0}]


@pytest.mark.parametrize("data,message", [
    ({"rules": [{"kind": "vote"}]}, "valid kinds: k_of_n, majority, threshold"),
    ({"rules": [{"kind": "k_of_n", "label": "x"}]}, "needs ['k']"),
    ({"rules": [{"kind": "majority", "windw": 3}]}, "unknown keys ['windw']"),
    ({"rules": [{"kind": "majority", "window": "soon"}]}, "could not convert"),
    ({"version": 2}, "version 2 is not supported"),
    ({"thresholds": [1]}, "thresholds maps labels"),
    ([1, 2], "is a mapping"),
])
def test_bad_rules_are_user_errors(data, message):
    with pytest.raises(EdgecError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_rules(data)


@pytest.mark.parametrize("text,kind,target,baud", [
    ("n1=serial:/dev/ttyACM0", "serial", "/dev/ttyACM0", 115200),
    ("n1=serial:loop://@9600", "serial", "loop://", 9600),
    ("n1=tcp:127.0.0.1:4000", "tcp", "127.0.0.1:4000", 115200),
    ("n1=file:rec.txt", "file", "rec.txt", 115200),
    ("n1=-", "stdin", "", 115200),
])
def test_node_specs(text, kind, target, baud):
    spec = parse_spec(text)
    assert (spec.name, spec.kind, spec.target, spec.baud) == ("n1", kind, target, baud)


def test_bad_node_spec_lists_the_forms():
    with pytest.raises(EdgecError, match="NAME=tcp:HOST:PORT"):
        parse_spec("n1=usb:3")


def _fusion_model(path, nodes, labels):
    """Sums each label's scores over the nodes: input [1, nodes*labels] @ W -> [1, labels]."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = np.tile(np.eye(len(labels), dtype=np.float32), (len(nodes), 1))
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "fusion",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, len(nodes) * len(labels)])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, len(labels)])],
        [numpy_helper.from_array(w, "w")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)


def test_second_stage_model_decides_on_node_results(tmp_path):
    from edgec.gateway.stage2 import load_stage2

    _fusion_model(tmp_path / "fuse.onnx", ["a", "b", "c"], ["quiet", "fire"])
    stage2 = load_stage2({"path": "fuse.onnx", "nodes": ["a", "b", "c"],
                          "labels": ["quiet", "fire"], "outputs": ["calm", "evacuate"],
                          "window": 5, "name": "fusion"}, tmp_path)
    gateway = Gateway(parse_rules({"rules": []}), stage2)
    out = _feed(gateway, [(0, "a", format_line(0, "quiet", 0.9)),
                          (1, "b", format_line(1, "fire", 0.6)),
                          (2, "c", format_line(1, "fire", 0.5))])
    assert [(d["name"], d["label"]) for d in out] == [("fusion", "calm"), ("fusion", "evacuate")]
    assert out[-1]["score"] == pytest.approx(1.1)
    with pytest.raises(EdgecError, match="takes 6 values, 2 nodes x 2 labels make 4"):
        load_stage2({"path": "fuse.onnx", "nodes": ["a", "b"], "labels": ["q", "f"]}, tmp_path)
