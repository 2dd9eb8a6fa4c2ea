"""A ticket on a path of a federated zone: refused before anything is sent, naming the zone.

The HTTP API's ``tickets`` create calls ``create_ticket`` (endpoints/tickets/src/main.cpp:223 at 0.6.0), which
reaches rsTicketAdmin on the local server; it asks the LOCAL catalog (getAndConnRcatHost with no zone hint,
irods 4.3.4 server/api/src/rsTicketAdmin.cpp:14), where chlModTicket finds neither object nor collection and
answers CAT_UNKNOWN_COLLECTION "cmlCheckDir failed" (plugins/database/src/db_plugin.cpp:14547-14562 at 4.3.4):
a "not found" (IrodsNotFoundError) for an object that is there.
"""

from __future__ import annotations

import pytest

from irods_provider.client import AsyncIrodsSession, BasicAuth, IrodsSession
from irods_provider.exceptions import IrodsUsageError

REMOTE_HOME = "/otherZone/home/alice#tempZone"
LOCAL_HOME = "/tempZone/home/alice"


@pytest.fixture
def server(irods_emulator_variants):
    server = irods_emulator_variants(federated_zones=["otherZone"], zone_hash_schemes={"otherZone": "md5"})
    server.add_user("alice", "alice-pw-123")
    return server


def test_ticket_on_a_remote_object_is_refused_by_zone(server) -> None:
    with IrodsSession(server.base_url, auth=BasicAuth("alice", "alice-pw-123")) as session:
        path = f"{REMOTE_HOME}/share #1.txt"
        session.data_objects.write(path, b"shared")
        with pytest.raises(IrodsUsageError, match="zone 'otherZone'") as raised:
            session.tickets.create(path)
        assert raised.value.path == path
        assert raised.value.operation == "tickets.create"
        assert server.model.tickets == {}  # nothing was sent
        # the local zone is unchanged: a ticket on a local object still works
        session.data_objects.write(f"{LOCAL_HOME}/share.txt", b"shared")
        assert session.tickets.create(f"{LOCAL_HOME}/share.txt")


async def test_async_ticket_on_a_remote_collection_is_refused_by_zone(server) -> None:
    async with AsyncIrodsSession(server.base_url, auth=BasicAuth("alice", "alice-pw-123")) as session:
        with pytest.raises(IrodsUsageError, match="zone 'otherZone'"):
            await session.tickets.create(REMOTE_HOME)
