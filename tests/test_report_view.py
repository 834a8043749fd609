"""report.html and memory_plan.svg beside every report.json: well-formed, self-contained,
showing the totals; the HTML loads in headless Chromium with no console errors (a screenshot
is kept as a test artifact in the test's tmp folder and under EDGEC_TEST_ARTIFACTS)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from edgec.cli import main

ROOT = Path(__file__).resolve().parents[1]
SVG = "{http://www.w3.org/2000/svg}"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "o"
    assert main(["-q", "build", str(ROOT / "examples" / "digits_int8.tflite"), "-o", str(out)]) == 0
    return out


def test_svg_has_one_bar_per_buffer_and_the_peak(built):
    report = json.loads((built / "report.json").read_text())
    root = ET.parse(built / "memory_plan.svg").getroot()
    bars = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert bars and all(r.find(f"{SVG}title").text.count(" B at ") == 1 for r in bars)
    texts = "".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert f"arena {report['totals']['arena_bytes']} B" in texts


def test_html_is_self_contained_and_shows_totals(built):
    html = (built / "report.html").read_text()
    report = json.loads((built / "report.json").read_text())
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html and "<script" not in html
    assert f"{report['totals']['arena_bytes']:,} B" in html
    assert f"{report['totals']['flash_bytes']:,} B" in html and "<svg" in html


@pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (apt-get install chromium)")
def test_html_in_headless_chromium(built, tmp_path):
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--no-first-run",
             f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0"]
    url = (built / "report.html").as_uri()
    dom = subprocess.run(flags + ["--dump-dom", url], capture_output=True, text=True,
                         timeout=120)
    assert dom.returncode == 0, dom.stderr[-1000:]
    report = json.loads((built / "report.json").read_text())
    assert f"{report['totals']['arena_bytes']:,} B" in dom.stdout and 'id="totals"' in dom.stdout
    assert "CONSOLE" not in dom.stderr and "Uncaught" not in dom.stderr
    shot = tmp_path / "report.png"
    subprocess.run(flags + [f"--screenshot={shot}", "--window-size=1000,1400", url],
                   capture_output=True, timeout=120)
    assert shot.is_file() and shot.read_bytes()[:4] == b"\x89PNG"
    keep = os.environ.get("EDGEC_TEST_ARTIFACTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / "report.png")
