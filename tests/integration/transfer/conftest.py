"""The emulator fixtures and a real client session against it; for the checksum-scheme tests, the scheme
cache on and the rehash events."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from irods_provider.client import BasicAuth, IrodsSession, RetryPolicy
from irods_provider.testing.pytest_plugin import irods_emulator, irods_emulator_server  # noqa: F401

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from checksum_schemes import rehash_events, scheme_cache_on

HOME = "/tempZone/home/rods"


@pytest.fixture
def session(irods_emulator):  # noqa: F811
    with IrodsSession(
        irods_emulator.base_url,
        auth=BasicAuth("rods", "rods-emulator"),
        retry=RetryPolicy(initial_backoff=0.0, max_backoff=0.0),
    ) as s:
        yield s


@pytest.fixture
def kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The on-disk scheme cache on, in this test's own state directory: its folder of records."""
    return scheme_cache_on(monkeypatch, tmp_path)


@pytest.fixture
def rehashed() -> Iterator[list[str]]:
    """The ``checksum_rehash`` events' schemes (a source hashed again in the scheme the server answered)."""
    with rehash_events() as seen:
        yield seen
