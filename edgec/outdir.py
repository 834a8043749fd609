"""Output folders that never mislead: files are written into a staging folder and moved into
place only when the whole build succeeded; a manifest lists what edgec wrote, so a folder
holding another model's project is refused (or, with ``--force``, replaced) and files edgec
did not write are never touched."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from edgec.errors import EdgecError

MANIFEST = ".edgec-files.json"


def _read_manifest(out_dir: Path) -> dict | None:
    path = out_dir / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        if isinstance(data, dict) and isinstance(data.get("files"), list):
            return data
    except (OSError, ValueError, UnicodeDecodeError):
        pass
    raise EdgecError(f"'{path}' is not an edgec manifest", "remove it or choose another -o")


def _unmanifested_project(out_dir: Path) -> str | None:
    """The model of an edgec project written before manifests existed, if any."""
    report = out_dir / "report.json"
    try:
        data = json.loads(report.read_text())
        return str(data.get("name") or data.get("model") or "?") if isinstance(data, dict) \
            else None
    except (OSError, ValueError, UnicodeDecodeError):
        return None


class OutputFolder:
    """``out_dir`` as one build sees it: checked before work, filled atomically after."""

    def __init__(self, out_dir: Path, name: str, force: bool = False):
        self.out_dir, self.name, self.force = Path(out_dir), name, force
        self.old = _read_manifest(self.out_dir) or {"name": None, "files": []}
        other = self.old["name"] if self.old["files"] else _unmanifested_project(self.out_dir)
        if other not in (None, name) and not force:
            raise EdgecError(f"'{self.out_dir}' holds the edgec project of model '{other}'",
                             "choose another -o folder, or pass --force to replace it")

    @contextmanager
    def staging(self):
        """A fresh folder beside the output files; removed whatever happens."""
        stage = Path(tempfile.mkdtemp(prefix=".edgec-staging-", dir=self.out_dir))
        try:
            yield stage
        finally:
            shutil.rmtree(stage, ignore_errors=True)

    def commit(self, stage: Path, names: list[str]) -> list[Path]:
        """Move the staged files into place; drop files of the previous build that this one
        did not write. Refuses to overwrite a file edgec did not write."""
        ours = set(self.old["files"])
        for n in names:
            if (self.out_dir / n).exists() and n not in ours and not self.force \
                    and _unmanifested_project(self.out_dir) is None:
                raise EdgecError(f"'{self.out_dir / n}' exists and was not written by edgec",
                                 "choose another -o folder, or pass --force to replace it")
        for stale in ours - set(names):
            if "/" not in stale and stale != MANIFEST:
                (self.out_dir / stale).unlink(missing_ok=True)
        for n in names:
            os.replace(stage / n, self.out_dir / n)
        manifest = {"name": self.name, "files": sorted(names)}
        (self.out_dir / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
        return [self.out_dir / n for n in names]
