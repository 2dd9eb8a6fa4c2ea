"""A connection whose password is rotated while its triggers wait: they read it again, never failing for it.

The admin changes the user's password and its tokens lapse; the Airflow connection is updated to the new
password. A watcher (which never ends) and a deferred sensor must pick the new password up: neither may keep
the session (shared per connection in the triggerer) that logs in with the old one.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from irods_provider.hooks.irods import IrodsHook
from irods_provider.triggers._shared import trigger_session
from irods_provider.triggers.events import IrodsPathEventTrigger
from irods_provider.triggers.irods import IrodsPathTrigger

ALICE = "/tempZone/home/alice"
NEW_PASSWORD = "Rotated-Pw-44kq!"


def rotate(irods, monkeypatch: pytest.MonkeyPatch) -> None:
    """The admin sets a new password, alice's tokens lapse, the connection gets the new password."""
    irods.model.set_password("rods", "alice", NEW_PASSWORD)
    with irods.model.lock:
        for token, (owner, _) in list(irods.model.tokens.items()):
            if owner == "alice":
                del irods.model.tokens[token]
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_ALICE", irods.airflow_connection_uri("alice", NEW_PASSWORD))


def write_as_alice(path: str) -> None:
    with IrodsHook("irods_alice") as hook:
        hook.get_conn().data_objects.write(path, b"x")


async def _until(condition: Any, task: asyncio.Task[None]) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + 15
    while not condition():
        assert not task.done(), task
        assert loop.time() < end, "condition not met before the deadline"
        await asyncio.sleep(0.01)


async def test_a_watcher_picks_up_a_rotated_password(irods, monkeypatch: pytest.MonkeyPatch) -> None:
    trigger = IrodsPathEventTrigger(
        path=f"{ALICE}/*.csv", glob=True, irods_conn_id="irods_alice", poke_interval=0.01
    )
    events: list[dict[str, Any]] = []

    async def collect() -> None:
        async for event in trigger.run():
            events.append(event.payload)

    task = asyncio.ensure_future(collect())
    await _until(lambda: trigger._state is not None, task)  # the baseline scan ran
    rotate(irods, monkeypatch)
    await asyncio.to_thread(write_as_alice, f"{ALICE}/after.csv")
    await _until(lambda: len(events) >= 1, task)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert [e["path"] for e in events] == [f"{ALICE}/after.csv"]


async def test_a_deferred_sensor_picks_up_a_rotated_password(irods, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another trigger (a watcher) holds the shared session of the connection the whole time."""
    async with trigger_session("irods_alice"):  # held by another trigger throughout
        rotate(irods, monkeypatch)
        await asyncio.to_thread(write_as_alice, f"{ALICE}/done.flag")
        trigger = IrodsPathTrigger(path=f"{ALICE}/done.flag", irods_conn_id="irods_alice", poke_interval=0.01)
        event = await anext(trigger.run())
    assert event.payload["status"] == "success", event.payload
    assert [m["path"] for m in event.payload["matches"]] == [f"{ALICE}/done.flag"]
    assert NEW_PASSWORD not in repr(event.payload)
