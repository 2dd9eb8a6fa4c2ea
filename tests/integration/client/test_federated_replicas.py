"""Replicas of a data object in a federated zone: GenQuery asks the local catalog unless the ``zone`` hint
names the other zone (the server passes ``zone`` to ``rc_gen_query``: endpoints/query/src/main.cpp:237 at
0.7.0), so the hint is sent for a path of another zone."""

from __future__ import annotations

from irods_provider.client import BasicAuth, IrodsSession

REMOTE_HOME = "/otherZone/home/alice#tempZone"


def test_replicas_of_a_federated_data_object(irods_emulator_variants) -> None:
    server = irods_emulator_variants(federated_zones=["otherZone"])
    server.add_user("alice", "alice-pw-123")
    with IrodsSession(server.base_url, auth=BasicAuth("alice", "alice-pw-123")) as session:
        path = f"{REMOTE_HOME}/a b#c.txt"
        session.data_objects.write(path, b"fed")
        replicas = session.data_objects.replicas(path)
    assert [(r.number, r.size) for r in replicas] == [(0, 3)]
