"""A deferred sensor's trigger keeps waiting through a short outage of the HTTP API instead of failing.

A restart of the iRODS HTTP API (a redeploy, a config reload) drops its connections for a few seconds; the
client's retries last under a second, so every deferred iRODS sensor of the triggerer fired an error event
and its task failed. Errors a retry could cure (connection refused or dropped, timeouts, 429/502/503/504)
now end the wait only when they last for the trigger's outage grace; other errors still end it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from unittest import mock

import pytest

from irods_provider.triggers.irods import IrodsCollectionStableTrigger, IrodsPathTrigger

HOME = "/tempZone/home/rods"


@pytest.fixture
def flaky(irods, session):
    """The emulator; restored to no faults afterwards."""
    yield irods
    irods.set_faults(drop_connection=0.0, error_503=0.0)


def first_event(trigger, on_sleep):
    """The trigger's first event; ``on_sleep(n)`` runs before its n-th wait (which takes no time)."""
    calls = []

    async def sleep(self, seconds):
        calls.append(seconds)
        on_sleep(len(calls))

    async def run():
        with mock.patch.object(type(trigger), "_sleep", sleep):
            async with contextlib.aclosing(trigger.run()) as events:
                return await asyncio.wait_for(anext(events), 60)

    return asyncio.run(run()), len(calls)


@pytest.mark.parametrize("fault", ["drop_connection", "error_503"])
def test_the_trigger_waits_through_an_outage_and_then_fires(flaky, session, fault) -> None:
    path = f"{HOME}/late.txt"

    def outage(n: int) -> None:
        if n == 1:  # the first check found nothing; the API goes away for three polls
            flaky.set_faults(**{fault: 1.0})
        elif n == 4:  # back, with the object written meanwhile
            flaky.set_faults(**{fault: 0.0})
            session.data_objects.write(path, b"landed")

    trigger = IrodsPathTrigger(path=path, irods_conn_id="irods_default", poke_interval=1)
    event, waits = first_event(trigger, outage)
    assert event.payload["status"] == "success", event.payload
    assert [m["path"] for m in event.payload["matches"]] == [path]
    assert waits == 4


def test_the_stable_trigger_keeps_its_observations_through_an_outage(flaky, session) -> None:
    session.collections.create(f"{HOME}/inbox")
    session.data_objects.write(f"{HOME}/inbox/a", b"abc")

    def outage(n: int) -> None:
        flaky.set_faults(drop_connection=1.0 if n == 1 else 0.0)

    trigger = IrodsCollectionStableTrigger(
        path=f"{HOME}/inbox", irods_conn_id="irods_default", inactivity_period=0, poke_interval=1
    )
    event, _ = first_event(trigger, outage)
    assert event.payload["status"] == "success", event.payload
    assert event.payload["state"] == {"objects": 1, "bytes": 3}


def test_an_outage_longer_than_the_grace_still_fails_the_wait(flaky, session, monkeypatch) -> None:
    monkeypatch.setattr(IrodsPathTrigger, "outage_grace_seconds", 0.0)

    def outage(n: int) -> None:
        flaky.set_faults(drop_connection=1.0)

    trigger = IrodsPathTrigger(path=f"{HOME}/never", irods_conn_id="irods_default", poke_interval=1)
    event, _ = first_event(trigger, outage)
    assert event.payload["status"] == "error"
    assert event.payload["error_class"] == "IrodsConnectionError"


def test_an_error_no_retry_cures_ends_the_wait_at_once(irods, session) -> None:
    session.data_objects.write(f"{HOME}/plain", b"x")
    trigger = IrodsCollectionStableTrigger(
        path=f"{HOME}/plain", irods_conn_id="irods_default", inactivity_period=0, poke_interval=1
    )
    event, waits = first_event(trigger, lambda n: None)
    assert event.payload["status"] == "error"
    assert event.payload["error_class"] == "IrodsNotACollectionError"
    assert waits == 0


def test_a_trigger_starting_during_an_outage_waits_for_the_server(flaky, session) -> None:
    session.data_objects.write(f"{HOME}/there", b"x")
    flaky.set_faults(drop_connection=1.0)  # a triggerer restarted while the API is down: no login yet

    def outage(n: int) -> None:
        flaky.set_faults(drop_connection=0.0)

    trigger = IrodsPathTrigger(path=f"{HOME}/there", irods_conn_id="irods_default", poke_interval=1)
    event, waits = first_event(trigger, outage)
    assert event.payload["status"] == "success", event.payload
    assert waits == 1
