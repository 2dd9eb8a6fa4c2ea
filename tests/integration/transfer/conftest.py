"""The emulator fixtures and a real client session against it."""

from __future__ import annotations

import pytest

from irods_provider.client import BasicAuth, IrodsSession, RetryPolicy
from irods_provider.testing.pytest_plugin import irods_emulator, irods_emulator_server  # noqa: F401

HOME = "/tempZone/home/rods"


@pytest.fixture
def session(irods_emulator):  # noqa: F811
    with IrodsSession(
        irods_emulator.base_url,
        auth=BasicAuth("rods", "rods-emulator"),
        retry=RetryPolicy(initial_backoff=0.0, max_backoff=0.0),
    ) as s:
        yield s
