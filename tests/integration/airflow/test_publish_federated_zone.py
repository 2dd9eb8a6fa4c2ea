"""IrodsPublishOperator into a federated zone: AVUs and ACLs there are refused before anything changes.

iRODS applies the atomic metadata and ACL calls the operator publishes with to the local zone's catalog, by
the remote object's id (irods 4.3.4 atomic_apply_metadata_operations.cpp:151-194, :445-558;
atomic_apply_acl_operations.cpp:170-203, :437-575), so they cannot give a remote object its AVUs or ACLs.
A move that renamed the collection first and failed at its AVUs left the dataset published without them and
its source gone, so the task's retry found nothing to publish.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from irods_provider.exceptions import IrodsUsageError
from irods_provider.testing import EmulatorServer

LOCAL, REMOTE = "tempZone", "otherZone"
REMOTE_HOME = f"/{REMOTE}/home/alice#{LOCAL}"


@pytest.fixture
def session(irods_emulator_variants: Callable[..., EmulatorServer], monkeypatch: pytest.MonkeyPatch) -> Any:
    """alice on a zone federated with an MD5 zone, with a two-object dataset in her remote home."""
    from irods_provider.hooks.irods import IrodsHook

    server = irods_emulator_variants(federated_zones=[REMOTE], zone_hash_schemes={REMOTE: "md5"})
    server.add_user("alice", "alice-pw-1")
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_DEFAULT", server.airflow_connection_uri("alice", "alice-pw-1"))
    with IrodsHook() as hook:
        s = hook.get_conn()
        s.collections.create(f"{REMOTE_HOME}/staging #1")
        for name in ("a.csv", "b é.csv"):
            s.data_objects.write(f"{REMOTE_HOME}/staging #1/{name}", name.encode())
        yield s


@pytest.mark.parametrize("mode", ["move", "copy"])
@pytest.mark.parametrize(
    "given", [{"metadata": {"dataset": "ds1"}}, {"permissions": {"rods": "read"}}], ids=["avus", "acls"]
)
def test_publish_with_avus_or_acls_into_a_remote_zone_changes_nothing(
    session: Any, mode: str, given: dict[str, Any]
) -> None:
    from irods_provider.operators.publish import IrodsPublishOperator

    source, destination = f"{REMOTE_HOME}/staging #1", f"{REMOTE_HOME}/public/ds1"
    before = sorted(e.path for e in session.collections.walk(REMOTE_HOME))
    op = IrodsPublishOperator(
        task_id="publish", source_path=source, destination_path=destination, mode=mode, **given
    )
    with pytest.raises(IrodsUsageError, match=f"zone '{REMOTE}'") as raised:
        op.execute({})
    assert raised.value.path == destination
    # nothing moved, copied or created: the source is whole, the destination (and its parent) absent
    assert sorted(e.path for e in session.collections.walk(REMOTE_HOME)) == before
    assert session.data_objects.read(f"{source}/a.csv") == b"a.csv"
    assert not session.collections.exists(f"{REMOTE_HOME}/public")


def test_publish_without_avus_or_acls_into_a_remote_zone_works(session: Any) -> None:
    from irods_provider.operators.publish import IrodsPublishOperator

    source, destination = f"{REMOTE_HOME}/staging #1", f"{REMOTE_HOME}/public/ds1"
    result = IrodsPublishOperator(
        task_id="publish", source_path=source, destination_path=destination, mode="move"
    ).execute({})
    assert result["published"] == 2
    assert session.data_objects.read(f"{destination}/b é.csv") == "b é.csv".encode()
