"""``collections.iterate(modified_after=...)``: the catalog filters by modify time over real HTTP.

The condition is ``DATA_MODIFY_TIME > '01700000000'`` (and ``COLL_MODIFY_TIME``): iRODS 4.3 keeps times as
11-digit zero-padded strings (``rcMisc.cpp`` ``getNowStr``) in varchar columns (``icatSysTables.sql.pp.in``)
and binds the literal as a string (``general_query.cpp`` ``insertWhere``), so the database compares strings.
An entry listed with the bound is exactly an entry listed without it whose mtime (its newest good
replica's) is after the bound.
"""

from __future__ import annotations

from typing import Any

import pytest

from irods_provider.client import BasicAuth, IrodsSession, Kinds
from irods_provider.exceptions import IrodsUsageError

ROOT = "/tempZone/home/rods/since"
T0 = 1_700_000_000


def _object(server: Any, path: str, replicas: list[tuple[str, int]]) -> None:
    """A data object whose replicas have these ``(status, modify time)``, made in the model."""
    model = server.model
    with model.lock:
        obj = model.create_data_object("rods", path)
        while len(obj.replicas) < len(replicas):
            model.add_replicas(obj, "archiveResc")
        for replica, (status, modified) in zip(obj.replicas, replicas, strict=True):
            replica.status, replica.modify_time = status, modified


@pytest.fixture
def tree(irods_emulator_resources) -> Any:
    server = irods_emulator_resources
    with server.model.lock:
        server.model.create_collection("rods", f"{ROOT}/sub", intermediates=True)
    _object(server, f"{ROOT}/old.dat", [("1", T0)])
    _object(server, f"{ROOT}/new.dat", [("1", T0 + 20)])
    _object(server, f"{ROOT}/sub/deep.dat", [("1", T0 + 30)])
    # a good replica from before the bound and a stale one after it: the object is as old as its good one
    _object(server, f"{ROOT}/stale-newer.dat", [("1", T0), ("0", T0 + 40)])
    # no good replica at all: the newest replica decides, as without the bound
    _object(server, f"{ROOT}/all-stale.dat", [("0", T0), ("0", T0 + 50)])
    # a good replica after the bound and a stale one before it: its replicas after the bound are listed
    _object(server, f"{ROOT}/good-newer.dat", [("0", T0), ("1", T0 + 60)])
    with server.model.lock:  # after its objects: creating one sets a collection's mtime (rsDataObjOpen)
        server.model.collections[f"{ROOT}/sub"].modify_time = T0 + 5
    return server


def _listing(session: IrodsSession, **kwargs: Any) -> dict[str, int | None]:
    return {e.path: e.modified_at for e in session.collections.iterate(ROOT, with_stat=True, **kwargs)}


def test_modified_after_keeps_what_a_full_listing_has_after_the_bound(tree, session) -> None:
    for bound in (T0 - 1, T0, T0 + 5, T0 + 10, T0 + 45, T0 + 60):
        expected = {p: t for p, t in _listing(session, recursive=True).items() if (t or 0) > bound}
        assert _listing(session, recursive=True, modified_after=bound) == expected, bound
    assert _listing(session, recursive=True, modified_after=T0 + 10) == {
        f"{ROOT}/new.dat": T0 + 20,
        f"{ROOT}/sub/deep.dat": T0 + 30,
        f"{ROOT}/all-stale.dat": T0 + 50,
        f"{ROOT}/good-newer.dat": T0 + 60,
    }
    assert _listing(session, modified_after=T0 + 1, kinds=Kinds.COLLECTIONS) == {f"{ROOT}/sub": T0 + 5}
    assert _listing(session, modified_after=T0 + 5, kinds=Kinds.COLLECTIONS) == {}
    entry = next(session.collections.iterate(ROOT, with_stat=True, modified_after=T0 + 10, regex="good"))
    assert [(r.status, r.modified_at) for r in entry.replicas] == [("1", T0 + 60)]
    # without stats an object is listed when any replica was modified after the bound
    names = {e.path for e in session.collections.iterate(ROOT, modified_after=T0 + 35)}
    assert names == {f"{ROOT}/stale-newer.dat", f"{ROOT}/all-stale.dat", f"{ROOT}/good-newer.dat"}


def test_modified_after_must_be_a_non_negative_epoch(tree, session) -> None:
    for bad in (-1, 1.5, "1700000000", True):
        with pytest.raises(IrodsUsageError, match="non-negative integer epoch"):
            list(session.collections.iterate(ROOT, modified_after=bad))


def test_a_federated_listing_may_be_empty_after_the_bound(irods_emulator_variants) -> None:
    """An empty federated listing is checked against ``list`` (the zone's catalog may not answer); with a
    bound, the catalog answering for the collection itself is the proof, not the collection being empty."""
    server = irods_emulator_variants(federated_zones=["otherZone"])
    server.add_user("alice", "alice-pw-123")
    remote = "/otherZone/home/alice#tempZone"
    with IrodsSession(server.base_url, auth=BasicAuth("alice", "alice-pw-123")) as session:
        session.data_objects.write(f"{remote}/a.dat", b"fed")
        assert [e.path for e in session.collections.iterate(remote)] == [f"{remote}/a.dat"]
        assert list(session.collections.iterate(remote, modified_after=4_000_000_000)) == []
        assert [e.path for e in session.collections.iterate(remote, modified_after=0)] == [f"{remote}/a.dat"]
