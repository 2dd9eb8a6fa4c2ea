"""Fixtures for the emulator tests: a reset emulator and a raw client with a rodsuser."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from emulator_http import Api

from irods_provider.testing import EmulatorServer


@pytest.fixture
def api(irods_emulator: EmulatorServer) -> Iterator[Api]:
    """A raw client against a freshly reset emulator, with rodsuser ``alice`` (password ``alice``)."""
    irods_emulator.add_user("alice", "alice")
    with httpx2.Client(timeout=10) as http:
        yield Api(irods_emulator, http)
