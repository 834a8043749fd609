"""A normal install builds models: the wheel carries templates/, targets/ and zephyr_app/.

The wheel is built from this tree and installed (not editable) into a fresh venv that sees the
machine's site-packages only for the heavy dependencies (tvm, numpy, ...); edgec itself must come
from the wheel, so every command runs from an empty working directory without PYTHONPATH.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "digits_int8.tflite"

pytestmark = pytest.mark.slow


def _run(args, cwd, timeout=600):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "EDGEC_CACHE")}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("src")
    # Build from a copy so the tree gets no build/ or egg-info folders.
    files = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-co", "--exclude-standard"],
                           check=True, capture_output=True, text=True).stdout.split("\n")
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            dst = build / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(src.read_bytes())
    result = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                   "-w", str(out), str(build)], cwd=out)
    assert result.returncode == 0, result.stderr[-2000:]
    return next(out.glob("edgec-*.whl"))


def test_wheel_holds_the_data_folders(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for folder in ("templates", "targets", "zephyr_app"):
        tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files", folder], check=True,
                                 capture_output=True, text=True).stdout.split()
        assert tracked
        for name in tracked:
            assert f"edgec/_data/{name}" in names, name
    assert "edgec/py.typed" in names


def test_installed_wheel_builds_and_verifies(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    result = _run([str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    work = tmp_path / "work"
    work.mkdir()
    where = _run([str(python), "-c", "import edgec; print(edgec.__file__)"], work)
    assert where.stdout.strip().startswith(str(venv)), where.stdout
    edgec = str(venv / "bin" / "edgec")
    targets = _run([edgec, "targets"], work)
    assert targets.returncode == 0 and "host" in targets.stdout and "mps2_an386" in targets.stdout
    built = _run([edgec, "build", str(EXAMPLE), "--target", "host", "-o", "digits"], work)
    assert built.returncode == 0, built.stderr[-2000:]
    assert (work / "digits" / "digits_int8.c").is_file()
    verified = _run([edgec, "verify", str(EXAMPLE), "--target", "host"], work)
    assert verified.returncode == 0, verified.stderr[-2000:]
    assert "bit-exact" in verified.stdout
    # A board build renders the Zephyr application from the packaged zephyr_app/.
    board = _run([edgec, "build", str(EXAMPLE), "--target", "mps2_an386", "-o", "app"], work)
    assert board.returncode == 0, board.stderr[-2000:]
    assert (work / "app" / "src" / "main.c").is_file()
