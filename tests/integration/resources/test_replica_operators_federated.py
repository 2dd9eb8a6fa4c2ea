"""IrodsReplicateOperator and IrodsTrimOperator on a federated path: the resource is looked up in the catalog
of the zone owning the path (GenQuery ``zone`` hint), since each zone of a federation has its own resources
and an object of zone B is replicated onto zone B's resources."""

from __future__ import annotations

import pytest

from irods_provider.client import BasicAuth, IrodsSession
from irods_provider.exceptions import IrodsNotFoundError
from irods_provider.operators.replicas import IrodsReplicateOperator, IrodsTrimOperator

REMOTE = "otherZone"
REMOTE_DATA = f"/{REMOTE}/home/rods#tempZone/data"
OBJECTS = (f"{REMOTE_DATA}/a.csv", f"{REMOTE_DATA}/b.csv")


@pytest.fixture
def fed(irods_emulator_variants, monkeypatch: pytest.MonkeyPatch):
    """``otherZone`` federated, with ``remoteResc`` only there and ``archiveResc`` only in tempZone; rods owns
    two objects in its remote home. Yields a session as rods."""
    server = irods_emulator_variants(
        federated_zones=[REMOTE], resources=("archiveResc",), zone_resources={REMOTE: ("remoteResc",)}
    )
    uri = f"irods://rods:rods-emulator@127.0.0.1:{server.port}/http?zone=tempZone"
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_DEFAULT", uri)
    with IrodsSession(server.base_url, auth=BasicAuth("rods", "rods-emulator")) as session:
        session.collections.create(REMOTE_DATA)
        for path in OBJECTS:
            session.data_objects.write(path, path.encode())
        yield session


def layout(session) -> dict[str, list[str]]:
    return {
        path: [f"{r.hierarchy}:{r.status}" for r in session.data_objects.replicas(path)] for path in OBJECTS
    }


def test_replicates_to_a_resource_only_the_remote_zone_has(fed) -> None:
    result = IrodsReplicateOperator(task_id="rep", path=REMOTE_DATA, resource="remoteResc").execute({})
    assert result["replicated"] == list(OBJECTS)
    assert all(v == ["demoResc:1", "remoteResc:1"] for v in layout(fed).values())
    trimmed = IrodsTrimOperator(task_id="trim", path=REMOTE_DATA, resource="remoteResc").execute({})
    assert [t["hierarchy"] for t in trimmed["trimmed"]] == ["remoteResc", "remoteResc"]
    assert all(v == ["demoResc:1"] for v in layout(fed).values())


def test_refuses_a_resource_only_the_local_zone_has(fed) -> None:
    before = layout(fed)
    with pytest.raises(IrodsNotFoundError, match="does not exist in zone 'otherZone'") as caught:
        IrodsReplicateOperator(task_id="rep", path=REMOTE_DATA, resource="archiveResc").execute({})
    assert caught.value.irods_code == -78000  # SYS_RESC_DOES_NOT_EXIST
    assert caught.value.path == REMOTE_DATA
    assert layout(fed) == before
