"""pytest configuration shared by every test: import paths and markers."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a few seconds; deselect with -m 'not slow'")
    config.addinivalue_line("markers", "zephyr: builds or runs Zephyr applications (needs a Zephyr "
                                       "tree; deselect with -m 'not zephyr')")
