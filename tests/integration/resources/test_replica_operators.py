"""IrodsReplicateOperator and IrodsTrimOperator against the preset-resources emulator.

Every bad-input test also checks that the zone is exactly as before (the replica layout of every object).
"""

from __future__ import annotations

import pytest

from irods_provider.exceptions import (
    IrodsNotFoundError,
    IrodsPermissionError,
    IrodsResponseError,
    IrodsUsageError,
)
from irods_provider.operators.irods import IrodsReplicateOperator, IrodsTrimOperator
from irods_provider.operators.replicas import IrodsReplicateOperator as FromModule

HOME = "/tempZone/home/rods"
DATA = f"{HOME}/data"
OBJECTS = (f"{DATA}/a.csv", f"{DATA}/b.csv", f"{DATA}/sub/c.csv")


def layout(session) -> dict[str, list[str]]:
    """Every object under DATA → ``hierarchy:status`` of each replica."""
    return {
        path: [f"{r.hierarchy}:{r.status}" for r in session.data_objects.replicas(path)] for path in OBJECTS
    }


@pytest.fixture
def data(session) -> object:
    session.collections.create(f"{DATA}/sub", intermediates=True)
    for path in OBJECTS:
        session.data_objects.write(path, path.encode())
    return session


def replicate(**kwargs):
    return IrodsReplicateOperator(task_id="rep", **kwargs).execute({})


def trim(**kwargs):
    return IrodsTrimOperator(task_id="trim", **kwargs).execute({})


def test_replicate_a_collection_then_rerun_is_a_no_op(zone, data) -> None:
    assert FromModule is IrodsReplicateOperator
    result = replicate(path=DATA, resource="archiveResc")
    assert result == {
        "path": DATA,
        "resource": "archiveResc",
        "replicated": list(OBJECTS),
        "already_good": [],
        "replicated_count": 3,
        "already_good_count": 0,
        "truncated": False,
    }
    assert all(v == ["demoResc:1", "archiveResc:1"] for v in layout(data).values())
    again = replicate(path=DATA, resource="archiveResc")
    assert again["replicated"] == []
    assert again["already_good"] == list(OBJECTS)


def test_replicate_one_object_to_the_replication_resource_and_refresh_stale(zone, data) -> None:
    path = OBJECTS[0]
    result = replicate(path=path, resource="replResc", source_replica_number="0")
    assert result["replicated"] == [path]
    data.data_objects.write(path, b"changed", resource="demoResc")
    assert layout(data)[path] == ["demoResc:1", "replResc;replResc_ufs0:0", "replResc;replResc_ufs1:0"]
    assert replicate(path=path, resource="replResc", source_resource="demoResc")["replicated"] == [path]
    assert layout(data)[path] == ["demoResc:1", "replResc;replResc_ufs0:1", "replResc;replResc_ufs1:1"]
    assert data.data_objects.read(path, replica_number=2) == b"changed"


def test_replicate_non_recursive_and_templated(zone, data) -> None:
    op = IrodsReplicateOperator(
        task_id="rep", path="{{ params.dir }}", resource="{{ params.tier }}", recursive=False
    )
    op.render_template_fields(context={"params": {"dir": DATA, "tier": "archiveResc"}})
    assert (op.path, op.resource) == (DATA, "archiveResc")
    assert op.execute({})["replicated"] == [OBJECTS[0], OBJECTS[1]]
    assert layout(data)[OBJECTS[2]] == ["demoResc:1"]


def test_replicate_bad_input_changes_nothing(zone, data) -> None:
    before = layout(data)
    with pytest.raises(IrodsNotFoundError) as unknown:
        replicate(path=DATA, resource="noSuchResc")
    assert unknown.value.irods_name == "SYS_RESC_DOES_NOT_EXIST"
    assert (unknown.value.path, unknown.value.operation) == (DATA, "data_objects.replicate")
    with pytest.raises(IrodsResponseError) as child:
        replicate(path=OBJECTS[0], resource="replResc_ufs0")
    assert child.value.irods_name == "DIRECT_CHILD_ACCESS"  # the server's refusal
    with pytest.raises(IrodsNotFoundError):
        replicate(path=f"{HOME}/missing", resource="archiveResc")
    for bad in (
        {"resource": ""},
        {"resource": "archiveResc", "source_resource": "demoResc", "source_replica_number": 0},
        {"resource": "archiveResc", "source_replica_number": "one"},
        {"resource": "archiveResc", "source_replica_number": -1},
    ):
        with pytest.raises(IrodsUsageError):
            replicate(path=DATA, **bad)
    with pytest.raises(IrodsUsageError):
        replicate(path="relative/path", resource="archiveResc")
    assert layout(data) == before


def test_trim_by_resource_and_by_number(zone, data) -> None:
    replicate(path=DATA, resource="archiveResc")
    replicate(path=OBJECTS[0], resource="replResc")
    result = trim(path=DATA, resource="demoResc")
    assert [(t["path"], t["replica_number"]) for t in result["trimmed"]] == [(p, 0) for p in OBJECTS]
    assert result["untouched"] == []
    assert layout(data)[OBJECTS[1]] == ["archiveResc:1"]
    # A replication resource: every replica below it goes.
    result = trim(path=OBJECTS[0], resource="replResc")
    assert [t["hierarchy"] for t in result["trimmed"]] == ["replResc;replResc_ufs0", "replResc;replResc_ufs1"]
    assert layout(data)[OBJECTS[0]] == ["archiveResc:1"]
    # By number: objects without that replica are untouched.
    replicate(path=OBJECTS[2], resource="replResc")
    result = trim(path=DATA, replica_number="2")
    assert [t["path"] for t in result["trimmed"]] == [OBJECTS[2]]
    assert result["untouched"] == [OBJECTS[0], OBJECTS[1]]
    assert layout(data)[OBJECTS[2]] == ["archiveResc:1", "replResc;replResc_ufs1:1"]  # replica 3 stays


def test_trim_refuses_to_drop_the_last_good_replica_anywhere(zone, data) -> None:
    replicate(path=OBJECTS[0], resource="archiveResc")
    # OBJECTS[1] and [2] only live on demoResc: the whole trim is refused before any change.
    before = layout(data)
    with pytest.raises(IrodsUsageError, match="would keep no good replica") as refused:
        trim(path=DATA, resource="demoResc")
    assert OBJECTS[1] in str(refused.value)
    assert OBJECTS[2] in str(refused.value)
    # A stale copy elsewhere does not count as a good one.
    data.data_objects.write(OBJECTS[0], b"new", resource="archiveResc")
    with pytest.raises(IrodsUsageError):
        trim(path=OBJECTS[0], resource="archiveResc")
    for bad in ({}, {"resource": "archiveResc", "replica_number": 0}, {"replica_number": "x"}):
        with pytest.raises(IrodsUsageError):
            trim(path=DATA, **bad)
    with pytest.raises(IrodsNotFoundError) as unknown:
        trim(path=DATA, resource="noSuchResc")
    assert unknown.value.irods_name == "SYS_RESC_DOES_NOT_EXIST"
    assert unknown.value.path == DATA
    after = layout(data)
    after[OBJECTS[0]] = before[OBJECTS[0]]  # only the write above changed (status flip), nothing was trimmed
    assert after == before
    assert [r.number for r in data.data_objects.replicas(OBJECTS[0])] == [0, 1]


def test_admin_mode_on_another_users_objects(zone, session) -> None:
    zone.add_user("alice", "alice")
    from irods_provider.client import BasicAuth, IrodsSession

    with IrodsSession(zone.base_url, auth=BasicAuth("alice", "alice")) as alice:
        alice.data_objects.write("/tempZone/home/alice/own.bin", b"alice's")
    path = "/tempZone/home/alice/own.bin"
    with pytest.raises(IrodsPermissionError):
        replicate(path=path, resource="archiveResc")
    assert replicate(path=path, resource="archiveResc", admin=True)["replicated"] == [path]
    with pytest.raises(IrodsPermissionError):
        trim(path=path, replica_number=0)
    assert [t["replica_number"] for t in trim(path=path, replica_number=0, admin=True)["trimmed"]] == [0]
    assert [r.resource for r in session.data_objects.replicas(path)] == ["archiveResc"]


def test_list_operator_reports_replicas(zone, data) -> None:
    from irods_provider.operators.irods import IrodsListCollectionOperator

    replicate(path=OBJECTS[0], resource="replResc")
    data.data_objects.write(OBJECTS[0], b"fresh", resource="demoResc")
    listed = IrodsListCollectionOperator(
        task_id="ls", path=DATA, kind="data_objects", with_replicas=True
    ).execute({})
    by_path = {e["path"]: e for e in listed["entries"]}
    assert [
        (r["number"], r["resource"], r["status"], r["size"]) for r in by_path[OBJECTS[0]]["replicas"]
    ] == [
        (0, "demoResc", "1", 5),
        (1, "replResc_ufs0", "0", len(OBJECTS[0])),
        (2, "replResc_ufs1", "0", len(OBJECTS[0])),
    ]
    assert by_path[OBJECTS[0]]["size"] == 5
    assert [r["hierarchy"] for r in by_path[OBJECTS[1]]["replicas"]] == ["demoResc"]
    plain = IrodsListCollectionOperator(task_id="ls", path=DATA, kind="data_objects", with_stat=True).execute(
        {}
    )
    assert all("replicas" not in e for e in plain["entries"])
