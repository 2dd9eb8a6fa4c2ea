"""``clock_offset_seconds``: the emulated server's clock drifts from its clients' (no NTP on the server).

Every time the catalog stamps is the server's own (``time(NULL)`` in ``getNowStr``,
lib/core/src/rcMisc.cpp:1876-1882, and a touch without a time, plugins/api/src/touch.cpp:255-271, at
irods 4.3.4), so a client's clock and the mtimes it reads differ by the drift.
"""

from __future__ import annotations

import time

import pytest

from irods_provider.client import BasicAuth, IrodsSession, TicketType
from irods_provider.exceptions import IrodsResponseError
from irods_provider.testing import EmulatorServer

HOME = "/tempZone/home/rods"


def _drift(stamp: int | None) -> float:
    """How far a catalog stamp is from this machine's clock now (seconds)."""
    assert stamp is not None
    return stamp - time.time()


def test_catalog_stamps_follow_the_skewed_server_clock(irods_emulator: EmulatorServer) -> None:
    with IrodsSession(irods_emulator.base_url, auth=BasicAuth("rods", "rods-emulator")) as session:
        session.data_objects.write(f"{HOME}/before", b"x")
        assert abs(_drift(session.data_objects.stat(f"{HOME}/before").modified_at)) < 120  # none by default

        irods_emulator.set_limits(clock_offset_seconds=-3600.0)  # a run-time limit: a running zone drifts
        session.data_objects.write(f"{HOME}/behind", b"x")
        session.collections.create(f"{HOME}/coll")
        session.data_objects.touch(f"{HOME}/before", no_create=True)
        for path, stat in (
            ("behind", session.data_objects.stat),
            ("coll", session.collections.stat),
            ("before", session.data_objects.stat),
        ):
            assert -3720 < _drift(stat(f"{HOME}/{path}").modified_at) < -3480, path

        irods_emulator.set_limits(clock_offset_seconds=7200.0)
        session.data_objects.write(f"{HOME}/ahead", b"x")
        assert 7080 < _drift(session.data_objects.stat(f"{HOME}/ahead").modified_at) < 7320


def test_ticket_expiry_is_judged_by_the_server_clock(irods_emulator: EmulatorServer) -> None:
    # Set by the server's clock as it was, checked by its clock as it is: a server that jumped ahead past the
    # expiry refuses the ticket (CAT_TICKET_EXPIRED), whatever the client's clock says.
    irods_emulator.add_user("alice", "apw")
    with IrodsSession(irods_emulator.base_url, auth=BasicAuth("rods", "rods-emulator")) as session:
        session.data_objects.write(f"{HOME}/shared", b"ticketed")
        ticket = session.tickets.create(f"{HOME}/shared", ticket_type=TicketType.READ, expires_in=600)
    with IrodsSession(irods_emulator.base_url, auth=BasicAuth("alice", "apw")) as alice:
        assert alice.data_objects.read(f"{HOME}/shared", ticket=ticket) == b"ticketed"
        irods_emulator.set_limits(clock_offset_seconds=1200.0)
        with pytest.raises(IrodsResponseError) as refused:
            alice.data_objects.read(f"{HOME}/shared", ticket=ticket)
        assert refused.value.irods_name == "CAT_TICKET_EXPIRED", refused.value
