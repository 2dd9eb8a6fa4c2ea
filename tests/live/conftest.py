"""Live-deployment tests: skipped unless ``IRODS_LIVE_TESTS=1`` (run them with ``make live-test``).

Each module starts one real deployment (``scripts/_live``) for all its tests and stops it afterwards,
checking that no process is left behind. Needs root (or PostgreSQL and Redis already installed).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

LIVE = os.environ.get("IRODS_LIVE_TESTS") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/live skipped unless IRODS_LIVE_TESTS=1."""
    if LIVE:
        return
    skip = pytest.mark.skip(reason="live deployment tests: set IRODS_LIVE_TESTS=1 (make live-test)")
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)
