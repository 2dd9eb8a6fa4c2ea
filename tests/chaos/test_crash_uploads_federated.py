"""Crash consistency under ``kill -9`` of uploads into a federated zone (``otherZone``), whose temporaries'
records (handles, lease, resume state) live on journal objects in the local home (transfer/_journal): see
``_crash_harness.py`` for the invariants, checked with each temporary's journal read as its own records, and
no journal left once the retry published (but an unrecorded orphan's)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from _crash_harness import CHAOS_TEST_SECONDS, FEDERATED_CASES, REMOTE, kill_point_test

from irods_provider.testing import EmulatorServer

pytestmark = [pytest.mark.timeout(CHAOS_TEST_SECONDS), pytest.mark.slow]


@pytest.fixture
def irods_emulator(irods_emulator_variants: Callable[..., EmulatorServer]) -> EmulatorServer:
    """The emulator federated with ``otherZone`` (fresh zones), in place of the plain one."""
    return irods_emulator_variants(federated_zones=[REMOTE])


@pytest.fixture(scope="module")
def irods_emulator_server(irods_emulator_variants: Callable[..., EmulatorServer]) -> EmulatorServer:
    """The federated emulator in place of the session's plain one: the one this module's zygote knows."""
    return irods_emulator_variants(federated_zones=[REMOTE])


test_kill9_then_retry_into_a_federated_zone_keeps_every_invariant = kill_point_test(FEDERATED_CASES)
