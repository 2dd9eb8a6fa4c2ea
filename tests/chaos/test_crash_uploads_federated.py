"""Crash consistency under ``kill -9`` of uploads into a federated zone (``otherZone``), whose temporaries'
records (handles, lease, resume state) live on journal objects in the local home (transfer/_journal): see
``_crash_harness.py`` for the invariants, checked with each temporary's journal read as its own records, and
no journal left once the retry published (but an unrecorded orphan's)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _crash_harness import (
    FEDERATED_CASES,
    REMOTE,
    Case,
    KillSwitch,
    Zygote,
    run_kill_points,
    switch,
)

from irods_provider.testing import EmulatorServer

__all__ = ["switch"]

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]


@pytest.fixture
def irods_emulator(irods_emulator_variants: Callable[..., EmulatorServer]) -> EmulatorServer:
    """The emulator federated with ``otherZone`` (fresh zones), in place of the plain one."""
    return irods_emulator_variants(federated_zones=[REMOTE])


@pytest.fixture(scope="module")
def zygote(irods_emulator_variants: Callable[..., EmulatorServer]) -> Iterator[Zygote]:
    server = irods_emulator_variants(federated_zones=[REMOTE])
    env = dict(os.environ, AIRFLOW_CONN_IRODS_DEFAULT=server.airflow_connection_uri())
    z = Zygote(env)
    try:
        yield z
    finally:
        z.close()


@pytest.mark.parametrize("case", FEDERATED_CASES, ids=[c.id for c in FEDERATED_CASES])
def test_kill9_then_retry_into_a_federated_zone_keeps_every_invariant(
    case: Case,
    zygote: Zygote,
    switch: KillSwitch,
    irods_emulator: Any,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    run_kill_points(case, zygote, switch, irods_emulator, tmp_path, request)
