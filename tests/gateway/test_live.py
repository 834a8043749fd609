"""The gateway on live sources: loopback TCP nodes, a pty pair as a serial port, files and
stdin, through the CLI in-process (edgec.cli.main) or a subprocess."""

import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from edgec.cli import main
from edgec.gateway.lines import format_line

pytest.importorskip("serial")


class TcpNode:
    """A node's console on a loopback TCP port: sends ``lines`` with ``gap`` seconds between
    them, then keeps the connection open (a hung node) or closes it."""

    def __init__(self, lines, gap=0.05, hang=0.0):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, args=(lines, gap, hang), daemon=True)
        self.thread.start()

    def _serve(self, lines, gap, hang):
        conn, _ = self.server.accept()
        with conn:
            for line in lines:
                conn.sendall(line if isinstance(line, bytes) else (line + "\r\n").encode())
                time.sleep(gap)
            time.sleep(hang)
        self.server.close()


def _decisions(out):
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_tcp_nodes_one_dies_one_sends_garbage(capsys, tmp_path):
    fire = [format_line(1, "fire", 0.9)] * 6
    healthy = TcpNode(fire, gap=0.1)
    noisy = TcpNode([b"\xff\xfe\x00junk\n", b"EDGEC,1,fire\n", *[(x + "\n").encode() for x in fire],
                     b"x" * 2000 + b"\n"], gap=0.1)
    dying = TcpNode([format_line(0, "quiet", 0.8)], hang=1.5)  # one line, then silence
    rules = tmp_path / "rules.yaml"
    rules.write_text("heartbeat: 0.4\nrules:\n  - {name: alarm, kind: k_of_n, label: fire, k: 2,"
                     " window: 5}\n  - {name: vote, kind: majority, window: 5}\n")
    code = main(["gateway", f"a=tcp:127.0.0.1:{healthy.port}", f"b=tcp:127.0.0.1:{noisy.port}",
                 f"c=tcp:127.0.0.1:{dying.port}", "--rules", str(rules), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    decisions = _decisions(captured.out)
    events = [(d["name"], d["event"], tuple(d["nodes"])) for d in decisions]
    assert ("alarm", "raised", ("a", "b")) in events
    assert ("node", "silent", ("c",)) in events
    assert [d["label"] for d in decisions if d["name"] == "vote"][-1] == "fire"
    assert {e[2] for e in events if e[1] == "closed"} == {("a",), ("b",), ("c",)}
    assert "node b: 6 results, last fire 0.900, 0 errors, 3 garbage lines" in captured.err
    assert "node c: 1 results, last quiet 0.800" in captured.err


def test_serial_node_on_a_pty_pair(capsys):
    master, slave = os.openpty()
    path = os.ttyname(slave)

    def feed():
        time.sleep(0.3)
        for label, score in [("quiet", 0.7), ("fire", 0.9), ("fire", 0.95)]:
            os.write(master, (format_line(0, label, score, 100) + "\r\n").encode())
            time.sleep(0.05)
        os.write(master, b"\x00\x81garbage\r\n")

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        code = main(["gateway", f"dev=serial:{path}@115200", "--duration", "1.2", "--json"])
    finally:
        writer.join()
        os.close(master)
        os.close(slave)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    labels = [d["label"] for d in _decisions(captured.out) if d["name"] == "majority"]
    assert labels == ["quiet", "fire"]
    assert "node dev: 3 results, last fire 0.950, 0 errors, 1 garbage lines" in captured.err


def test_files_and_stdin_through_the_command_line(tmp_path):
    (tmp_path / "a.txt").write_text("boot banner\nEDGEC,1,fire,900,10\nEDGEC DONE\n")
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    proc = subprocess.run(
        [sys.executable, "-m", "edgec", "gateway", f"a=file:{tmp_path / 'a.txt'}", "b=-"],
        input="[00:00:00.100,000] <inf> app: EDGEC,1,fire,800,10\n", capture_output=True,
        text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert any(line.split(",")[3:6] == ["node", "done", "-"] for line in lines)
    majority = [line.split(",") for line in lines if line.split(",")[3] == "majority"]
    assert majority[0][:2] == ["GATEWAY", "1"] and majority[0][4:6] == ["changed", "fire"]
    assert "node a: 1 results, last fire 0.900, 0 errors, 1 garbage lines" in proc.stderr


def test_unreachable_node_and_missing_mqtt_client(capsys, monkeypatch, tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # closed again: nobody listens there
    assert main(["gateway", f"a=tcp:127.0.0.1:{port}"]) == 2
    assert "cannot connect" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "paho", None)
    monkeypatch.setitem(sys.modules, "paho.mqtt", None)
    monkeypatch.setitem(sys.modules, "paho.mqtt.client", None)
    (tmp_path / "a.txt").write_text("EDGEC,0,quiet,900,1\n")
    assert main(["gateway", f"a=file:{tmp_path / 'a.txt'}", "--mqtt", "localhost"]) == 0
    captured = capsys.readouterr()
    assert "--mqtt ignored: paho-mqtt is not installed" in captured.err
    assert ",majority,changed,quiet,a," in captured.out
