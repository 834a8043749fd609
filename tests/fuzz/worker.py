"""The fuzz worker: one subprocess that imports and runs mutated models under a memory cap.

Protocol on stdin: a JSON header line ``{"kind", "index", "input_seed"}``, a line with the
byte count, then the model bytes. On the real stdout, one JSON line per case: ``outcome``
(ok | error | internal | memory | bad-message), and for failures the exception type, its
innermost frame inside edgec and the message.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import traceback
from pathlib import Path

import numpy as np

MAX_MESSAGE, MAX_HINT = 200, 600  # edgec.errors' contract, restated to be checked


def _top_frame(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/edgec/" in f.filename] or frames
    if not ours:
        return "?"
    f = ours[-1]
    return f"{Path(f.filename).name}:{f.name}"


def _inputs(graph, seed: int) -> dict[str, np.ndarray]:
    from edgec.ir.graph import storage_dtype

    rng = np.random.default_rng(seed)
    feeds = {}
    for name in graph.inputs:
        t = graph.tensors[name]
        if t.dtype.startswith("float"):
            values = rng.choice(np.array([0.0, 1.0, -1.0, np.nan, np.inf, 3.4e38], np.float32),
                                size=t.shape) if seed % 4 == 0 else rng.normal(size=t.shape)
            feeds[name] = np.asarray(values, np.float32)
        elif t.dtype not in ("int8", "uint8", "int16", "int32", "int64"):
            feeds[name] = np.zeros(t.shape, storage_dtype(t.dtype))  # bool, int4
        else:
            info = np.iinfo(t.dtype)
            feeds[name] = rng.integers(info.min, info.max, size=t.shape, endpoint=True,
                                       dtype=t.dtype)
    return feeds


def message_problem(message: str, hint: str | None) -> str | None:
    """Why a user error breaks the one-line contract, or None."""
    if len(message) > MAX_MESSAGE or len(hint or "") > MAX_HINT:
        return f"{len(message)}+{len(hint or '')} characters"
    if not message.isprintable() or not (hint or "").isprintable():
        return "non-printable characters"
    return None


def run_case(path: Path, input_seed: int) -> dict:
    from edgec.errors import EdgecError
    from edgec.frontends import load_model
    from edgec.ir.interpret import interpret

    try:
        graph = load_model(path)
        interpret(graph, _inputs(graph, input_seed))
        return {"outcome": "ok"}
    except EdgecError as exc:
        problem = message_problem(exc.message, exc.hint)
        if problem:
            return {"outcome": "bad-message", "type": "EdgecError", "frame": _top_frame(exc),
                    "message": f"{problem}: {str(exc)[:200]!r}"}
        return {"outcome": "error"}
    except MemoryError as exc:
        return {"outcome": "memory", "type": "MemoryError", "frame": _top_frame(exc),
                "message": ""}
    except Exception as exc:  # noqa: BLE001 - the point is to catch every bug
        return {"outcome": "internal", "type": type(exc).__name__, "frame": _top_frame(exc),
                "message": str(exc)[:300], "traceback": traceback.format_exc()[-3000:]}


def main() -> None:
    mem_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 2048
    resource.setrlimit(resource.RLIMIT_AS, (mem_mb << 20, mem_mb << 20))
    os.nice(10)
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything the code under test prints goes to stderr
    sys.stdout = sys.stderr
    import edgec.frontends  # noqa: F401 - import before the first case is timed
    from edgec.ir.interpret import interpret  # noqa: F401

    stdin = sys.stdin.buffer
    with tempfile.TemporaryDirectory(prefix="edgec-fuzz-") as tmp:
        out.write(json.dumps({"outcome": "ready"}) + "\n")
        while True:
            header = stdin.readline()
            if not header:
                return
            meta = json.loads(header)
            size = int(stdin.readline())
            data = stdin.read(size)
            case_dir = Path(tmp) / "case"
            case_dir.mkdir(exist_ok=True)
            path = case_dir / f"model.{meta['kind']}"
            path.write_bytes(data)
            out.write(json.dumps(run_case(path, meta["input_seed"])) + "\n")


if __name__ == "__main__":
    main()
