"""IrodsPublishOperator: a collection copied or moved into a target scope, every object with AVUs and ACLs."""

from __future__ import annotations

import pytest

from irods_provider.client import AVU, BasicAuth, EntryKind, IrodsSession
from irods_provider.exceptions import (
    IrodsAlreadyExistsError,
    IrodsNotACollectionError,
    IrodsNotFoundError,
    IrodsResponseError,
    IrodsUsageError,
)
from irods_provider.operators.publish import IrodsPublishOperator

HOME = "/tempZone/home/rods"
SRC = f"{HOME}/staging/ds1"
DST = f"{HOME}/project/published/ds1"
ALICE_PASSWORD = "Alice-Pw-7qZ!x93kd"  # as the airflow conftest's irods fixture creates alice
TREE = {"a.csv": b"1,2\n", "raw/b.bin": bytes(range(200)), "raw/deep/c.txt": b"see"}
META = {"dataset": "ds1", "license": ("CC-BY-4.0", "spdx")}
EXPECTED_AVUS = sorted([AVU("dataset", "ds1"), AVU("license", "CC-BY-4.0", "spdx")])


def run(op):
    return op.execute(context={})


def _alice(server) -> IrodsSession:
    return IrodsSession(server.base_url, auth=BasicAuth("alice", ALICE_PASSWORD))


@pytest.fixture
def src(irods, session) -> str:
    session.collections.create(f"{SRC}/raw/deep", intermediates=True)
    for rel, data in TREE.items():
        session.data_objects.write(f"{SRC}/{rel}", data)
    return SRC


def _avus(session, path: str) -> list[AVU]:
    return sorted(session.metadata.list(path, kind=EntryKind.DATA_OBJECT))


def _check_published(irods, session) -> None:
    with _alice(irods) as alice:
        for rel, data in TREE.items():
            path = f"{DST}/{rel}"
            assert _avus(session, path) == EXPECTED_AVUS
            assert alice.data_objects.read(path) == data
            perms = {p.name: p.perm for p in session.data_objects.stat(path).permissions}
            assert perms["alice"] == "read_object"
        for collection in (DST, f"{DST}/raw", f"{DST}/raw/deep"):
            assert {p.name: p.perm for p in session.collections.stat(collection).permissions}[
                "alice"
            ] == "read_object"
        # Read only: the server refuses to open it for writing (default builds say INVALID_HANDLE).
        with pytest.raises(IrodsResponseError):
            alice.data_objects.write(f"{DST}/a.csv", b"changed")
        assert session.data_objects.read(f"{DST}/a.csv") == TREE["a.csv"]


def test_copy_publishes_every_object_and_keeps_the_source(irods, session, src) -> None:
    result = run(
        IrodsPublishOperator(
            task_id="p",
            source_path=src,
            destination_path=DST,
            metadata=META,
            permissions={"alice": "read_object"},
        )
    )
    assert (result["mode"], result["published"], result["collections"], result["transferred"]) == (
        "copy",
        3,
        3,
        3,
    )
    assert sorted(f["destination"] for f in result["files"]) == sorted(f"{DST}/{r}" for r in TREE)
    _check_published(irods, session)
    for rel, data in TREE.items():  # the source stays, without the published AVUs
        assert session.data_objects.read(f"{SRC}/{rel}") == data
        assert _avus(session, f"{SRC}/{rel}") == []
    # A re-run skips what is there and does not add the AVUs twice.
    again = run(
        IrodsPublishOperator(
            task_id="p",
            source_path=src,
            destination_path=DST,
            metadata=META,
            permissions={"alice": "read"},
            skip="checksum",
        )
    )
    assert (again["transferred"], again["skipped"], again["published"]) == (0, 3, 3)
    _check_published(irods, session)


def test_move_renames_the_collection_once(irods, session, src) -> None:
    result = run(
        IrodsPublishOperator(
            task_id="p",
            source_path=src,
            destination_path=DST,
            mode="move",
            metadata=META,
            permissions={"alice": "read_object"},
        )
    )
    assert (result["mode"], result["published"]) == ("move", 3)
    assert sorted(f["source"] for f in result["files"]) == sorted(f"{SRC}/{r}" for r in TREE)
    assert not session.collections.exists(SRC)
    with irods.model.lock:
        assert not [p for p in irods.model.data_objects if "/trash/" in p]
    _check_published(irods, session)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"permissions": {"alice": "admin"}},
            IrodsUsageError,
            "permissions\\['alice'\\] must be one of",
        ),
        ({"metadata": {"k": ["a", "b"]}}, IrodsUsageError, "'k'"),
        ({"mode": "link"}, IrodsUsageError, "mode must be one of"),
        ({"mode": "move", "overwrite": True}, IrodsUsageError, 'apply to mode="copy" only'),
        ({"skip": "sometimes"}, IrodsUsageError, "skip must be one of"),
        ({"source_path": f"{HOME}/nope"}, IrodsNotFoundError, "no collection to publish"),
        ({"source_path": f"{SRC}/a.csv"}, IrodsNotACollectionError, "no collection to publish"),
        ({"destination_path": f"{SRC}/inner"}, IrodsUsageError, "must not contain each other"),
    ],
)
def test_bad_inputs_change_nothing(irods, session, src, kwargs, error, match) -> None:
    before = sorted(irods.model.data_objects)
    arguments = {
        "source_path": src,
        "destination_path": DST,
        "metadata": META,
        "permissions": {"alice": "own"},
    }
    with pytest.raises(error, match=match):
        run(IrodsPublishOperator(task_id="p", **{**arguments, **kwargs}))
    assert sorted(irods.model.data_objects) == before
    assert not session.collections.exists(DST)
    assert all(_avus(session, f"{SRC}/{rel}") == [] for rel in TREE)


def test_move_onto_an_existing_destination_is_refused(irods, session, src) -> None:
    session.collections.create(DST, intermediates=True)
    with pytest.raises(IrodsAlreadyExistsError) as refused:
        run(IrodsPublishOperator(task_id="p", source_path=src, destination_path=DST, mode="move"))
    assert refused.value.path == DST
    assert session.data_objects.read(f"{SRC}/a.csv") == TREE["a.csv"]


def test_finer_4_3_levels_are_granted_atomically(irods, session, src) -> None:
    # The atomic ACL call takes every 4.3 level: acl_to_id in plugins/api/src/atomic_apply_acl_operations.cpp
    # :66-77 (irods 4.3.4), not only read/write/own/null.
    run(
        IrodsPublishOperator(
            task_id="p", source_path=src, destination_path=DST, permissions={"alice": "modify_metadata"}
        )
    )
    perms = {p.name: p.perm for p in session.data_objects.stat(f"{DST}/a.csv").permissions}
    assert perms["alice"] == "modify_metadata"
    assert {p.name: p.perm for p in session.collections.stat(DST).permissions}["alice"] == "modify_metadata"
