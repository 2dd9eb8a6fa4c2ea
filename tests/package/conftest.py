"""Package tests: skipped unless ``IRODS_WHEEL_TEST=1`` (run them with ``make wheel-test``).

They build the wheel and the sdist with ``uv build``, install the wheel (not the source tree) into a fresh
virtualenv with the dependency versions of ``uv.lock`` and check it from there (20-40 s in all, most of it
Airflow's ProvidersManager start-up in the new environment).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

WHEEL_TEST = os.environ.get("IRODS_WHEEL_TEST") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/package skipped unless IRODS_WHEEL_TEST=1."""
    if WHEEL_TEST:
        return
    skip = pytest.mark.skip(reason="package tests: set IRODS_WHEEL_TEST=1 (make wheel-test)")
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)
