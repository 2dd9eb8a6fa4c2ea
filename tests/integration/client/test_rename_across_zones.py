"""A rename (client, IrodsMoveOperator) from one zone of a federation into another: refused before anything is
sent or created, naming both zones.

iRODS renames within one zone only: rsDataObjRename answers SYS_CROSS_ZONE_MV_NOT_SUPPORTED
(irods 4.3.4 server/api/src/rsDataObjRename.cpp:365-366; a remote source is forwarded to its zone first,
:339-347). Sent anyway, the move failed after the operator had made the destination collection, and the
emulator of earlier releases even named that existing collection as missing (OBJ_PATH_DOES_NOT_EXIST,
raised as IrodsNotFoundError).
"""

from __future__ import annotations

from typing import Any

import pytest

from irods_provider.client import BasicAuth, IrodsSession
from irods_provider.exceptions import IrodsUsageError

REMOTE_HOME = "/otherZone/home/alice#tempZone"
LOCAL_HOME = "/tempZone/home/alice"


@pytest.fixture
def server(irods_emulator_variants: Any) -> Any:
    server = irods_emulator_variants(federated_zones=["otherZone"], zone_hash_schemes={"otherZone": "md5"})
    server.add_user("alice", "alice-pw-123")
    return server


@pytest.mark.parametrize(
    ("src", "dst"), [(LOCAL_HOME, REMOTE_HOME), (REMOTE_HOME, LOCAL_HOME)], ids=["out", "in"]
)
def test_client_renames_across_zones_are_refused_before_sending(server: Any, src: str, dst: str) -> None:
    with IrodsSession(server.base_url, auth=BasicAuth("alice", "alice-pw-123")) as session:
        session.collections.create(f"{src}/run 1")
        session.data_objects.write(f"{src}/run 1/a#1.bin", b"a")
        with pytest.raises(IrodsUsageError, match="SYS_CROSS_ZONE_MV_NOT_SUPPORTED") as raised:
            session.data_objects.rename(f"{src}/run 1/a#1.bin", f"{dst}/a#1.bin")
        assert raised.value.path == f"{src}/run 1/a#1.bin"
        with pytest.raises(IrodsUsageError, match="into zone"):
            session.collections.rename(f"{src}/run 1", f"{dst}/run 1")
        assert session.data_objects.read(f"{src}/run 1/a#1.bin") == b"a"
        assert not session.collections.exists(f"{dst}/run 1")


def test_move_operator_into_another_zone_changes_nothing(
    server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from irods_provider.operators.irods import IrodsMoveOperator

    monkeypatch.setenv("AIRFLOW_CONN_IRODS_DEFAULT", server.airflow_connection_uri("alice", "alice-pw-123"))
    with IrodsSession(server.base_url, auth=BasicAuth("alice", "alice-pw-123")) as session:
        session.data_objects.write(f"{LOCAL_HOME}/out é.csv", b"1,2")
        op = IrodsMoveOperator(
            task_id="mv", source_path=f"{LOCAL_HOME}/out é.csv", destination_path=f"{REMOTE_HOME}/in/"
        )
        with pytest.raises(IrodsUsageError, match="zone 'tempZone' into zone 'otherZone'"):
            op.execute({})
        assert not session.collections.exists(f"{REMOTE_HOME}/in")  # no destination collection made for it
        assert session.data_objects.read(f"{LOCAL_HOME}/out é.csv") == b"1,2"
