"""Event triggers (AssetWatcher) run against the emulator: one event per new object, none repeated on restart.

The state store here is an in-process stand-in with the accessor's ``aget``/``aset`` (values round-trip
through JSON as the metadata database stores them); the live test uses Airflow's real one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

import pytest

from irods_provider.client import AVU
from irods_provider.exceptions import IrodsUsageError
from irods_provider.hooks._checks import timestamp_fields
from irods_provider.triggers.events import IrodsMetadataEventTrigger, IrodsPathEventTrigger

HOME = "/tempZone/home/rods"
DEADLINE = 15.0


class JsonStore:
    """One asset's state store: what ``AssetStateStoreAccessors`` offers a single-asset watcher."""

    def __init__(self) -> None:
        self.rows: dict[str, str] = {}
        self.writes = 0

    async def aget(self, key: str, default: Any = None) -> Any:
        return json.loads(self.rows[key]) if key in self.rows else default

    async def aset(self, key: str, value: Any) -> None:
        self.writes += 1
        self.rows[key] = json.dumps(value)


class Running:
    """A trigger's run loop in a task: its events, and a count of finished scans (each ends in a sleep)."""

    def __init__(self, trigger: Any) -> None:
        self.trigger = trigger
        self.events: list[dict[str, Any]] = []
        self.scans = 0

        async def sleep(_seconds: float) -> None:
            self.scans += 1
            await asyncio.sleep(0.01)

        trigger._sleep = sleep
        self.task = asyncio.ensure_future(self._collect())

    async def _collect(self) -> None:
        async for event in self.trigger.run():
            self.events.append(event.payload)

    async def until(self, condition: Callable[[], bool]) -> None:
        """Wait (bounded) until ``condition`` holds; a failed run loop surfaces here."""
        loop = asyncio.get_running_loop()
        end = loop.time() + DEADLINE
        while not condition():
            if self.task.done():
                self.task.result()
                raise AssertionError("the trigger's run loop ended")
            assert loop.time() < end, "condition not met before the deadline"
            await asyncio.sleep(0.01)

    async def settle(self, scans: int = 3) -> None:
        """Let ``scans`` more full scans happen (so a duplicate would have fired by now)."""
        target = self.scans + scans
        await self.until(lambda: self.scans >= target)

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


def _publish(session: Any, path: str, data: bytes) -> None:
    """Write under a name the pattern does not match, then rename into place (the mtime is kept).

    A watcher scanning while ``path`` itself is written could see it created but not yet written (size 0,
    same modify-time second as when it is closed), as on a real server: publish as uploads do.
    """
    session.data_objects.write(path + ".part", data)
    session.data_objects.rename(path + ".part", path)


@pytest.fixture
def inbox(session) -> str:
    session.collections.create(f"{HOME}/inbox")
    return f"{HOME}/inbox"


async def test_path_event_trigger_fires_once_per_object_and_not_again_after_restart(inbox, session) -> None:
    session.data_objects.write(f"{inbox}/old.csv", b"old")
    store = JsonStore()
    trigger = IrodsPathEventTrigger(
        path=f"{inbox}/*.csv", glob=True, irods_conn_id="irods_default", poke_interval=0.01
    )
    trigger.asset_state_store = store
    first = Running(trigger)
    await first.settle(1)
    assert first.events == []  # what existed before the watcher started is the baseline
    assert list(json.loads(store.rows[trigger.state_key])["seen"]) == [f"{inbox}/old.csv"]

    await asyncio.to_thread(_publish, session, f"{inbox}/a.csv", b"aaa")
    await asyncio.to_thread(_publish, session, f"{inbox}/b.csv", b"bbbbb")
    await asyncio.to_thread(session.data_objects.write, f"{inbox}/skip.txt", b"not matched")
    await first.until(lambda: len(first.events) >= 2)
    await first.settle()
    stat_a = session.data_objects.stat(f"{inbox}/a.csv")
    assert sorted(first.events, key=lambda e: e["path"]) == [
        {
            "event": "irods.path",
            "irods_conn_id": "irods_default",
            "path": f"{inbox}/a.csv",
            "kind": "data_object",
            "size": 3,
            **timestamp_fields("modified_at", stat_a.modified_at),
        },
        {
            "event": "irods.path",
            "irods_conn_id": "irods_default",
            "path": f"{inbox}/b.csv",
            "kind": "data_object",
            "size": 5,
            **timestamp_fields("modified_at", session.data_objects.stat(f"{inbox}/b.csv").modified_at),
        },
    ]
    await first.stop()

    # The triggerer restarts: the trigger is rebuilt from its serialized kwargs and the same asset store.
    classpath, kwargs = trigger.serialize()
    assert classpath == "irods_provider.triggers.events.IrodsPathEventTrigger"
    again = IrodsPathEventTrigger(**kwargs)
    again.asset_state_store = store
    await asyncio.to_thread(_publish, session, f"{inbox}/c.csv", b"c")
    second = Running(again)
    await second.until(lambda: len(second.events) >= 1)
    await second.settle()
    await second.stop()
    assert [e["path"] for e in second.events] == [f"{inbox}/c.csv"]


async def test_path_event_trigger_without_a_store_and_fire_on_existing(inbox, session) -> None:
    session.data_objects.write(f"{inbox}/x.dat", b"x")
    session.collections.create(f"{inbox}/sub")
    trigger = IrodsPathEventTrigger(
        path=f"{inbox}/*", glob=True, irods_conn_id="irods_default", poke_interval=0.01, fire_on_existing=True
    )
    running = Running(trigger)
    await running.until(lambda: len(running.events) >= 1)
    await running.settle()
    await running.stop()
    # kind defaults to data_object: the sub-collection is not an event
    assert [(e["path"], e["kind"]) for e in running.events] == [(f"{inbox}/x.dat", "data_object")]


async def test_metadata_event_trigger_once_per_tagging(inbox, session) -> None:
    for name in ("r1.dat", "r2.dat", "r3.dat"):
        session.data_objects.write(f"{inbox}/{name}", b"1")
    session.metadata.add(f"{inbox}/r1.dat", AVU("qc", "passed"))  # before the watcher: baseline
    store = JsonStore()
    trigger = IrodsMetadataEventTrigger(
        attribute="qc", value="passed", under=inbox, irods_conn_id="irods_default", poke_interval=0.01
    )
    trigger.asset_state_store = store
    first = Running(trigger)
    await first.settle(1)
    await asyncio.to_thread(session.metadata.add, f"{inbox}/r2.dat", AVU("qc", "passed"))
    await asyncio.to_thread(session.metadata.add, f"{inbox}/r3.dat", AVU("qc", "failed"))
    await first.until(lambda: len(first.events) >= 1)
    await first.settle()
    await first.stop()
    assert first.events == [
        {
            "event": "irods.metadata",
            "irods_conn_id": "irods_default",
            "path": f"{inbox}/r2.dat",
            "kind": "data_object",
        }
    ]

    again = IrodsMetadataEventTrigger(**trigger.serialize()[1])
    again.asset_state_store = store
    await asyncio.to_thread(session.metadata.remove, f"{inbox}/r1.dat", AVU("qc", "passed"))
    second = Running(again)
    await second.settle(2)
    assert second.events == []  # r2 is not repeated after the restart
    # The AVU put back on r1 is a new tagging: one event.
    await asyncio.to_thread(session.metadata.add, f"{inbox}/r1.dat", AVU("qc", "passed"))
    await second.until(lambda: len(second.events) >= 1)
    await second.settle()
    await second.stop()
    assert [e["path"] for e in second.events] == [f"{inbox}/r1.dat"]


async def test_a_refused_login_is_retried_and_the_watcher_carries_on(
    irods, inbox, session, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    good = f"irods://rods:rods-emulator@127.0.0.1:{irods.port}/http?zone=tempZone"
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_FLAKY", good.replace("rods-emulator", "wrong-password"))
    trigger = IrodsPathEventTrigger(
        path=f"{inbox}/*", glob=True, irods_conn_id="irods_flaky", poke_interval=0.01
    )
    running = Running(trigger)
    await running.settle(2)  # two refused openings, each followed by a poll's sleep: the watcher lives on
    assert running.events == []
    messages = [r.getMessage() for r in caplog.records]
    refused = [m for m in messages if "cannot open a session on irods_flaky" in m]
    assert len(refused) >= 2
    assert "login refused for user 'rods'" in refused[0]
    assert "wrong-password" not in "\n".join(refused)
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_FLAKY", good)  # the password is fixed in the connection
    await running.until(lambda: trigger._state is not None)  # the baseline scan ran
    await asyncio.to_thread(session.data_objects.write, f"{inbox}/after-the-fix.dat", b"ok")
    await running.until(lambda: len(running.events) >= 1)
    await running.stop()
    assert [e["path"] for e in running.events] == [f"{inbox}/after-the-fix.dat"]


async def test_an_undefined_connection_is_retried_and_the_watcher_carries_on(
    irods, inbox, session, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A connection Airflow cannot find yet is a session that cannot be opened: logged, retried each poll."""
    monkeypatch.delenv("AIRFLOW_CONN_IRODS_LATE", raising=False)
    trigger = IrodsPathEventTrigger(
        path=f"{inbox}/*", glob=True, irods_conn_id="irods_late", poke_interval=0.01
    )
    running = Running(trigger)
    await running.settle(2)
    assert running.events == []
    missing = [
        m for m in (r.getMessage() for r in caplog.records) if "cannot open a session on irods_late" in m
    ]
    assert len(missing) >= 2
    assert "the Airflow connection 'irods_late' is not defined" in missing[0]
    monkeypatch.setenv(
        "AIRFLOW_CONN_IRODS_LATE", f"irods://rods:rods-emulator@127.0.0.1:{irods.port}/http?zone=tempZone"
    )
    await running.until(lambda: trigger._state is not None)  # the baseline scan ran
    await asyncio.to_thread(session.data_objects.write, f"{inbox}/defined.dat", b"ok")
    await running.until(lambda: len(running.events) >= 1)
    await running.stop()
    assert [e["path"] for e in running.events] == [f"{inbox}/defined.dat"]


def test_state_key_follows_what_is_watched_not_how_often() -> None:
    base = IrodsPathEventTrigger(path=f"{HOME}/in/*.csv", irods_conn_id="irods_default")
    slower = IrodsPathEventTrigger(path=f"{HOME}/in/*.csv", irods_conn_id="irods_default", poke_interval=300)
    other = IrodsPathEventTrigger(path=f"{HOME}/in/*.txt", irods_conn_id="irods_default")
    as_pattern = IrodsPathEventTrigger(path=f"{HOME}/in/*.csv", glob=True, irods_conn_id="irods_default")
    assert base.state_key == slower.state_key
    assert base.state_key != other.state_key
    assert base.state_key != as_pattern.state_key  # a literal path and a pattern watch different things
    assert base.state_key.startswith("irods_event_trigger.")


def test_bad_arguments_are_refused_when_the_dag_is_parsed() -> None:
    with pytest.raises(IrodsUsageError, match="absolute logical path"):
        IrodsPathEventTrigger(path="relative/*.csv", irods_conn_id="irods_default")
    with pytest.raises(IrodsUsageError, match="kind must be one of"):
        IrodsPathEventTrigger(path=f"{HOME}/*", irods_conn_id="irods_default", kind="file")
    with pytest.raises(IrodsUsageError, match="AVU attribute name"):
        IrodsMetadataEventTrigger(attribute="", irods_conn_id="irods_default")


def test_path_state_is_bounded_by_the_lookback_window() -> None:
    trigger = IrodsPathEventTrigger(path=f"{HOME}/in/*", irods_conn_id="c", lookback_seconds=100)

    def match(name: str, t: int) -> dict[str, Any]:
        return {"path": f"{HOME}/in/{name}", "kind": "data_object", "size": 1, "modified_at": t}

    state, new, _ = trigger._advance(trigger._empty_state(), [match("a", 1000), match("b", 1050)])
    assert [m["path"] for m in new] == [f"{HOME}/in/a", f"{HOME}/in/b"]
    state, new, _ = trigger._advance(state, [match("a", 1000), match("b", 1050), match("c", 1200)])
    assert [m["path"] for m in new] == [f"{HOME}/in/c"]
    assert state == {"horizon": 1100, "seen": {f"{HOME}/in/c": 1200}}
    # published late (modify time within the window of the newest): still new; older than the horizon: old
    state, new, _ = trigger._advance(state, [match("late", 1150), match("ancient", 900), match("c", 1200)])
    assert [m["path"] for m in new] == [f"{HOME}/in/late"]
    # a rewritten object (new modify time) is a new version: it fires again
    state, new, _ = trigger._advance(state, [match("c", 1300)])
    assert [(m["path"], m["modified_at"]) for m in new] == [(f"{HOME}/in/c", 1300)]
