"""An object another client is still writing in place has not arrived: nothing that waits fires on it.

While a replica is open for write, iRODS 4.2.9+ makes it intermediate (DATA_REPL_STATUS 2) and every sibling
write-locked (4) (irods 4.3.4 logical_locking.cpp ``lock_impl``): the catalog shows the object at its final
path with the size it had before (0 for a new one), and no good replica, so the HTTP API's stat answers
SYS_NO_GOOD_REPLICA and its read HTTP 500 (both ask ``data_object_size`` for ``DATA_REPL_STATUS = '1'``,
filesystem.cpp:735-763). Here another client holds a parallel-write handle on the object with part of its
bytes written (the emulator locks it as the server does), and everything that waits must keep waiting until
the handle is shut down, then see the full size.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
from airflow.sdk.exceptions import TaskDeferred

from irods_provider.client import AVU
from irods_provider.client.transfer import download_object
from irods_provider.exceptions import IrodsLockedError
from irods_provider.hooks.irods import IrodsHook
from irods_provider.operators.irods import IrodsPathExistsOperator
from irods_provider.sensors.irods import IrodsCollectionStableSensor, IrodsMetadataSensor, IrodsPathSensor
from irods_provider.testing._locks import lock_replicas
from irods_provider.transfers.irods_to_local import IrodsToLocalOperator
from irods_provider.triggers.events import IrodsPathEventTrigger
from irods_provider.triggers.irods import IrodsCollectionStableTrigger

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from query_counter import count_query_requests
from trigger_store import MemoryStore, StopScans

pytestmark = pytest.mark.timeout(180)

HOME = "/tempZone/home/rods"
DATA = b"header\nrow 1\nrow 2\n"
WAIT = 10.0


class Writer:
    """Another client writing ``path`` in place through a parallel-write handle: ``open`` writes the first
    bytes and keeps the handle open, ``close`` writes the rest and shuts it down."""

    def __init__(self, path: str, data: bytes = DATA) -> None:
        self.path, self.data = path, data
        self._hook = IrodsHook()
        self.session = self._hook.get_conn()
        self.handle: str | None = None

    def open(self, written: int = 7) -> Writer:
        self.handle = self.session.data_objects.parallel_write_init(self.path, stream_count=1)
        self._write(0, self.data[:written])
        return self

    def _write(self, offset: int, data: bytes) -> None:
        self.session.data_objects.write(
            None, data, parallel_write_handle=self.handle, stream_index=0, offset=offset
        )

    def close(self, written: int = 7) -> None:
        assert self.handle is not None
        self._write(written, self.data[written:])
        self.session.data_objects.parallel_write_shutdown(self.handle)
        self.handle = None

    def end(self) -> None:
        if self.handle is not None:
            self.session.data_objects.parallel_write_shutdown(self.handle)
        self._hook.close()


@pytest.fixture
def inbox(session) -> str:
    session.collections.create(f"{HOME}/inbox")
    return f"{HOME}/inbox"


@pytest.fixture
def writer(irods) -> Iterator[type[Writer]]:
    made: list[Writer] = []

    def make(path: str, data: bytes = DATA) -> Writer:
        made.append(Writer(path, data))
        return made[-1]

    yield make  # type: ignore[misc]
    for w in made:
        w.end()


def poke(sensor):
    try:
        return sensor.poke({})
    finally:
        sensor.hook.close()


async def first_event(trigger, polls: int = 1):
    """The trigger's first event within ``polls`` checks, or None (its sleep is patched to end the wait)."""
    sleeps = 0

    async def sleep(_seconds: float) -> None:
        nonlocal sleeps
        sleeps += 1
        if sleeps >= polls:
            raise asyncio.CancelledError

    with mock.patch.object(type(trigger), "_sleep", side_effect=sleep):
        try:
            return await anext(trigger.run())
        except asyncio.CancelledError:
            return None


def test_path_sensor_waits_until_the_writer_closes(inbox, writer) -> None:
    path = f"{inbox}/run.csv"
    w = writer(path).open()
    literal = IrodsPathSensor(task_id="s", path=path, kind="data_object")
    pattern = IrodsPathSensor(task_id="g", path=f"{inbox}/*.csv", glob=True)
    assert poke(literal).is_done is False
    assert poke(pattern).is_done is False
    w.close()
    for sensor in (literal, pattern):
        result = poke(sensor)
        assert result.is_done is True
        assert [(m["path"], m["size"]) for m in result.xcom_value] == [(path, len(DATA))]


def test_path_sensor_waits_while_an_existing_object_is_rewritten_in_place(inbox, session, writer) -> None:
    path = f"{inbox}/daily.csv"
    session.data_objects.write(path, b"yesterday")
    sensor = IrodsPathSensor(task_id="s", path=path)
    assert poke(sensor).xcom_value[0]["size"] == len(b"yesterday")
    w = writer(path).open()
    assert poke(sensor).is_done is False
    assert poke(IrodsPathSensor(task_id="g", path=f"{inbox}/*", glob=True)).is_done is False
    w.close()
    assert poke(sensor).xcom_value[0]["size"] == len(DATA)


def test_deferred_path_sensor_fires_only_once_the_writer_closes(inbox, writer) -> None:
    path = f"{inbox}/late.csv"
    w = writer(path).open()
    sensor = IrodsPathSensor(
        task_id="s", path=f"{inbox}/*.csv", glob=True, deferrable=True, poke_interval=1, timeout=60
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    trigger = deferred.value.trigger
    assert asyncio.run(first_event(trigger, polls=2)) is None
    w.close()
    event = asyncio.run(first_event(trigger))
    assert [(m["path"], m["size"]) for m in event.payload["matches"]] == [(path, len(DATA))]


def test_a_held_single_write_is_not_an_arrival(inbox, irods) -> None:
    path = f"{inbox}/one-request.csv"
    hold = irods.hold_writes(path)
    with IrodsHook() as other:
        thread = threading.Thread(target=other.get_conn().data_objects.write, args=(path, DATA))
        thread.start()
        try:
            assert hold.wait_reached(WAIT)
            assert poke(IrodsPathSensor(task_id="s", path=path)).is_done is False
        finally:
            hold.release()
            thread.join(WAIT)
    assert poke(IrodsPathSensor(task_id="s", path=path)).xcom_value[0]["size"] == len(DATA)


def test_a_write_whose_writer_went_away_never_arrives(inbox, irods, writer) -> None:
    path = f"{inbox}/crashed.csv"
    writer(path).open()
    assert irods.drop_parallel_writes(path) == 1  # its only replica is now stale: nothing can read it
    assert poke(IrodsPathSensor(task_id="s", path=path)).is_done is False
    assert poke(IrodsPathSensor(task_id="g", path=f"{inbox}/*", glob=True)).is_done is False


async def _scans(trigger: IrodsPathEventTrigger, count: int) -> list[list[tuple[str, int]]]:
    """(path, size) of the events of the watcher's next ``count`` scans, one list per scan."""
    per_scan: list[list[tuple[str, int]]] = [[]]

    async def sleep(_seconds: float) -> None:
        if len(per_scan) == count:
            raise StopScans
        per_scan.append([])

    async def collect() -> None:
        async for event in trigger.run():
            per_scan[-1].append((event.payload["path"], event.payload["size"]))

    trigger._sleep = sleep  # type: ignore[method-assign]
    with pytest.raises(StopScans):
        await collect()
    return per_scan


async def test_asset_watcher_fires_once_with_the_full_size(inbox, writer) -> None:
    trigger = IrodsPathEventTrigger(path=f"{inbox}/*.csv", glob=True, irods_conn_id="irods_default")
    trigger.asset_state_store = MemoryStore()
    assert await _scans(trigger, 1) == [[]]  # the (empty) baseline
    path = f"{inbox}/instrument.csv"
    w = writer(path)
    await asyncio.to_thread(w.open)
    assert await _scans(trigger, 2) == [[], []]
    await asyncio.to_thread(w.close)
    assert await _scans(trigger, 2) == [[(path, len(DATA))], []]


async def test_a_watcher_scan_asks_nothing_more_while_objects_are_written(
    inbox, irods, session, monkeypatch
) -> None:
    # An ingest opens many objects at once: each is created now (above the horizon) and intermediate. The
    # scan's GenQuery leaves them out by itself; no query per object to learn whether it is readable.
    session.data_objects.write(f"{inbox}/done.dat", b"done")
    trigger = IrodsPathEventTrigger(path=f"{inbox}/*.dat", glob=True, irods_conn_id="irods_default")
    trigger.asset_state_store = MemoryStore()
    assert await _scans(trigger, 1) == [[]]  # the baseline: done.dat, and a horizon an hour before it
    with irods.model.lock:
        for i in range(30):
            obj = irods.model.create_data_object("rods", f"{inbox}/w{i:02d}.dat")
            lock_replicas(obj, obj.replicas, "ingest")
    requests = count_query_requests(monkeypatch)
    assert await _scans(trigger, 1) == [[]]
    assert requests["execute_genquery"] == 1  # the objects above the horizon: done.dat alone, one page


def test_stable_sensor_is_not_settled_while_an_object_is_written(inbox, session, writer) -> None:
    session.data_objects.write(f"{inbox}/done.bin", b"abc")
    w = writer(f"{inbox}/big.bin").open()
    sensor = IrodsCollectionStableSensor(task_id="s", path=inbox, inactivity_period=0, min_objects=1)
    assert [poke(sensor).is_done for _ in range(3)] == [False, False, False]
    w.close()
    assert poke(sensor).is_done is False  # changed: the period starts again
    result = poke(sensor)
    assert result.is_done is True
    assert result.xcom_value == [{"path": inbox, "objects": 2, "bytes": 3 + len(DATA)}]


def test_deferred_stable_sensor_waits_for_the_writer(inbox, session, writer) -> None:
    session.data_objects.write(f"{inbox}/done.bin", b"abc")
    w = writer(f"{inbox}/big.bin").open()
    trigger = IrodsCollectionStableTrigger(
        path=inbox, irods_conn_id="irods_default", inactivity_period=0, poke_interval=1
    )
    assert asyncio.run(first_event(trigger, polls=3)) is None
    w.close()
    event = asyncio.run(first_event(trigger, polls=3))
    assert event.payload["matches"] == [{"path": inbox, "objects": 2, "bytes": 3 + len(DATA)}]


def test_metadata_sensor_waits_while_the_tagged_object_is_rewritten(inbox, session, writer) -> None:
    path = f"{inbox}/tagged.csv"
    session.data_objects.write(path, b"draft")
    session.metadata.add(path, AVU("status", "ready"))
    on_path = IrodsMetadataSensor(task_id="p", attribute="status", value="ready", path=path)
    search = IrodsMetadataSensor(
        task_id="q", attribute="status", value="ready", under=inbox, kind="data_object"
    )
    assert poke(on_path).is_done is True
    w = writer(path).open()
    assert poke(on_path).is_done is False
    assert poke(search).is_done is False
    w.close()
    assert poke(on_path).is_done is True
    assert poke(search).xcom_value == [{"path": path, "kind": "data_object"}]


def test_exists_operator_does_not_count_an_object_being_written(inbox, writer) -> None:
    path = f"{inbox}/manifest.json"
    w = writer(path).open()
    assert IrodsPathExistsOperator(task_id="e", path=path).execute({}) is False
    assert IrodsPathExistsOperator(task_id="g", path=f"{inbox}/*.json", glob=True).execute({}) is False
    w.close()
    assert IrodsPathExistsOperator(task_id="e", path=path).execute({}) is True


def test_downloading_an_object_being_written_is_a_lock_error(inbox, session, writer, tmp_path) -> None:
    path = f"{inbox}/partial.csv"
    w = writer(path).open()
    with pytest.raises(IrodsLockedError) as caught:
        download_object(session, path, str(tmp_path / "partial.csv"))
    assert caught.value.path == path
    assert caught.value.irods_name == "SYS_NO_GOOD_REPLICA"
    with pytest.raises(IrodsLockedError):
        IrodsToLocalOperator(
            task_id="d", source_path=path, destination_path=str(tmp_path / "op.csv")
        ).execute({})
    assert list(tmp_path.iterdir()) == []  # nothing partial left behind
    w.close()
    download_object(session, path, str(tmp_path / "partial.csv"))
    assert (tmp_path / "partial.csv").read_bytes() == DATA
