"""On-disk cache of kernel C text, keyed by everything that shapes the text.

The key hashes the op, input dtype, tensor shapes and dtypes, attributes, quantization layout
(per-tensor or per-axis, never the values), the parameters that may compute in place (they
lose ``restrict``), the rule's own key, the edgec and TVM versions and the source of
``edgec/lower`` and the kernel templates (so editing a rule or a template invalidates its
entries). The value is a JSON
record: the C parameters (``CParam``), the function body (which never names the function) and
the <math.h> functions it calls; constants are recomputed in Python on every build, since they
carry the quantization values. An entry on disk starts with a header line naming its key and
the SHA-256 of the JSON after it: a truncated, foreign or garbage entry is reported, deleted
and rebuilt, never used.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import edgec
from edgec.templating import template_dir

log = logging.getLogger("edgec.lower")


def default_dir(override: str | os.PathLike | None = None) -> Path:
    """``override``, else ``$EDGEC_CACHE_DIR``, else ``~/.cache/edgec``."""
    if override is not None:
        return Path(override)
    env = os.environ.get("EDGEC_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "edgec"


@lru_cache(maxsize=1)
def _code_version() -> str:
    digest = hashlib.sha256()
    lower = Path(__file__).parent
    for path in sorted(lower.rglob("*.py")) + [lower.parent / "cdefs.py"]:
        digest.update(path.relative_to(lower.parent).as_posix().encode())
        digest.update(path.read_bytes())
    # the kernel templates shape the text as much as the Python that fills them
    kernels = template_dir() / "kernels"
    for path in sorted(kernels.rglob("*.j2")):
        digest.update(path.relative_to(kernels).as_posix().encode())
        digest.update(path.read_bytes())
    return f"edgec {edgec.__version__} tvm {metadata.version('apache-tvm')} {digest.hexdigest()}"


def _quant_layout(tensor) -> list | None:
    q = tensor.quant
    return None if q is None else [q.axis, int(q.scale.size)]


def kernel_key(ctx, plan) -> str:
    """The hex digest naming the C text of ``plan`` for the node in ``ctx``."""
    tensors = [None if t is None else [list(t.shape), t.dtype, _quant_layout(t)]
               for t in list(ctx.ins) + list(ctx.outs)]
    attrs = {k: repr(v) for k, v in sorted(ctx.attrs.items())}
    params = [p.c_name for p in plan.params]
    text = json.dumps([ctx.node.op, ctx.dtype, tensors, attrs, params, list(plan.in_place),
                       repr(plan.key), _code_version()])
    return hashlib.sha256(text.encode()).hexdigest()


# Each entry starts with one header line naming its format, its key and the SHA-256 and
# length of the C text after it; anything else in the folder is not trusted.
_MAGIC = "edgec kernel cache v2"


def _header(key: str, text: str) -> str:
    digest = hashlib.sha256(text.encode()).hexdigest()
    return f"{_MAGIC} key={key} sha256={digest} bytes={len(text.encode())}\n"


def parse_entry(key: str, data: bytes) -> tuple[dict | None, str]:
    """(the record, "") for a sound entry of ``key``; (None, what is wrong) otherwise."""
    try:
        content = data.decode("utf-8")
    except UnicodeDecodeError:
        return None, "not UTF-8 text"
    header, sep, text = content.partition("\n")
    if not sep or not header.startswith(_MAGIC):
        return None, "no edgec cache header"
    if f" key={key} " not in header:
        return None, "written for another key"
    if header + "\n" != _header(key, text):
        return None, "checksum or length does not match (truncated or edited)"
    try:
        record = json.loads(text)
    except ValueError:
        return None, "not a JSON record"
    if not isinstance(record, dict) or not {"params", "body", "math"} <= set(record):
        return None, "not a kernel record"
    return record, ""


class KernelCache:
    """Kernel records by key (plain JSON data): in memory for one build, on disk across
    builds. Counts hits, misses and discarded (corrupt) entries; a corrupt entry is reported,
    deleted and rebuilt."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.memory: dict[str, dict] = {}
        self.hits = 0
        self.misses = 0
        self.discarded: list[str] = []

    def get(self, key: str) -> dict | None:
        record = self.memory.get(key)
        if record is None:
            record = self._read(key)
            if record is not None:
                self.memory[key] = record
        if record is None:
            self.misses += 1
        else:
            self.hits += 1
        return record

    def _read(self, key: str) -> dict | None:
        path = self.directory / f"{key}.json"
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as e:
            log.warning("kernel cache: cannot read %s (%s); rebuilding it", path, e.strerror)
            return None
        record, problem = parse_entry(key, data)
        if record is None:
            self.discarded.append(path.name)
            log.warning("kernel cache: entry %s is bad (%s); discarded and rebuilt", path,
                        problem)
            try:
                path.unlink()
            except OSError:
                pass
        return record

    def put(self, key: str, record: dict) -> None:
        self.memory[key] = record
        text = json.dumps(record, sort_keys=True)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            # Write then rename: parallel builds never read half a file.
            fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(_header(key, text) + text)
            os.replace(tmp, self.directory / f"{key}.json")
        except OSError as e:
            log.warning("kernel cache not written (%s): %s", self.directory, e)
