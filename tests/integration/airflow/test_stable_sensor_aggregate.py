"""The stable sensor polls one aggregate GenQuery and lists the tree only to confirm a settled signature.

Requests are counted with the client's ``request`` events (one per HTTP request answered by the emulator).
The aggregate's semantics follow iRODS' catalog SQL: ``select distinct count(data_id), sum(data_size) ...``
over R_DATA_MAIN, which holds one row per replica, and SQL NULL (an empty string) for SUM/MAX over no rows.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from unittest import mock

import pytest

from irods_provider.client._events import add_listener, remove_listener
from irods_provider.exceptions import IrodsNotACollectionError, IrodsNotFoundError, IrodsUsageError
from irods_provider.hooks._checks import CollectionSignature, signature_query
from irods_provider.sensors.irods import IrodsCollectionStableSensor
from irods_provider.triggers.irods import IrodsCollectionStableTrigger

HOME = "/tempZone/home/rods"
CATALOG = ("query.", "collections.")  # what a check asks; the test's own writes are data_objects.*


@pytest.fixture
def tree(irods_emulator_resources, irods, session) -> str:
    """``inbox`` with a.bin (2 replicas: demoResc and archiveResc) and sub/b.bin (1 replica)."""
    root = f"{HOME}/inbox"
    session.collections.create(root)
    session.collections.create(f"{root}/sub")
    session.data_objects.write(f"{root}/a.bin", b"a" * 10)
    session.data_objects.replicate(f"{root}/a.bin", "archiveResc")
    session.data_objects.write(f"{root}/sub/b.bin", b"b" * 7)
    return root


@pytest.fixture
def catalog_requests() -> Iterator[list[str]]:
    """The operation names of the catalog requests made while the test runs (auth and /info left out)."""
    seen: list[str] = []

    def listener(event: str, _value: float, tags: dict[str, str]) -> None:
        if event == "request" and tags.get("operation", "").startswith(CATALOG):
            seen.append(tags["operation"])

    add_listener(listener)
    yield seen
    remove_listener(listener)


class Clock:
    """A settable clock for the sensor (its ``_clock``), so the inactivity period needs no sleeping."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def poke(sensor):
    try:
        return sensor.poke({})
    finally:
        sensor.hook.close()


def test_the_aggregate_counts_replica_rows_and_sums_sizes_as_text(tree, session) -> None:
    rows = session.query.genquery(signature_query(tree))
    rows = list(rows)
    assert len(rows) == 1
    count, total, newest, last_id, highest_status = rows[0]
    assert (count, total) == ("3", "27")  # a.bin twice (two replicas) + sub/b.bin: rows, not objects
    assert len(newest) == 11  # iRODS keeps times as zero-padded 11-digit strings
    assert int(last_id) > 0
    assert highest_status == "1"  # every replica good: no write open in the tree
    empty = list(session.query.genquery(signature_query(f"{HOME}/nothing-here")))
    assert empty == [["0", "", "", "", ""]]  # COUNT is 0, SUM/MAX are SQL NULL, sent as empty strings
    assert CollectionSignature.from_rows(empty) == CollectionSignature(0, 0, "", "", "")


def test_an_unchanged_poke_is_one_query_and_the_report_counts_objects_once(
    tree, session, catalog_requests
) -> None:
    clock = Clock()
    sensor = IrodsCollectionStableSensor(task_id="s", path=tree, inactivity_period=60, min_objects=2)
    with mock.patch.object(IrodsCollectionStableSensor, "_clock", side_effect=clock):
        assert poke(sensor).is_done is False  # first look: stat (fails fast when missing) + aggregate
        assert catalog_requests == ["collections.stat", "query.genquery"]
        catalog_requests.clear()
        clock.now = 30
        assert poke(sensor).is_done is False  # unchanged, 30 s < 60 s
        assert catalog_requests == ["query.genquery"]  # one request, no listing
        catalog_requests.clear()
        clock.now = 61
        result = poke(sensor)
    assert result.is_done is True
    # settled: the aggregate plus one exact listing (COLL_NAME = path, then the subtree)
    assert catalog_requests == ["query.genquery"] * 3
    assert result.xcom_value == [{"path": tree, "objects": 2, "bytes": 17}]  # a.bin once, not 3 / 27


def test_a_growing_collection_is_never_reported_stable(tree, session, catalog_requests) -> None:
    clock = Clock()
    sensor = IrodsCollectionStableSensor(task_id="s", path=tree, inactivity_period=10)
    with mock.patch.object(IrodsCollectionStableSensor, "_clock", side_effect=clock):
        for step in range(4):
            clock.now = 20.0 * step
            assert poke(sensor).is_done is False
            session.data_objects.write(f"{tree}/sub/grow-{step}", b"x" * step)
        assert "collections.stat" in catalog_requests
        catalog_requests.clear()
        clock.now = 100  # grow-3 landed after the t=60 poke: changed again
        assert poke(sensor).is_done is False
        clock.now = 111
        result = poke(sensor)
    assert result.is_done is True
    assert result.xcom_value == [{"path": tree, "objects": 6, "bytes": 17 + 0 + 1 + 2 + 3}]
    assert catalog_requests.count("collections.stat") == 0  # stat'ed only at the first poke


@pytest.mark.parametrize(("name", "sibling"), [("run_1", "runX1"), ("50%", "50 percent")])
def test_a_busy_sibling_matching_only_as_a_pattern_does_not_keep_the_tree_unsettled(
    irods, session, name, sibling
) -> None:
    # '_' and '%' in the watched path are escaped in the LIKE (backslash: PostgreSQL/MySQL's default
    # escape), so a sibling matching them as wildcards is not part of the signature.
    target = f"{HOME}/{name}"
    session.collections.create(target)
    session.collections.create(f"{HOME}/{sibling}")
    session.data_objects.write(f"{target}/done.dat", b"final")
    clock = Clock()
    sensor = IrodsCollectionStableSensor(task_id="s", path=target, inactivity_period=10)
    with mock.patch.object(IrodsCollectionStableSensor, "_clock", side_effect=clock):
        for step in range(3):
            clock.now = 10.0 * step
            result = poke(sensor)
            session.data_objects.write(f"{HOME}/{sibling}/part{step}.dat", b"x" * (step + 1))
    assert result.is_done is True
    assert result.xcom_value == [{"path": target, "objects": 1, "bytes": 5}]
    rows = list(session.query.genquery(signature_query(target)))
    assert rows[0][:2] == ["1", "5"]


def test_engine_temporaries_do_not_restart_the_clock(tree, session) -> None:
    clock = Clock()
    sensor = IrodsCollectionStableSensor(task_id="s", path=tree, inactivity_period=10)
    with mock.patch.object(IrodsCollectionStableSensor, "_clock", side_effect=clock):
        assert poke(sensor).is_done is False
        # an upload's in-flight temporary and an overwrite's parked old copy appear: not user data
        session.data_objects.write(f"{tree}/sub/.c.bin.irods-part-0a1b2c3d", b"partial")
        session.data_objects.write(f"{tree}/.a.bin.irods-old-ffee0011", b"old")
        clock.now = 10
        result = poke(sensor)
    assert result.is_done is True
    assert result.xcom_value == [{"path": tree, "objects": 2, "bytes": 17}]


def test_trigger_polls_the_same_check_and_reports_the_exact_figures(tree, session, catalog_requests) -> None:
    trigger = IrodsCollectionStableTrigger(path=tree, irods_conn_id="irods_default", inactivity_period=30)
    times = iter([0.0, 10.0, 20.0, 50.0, 60.0])
    polls: list[int] = []

    async def sleep(_seconds: float) -> None:
        polls.append(len(catalog_requests))
        if len(polls) == 2:
            session.data_objects.write(f"{tree}/late.bin", b"late!")  # resets the inactivity clock

    async def go():
        with (
            mock.patch.object(IrodsCollectionStableTrigger, "_clock", side_effect=lambda: next(times)),
            mock.patch.object(IrodsCollectionStableTrigger, "_sleep", side_effect=sleep),
        ):
            return await anext(trigger.run())

    event = asyncio.run(go())
    # polls at t=0 (stat + aggregate), 10 (aggregate), 20 (changed), 50 (unchanged 30 s: confirm)
    assert polls == [2, 3, 4]
    assert catalog_requests[4:] == ["query.genquery"] * 3  # the final poll: aggregate + exact listing
    assert event.payload["status"] == "success"
    assert event.payload["state"] == {"objects": 3, "bytes": 22}


def test_a_collection_removed_while_waiting_fails_instead_of_settling(tree, session) -> None:
    sensor = IrodsCollectionStableSensor(task_id="s", path=tree, inactivity_period=0, min_objects=0)
    assert poke(sensor).is_done is False
    session.collections.remove(tree, recurse=True, no_trash=True)
    # the aggregate sees nothing, so the collection is stat'ed again: 0.7.0 answers a missing collection's
    # stat with NOT_A_COLLECTION (-170000), as for a data object; a data-object stat tells them apart
    with pytest.raises(IrodsNotFoundError) as err:
        poke(sensor)
    assert err.value.path == tree


def test_a_missing_collection_is_not_found_and_a_data_object_is_not_a_collection(tree, session) -> None:
    """As the docstring says: IrodsNotFoundError for nothing there, in poke and trigger alike."""
    missing = f"{tree}/missing"
    with pytest.raises(IrodsNotFoundError) as err:
        poke(IrodsCollectionStableSensor(task_id="s", path=missing, inactivity_period=0))
    assert (err.value.path, err.value.operation) == (missing, "collections.stat")
    trigger = IrodsCollectionStableTrigger(path=missing, irods_conn_id="irods_default", inactivity_period=0)

    async def first_event():  # the first poll fails: no sleep before the error event
        async with contextlib.aclosing(trigger.run()) as events:
            return await anext(events)

    event = asyncio.run(first_event())
    assert (event.payload["error_class"], event.payload["path"]) == ("IrodsNotFoundError", missing)
    with pytest.raises(IrodsNotACollectionError) as not_coll:
        poke(IrodsCollectionStableSensor(task_id="s", path=f"{tree}/a.bin", inactivity_period=0))
    assert not_coll.value.path == f"{tree}/a.bin"


def test_allow_delete_false_tells_a_trimmed_replica_from_a_deleted_object(tree, session) -> None:
    sensor = IrodsCollectionStableSensor(task_id="s", path=tree, inactivity_period=3600, allow_delete=False)
    assert poke(sensor).is_done is False
    replicas = session.data_objects.replicas(f"{tree}/a.bin")
    session.data_objects.trim(f"{tree}/a.bin", max(r.number for r in replicas))
    assert poke(sensor).is_done is False  # one replica row fewer, but both objects are still there
    session.data_objects.remove(f"{tree}/sub/b.bin", no_trash=True)
    with pytest.raises(IrodsUsageError, match=r"deleted .* \(2 -> 1\) and allow_delete is False"):
        poke(sensor)


def test_a_federated_zones_collection_is_counted_by_that_zones_catalog(
    irods_emulator_variants, monkeypatch
) -> None:
    """The aggregate carries the zone hint: without it the local catalog answers 0 rows (never stable)."""
    from irods_provider.hooks.irods import IrodsHook

    server = irods_emulator_variants(federated_zones=["otherZone"])
    server.add_user("alice", "alice")
    monkeypatch.setenv(
        "AIRFLOW_CONN_IRODS_DEFAULT", f"irods://alice:alice@127.0.0.1:{server.port}/http?zone=tempZone"
    )
    remote = "/otherZone/home/alice#tempZone/landing"
    with IrodsHook() as hook:
        session = hook.get_conn()
        session.collections.create(remote, intermediates=True)
        session.data_objects.write(f"{remote}/a.nc", b"12345")
        session.data_objects.write(f"{remote}/b.nc", b"678")
        local_answer = list(session.query.genquery(signature_query(remote)))
        remote_answer = list(session.query.genquery(signature_query(remote), zone="otherZone"))
    assert CollectionSignature.from_rows(local_answer).replicas == 0
    assert CollectionSignature.from_rows(remote_answer).replicas == 2
    clock = Clock()
    sensor = IrodsCollectionStableSensor(task_id="s", path=remote, inactivity_period=5)
    with mock.patch.object(IrodsCollectionStableSensor, "_clock", side_effect=clock):
        assert poke(sensor).is_done is False
        clock.now = 5
        result = poke(sensor)
    assert result.is_done is True
    assert result.xcom_value == [{"path": remote, "objects": 2, "bytes": 8}]
