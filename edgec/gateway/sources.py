"""Where node lines come from: serial ports, TCP sockets, files and stdin, one reader thread
per node, all feeding one queue of ``Event``s. A node is ``NAME=SPEC``:

- ``serial:PORT[@BAUD]``: a serial port through pyserial (``PORT`` may be a pyserial URL such as
  ``loop://`` or ``socket://host:port``; default 115200 baud);
- ``tcp:HOST:PORT``: a TCP connection to a node's console (QEMU ``-serial tcp:...,server``, a
  UART bridge);
- ``file:PATH``: a recorded stream, read to its end;
- ``-`` or ``stdin``: standard input.

Lines are split on ``\\n`` (a ``\\r`` before it is dropped) and decoded as UTF-8 with
replacement, so binary noise becomes a garbage line, never an exception.
"""

from __future__ import annotations

import queue
import socket
import sys
import threading
import time
from dataclasses import dataclass

from edgec.errors import EdgecError
from edgec.gateway.lines import MAX_LINE

BAUD = 115200


@dataclass(frozen=True)
class Event:
    node: str
    kind: str  # "line" or "closed"
    text: str = ""
    time: float = 0.0
    error: str = ""


@dataclass(frozen=True)
class NodeSpec:
    name: str
    kind: str  # serial, tcp, file, stdin
    target: str = ""
    baud: int = BAUD


def parse_spec(text: str) -> NodeSpec:
    """``NAME=SPEC`` (or a bare SPEC, named after it)."""
    name, sep, spec = text.partition("=")
    if not sep:
        name, spec = text, text
    if spec in ("-", "stdin"):
        return NodeSpec(name if sep else "stdin", "stdin")
    kind, colon, rest = spec.partition(":")
    if kind == "serial" and colon and rest:
        port, at, baud = rest.rpartition("@") if "@" in rest else (rest, "", "")
        if at and not baud.isdigit():
            raise EdgecError(f"node '{text}': baud rate '{baud}' is not a number",
                             "write serial:/dev/ttyACM0@115200")
        return NodeSpec(name, "serial", port, int(baud) if at else BAUD)
    if kind == "tcp" and colon:
        host, _, port = rest.rpartition(":")
        if not port.isdigit():
            raise EdgecError(f"node '{text}': '{rest}' is not HOST:PORT",
                             "write tcp:localhost:4000")
        return NodeSpec(name, "tcp", f"{host or 'localhost'}:{port}")
    if kind == "file" and colon and rest:
        return NodeSpec(name, "file", rest)
    raise EdgecError(f"node '{text}' is not a node spec",
                     "use NAME=serial:PORT[@BAUD], NAME=tcp:HOST:PORT, NAME=file:PATH or NAME=-")


def _split(node: str, chunk: bytes, pending: bytearray, out: queue.Queue) -> None:
    pending.extend(chunk)
    while True:
        cut = pending.find(b"\n")
        if cut < 0:
            if len(pending) > MAX_LINE:  # no newline in sight: flush as one (garbage) line
                out.put(Event(node, "line", pending.decode("utf-8", "replace"), time.time()))
                pending.clear()
            return
        raw = bytes(pending[:cut]).rstrip(b"\r")
        del pending[:cut + 1]
        out.put(Event(node, "line", raw.decode("utf-8", "replace"), time.time()))


def _open(spec: NodeSpec):
    """A ``read(n) -> bytes`` callable and a close callable for the spec's stream."""
    if spec.kind == "stdin":
        stream = sys.stdin.buffer
        return stream.read1, lambda: None
    if spec.kind == "file":
        try:
            stream = open(spec.target, "rb")  # noqa: SIM115 - closed by the reader thread
        except OSError as exc:
            raise EdgecError(f"node '{spec.name}': cannot open '{spec.target}': {exc.strerror}",
                             "check the path") from exc
        return stream.read1, stream.close
    if spec.kind == "tcp":
        host, _, port = spec.target.rpartition(":")
        try:
            sock = socket.create_connection((host, int(port)), timeout=5)
        except OSError as exc:
            raise EdgecError(f"node '{spec.name}': cannot connect to {spec.target}: {exc}",
                             "is the node (or its UART bridge) listening?") from exc
        sock.settimeout(None)
        return sock.recv, sock.close
    return _open_serial(spec)


def _open_serial(spec: NodeSpec):
    try:
        import serial
    except ImportError as exc:
        raise EdgecError("serial nodes need pyserial", "pip install 'edgec[gateway]'") from exc
    try:
        port = serial.serial_for_url(spec.target, baudrate=spec.baud, timeout=0.2)
    except (serial.SerialException, ValueError, OSError) as exc:
        raise EdgecError(f"node '{spec.name}': cannot open serial port {spec.target}: {exc}",
                         "check the port name and that no other program holds it") from exc

    def read(n: int) -> bytes | None:
        data = port.read(max(1, min(n, port.in_waiting or 1)))
        return data if data else None  # None: a timeout, not the end of the stream

    return read, port.close


def _reader(spec: NodeSpec, read, close, out: queue.Queue, stop: threading.Event) -> None:
    pending = bytearray()
    error = ""
    try:
        while not stop.is_set():
            chunk = read(4096)
            if chunk is None:
                continue
            if not chunk:
                break
            _split(spec.name, chunk, pending, out)
    except Exception as exc:  # noqa: BLE001 - a broken stream closes this node, not the gateway
        error = str(exc)
    finally:
        if pending:
            out.put(Event(spec.name, "line", pending.decode("utf-8", "replace"), time.time()))
        try:
            close()
        except Exception:  # noqa: BLE001, S110 - closing a broken stream may fail again
            pass
        out.put(Event(spec.name, "closed", time=time.time(), error=error))


def start(specs: list[NodeSpec], out: queue.Queue, stop: threading.Event) -> list[threading.Thread]:
    """Open every node (all or none: an error closes those already open) and start a daemon
    reader thread per node."""
    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise EdgecError(f"node names {duplicates} are given twice", "name each node once")
    opened = []
    try:
        for spec in specs:
            opened.append((spec, *_open(spec)))
    except EdgecError:
        for _, _, close in opened:
            close()
        raise
    threads = []
    for spec, read, close in opened:
        thread = threading.Thread(target=_reader, args=(spec, read, close, out, stop),
                                  name=f"edgec-gateway-{spec.name}", daemon=True)
        thread.start()
        threads.append(thread)
    return threads
