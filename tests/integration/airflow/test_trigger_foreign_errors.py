"""A trigger never dies with a raw traceback from a check (the rule: irods_provider/triggers/_events.py).

The client types every reply and transport error (tests/security: hostile replies, CA bundles, OpenID), but
a trigger caught only ``IrodsError``: a ``poke_interval`` given as text or NaN ended its wait with a raw
``ValueError`` from the schedule, and any other exception of a check (a bug, an unforeseen library error;
no server can produce one, so the check is patched to raise it) ended the trigger with its traceback and
the task with no typed error. Now: a bad number of seconds is refused when the trigger is built, any other
exception ends the wait with an error event naming one of our errors (its text scrubbed of token-shaped
strings) which ``execute_complete`` raises, and an event trigger logs it and scans again.
``asyncio.CancelledError`` and ``MemoryError`` still propagate.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any
from unittest import mock

import pytest

from irods_provider.exceptions import IrodsError, IrodsUsageError
from irods_provider.sensors.irods import IrodsPathSensor
from irods_provider.triggers import events as event_triggers
from irods_provider.triggers import irods as polling_triggers
from irods_provider.triggers.events import IrodsPathEventTrigger
from irods_provider.triggers.irods import IrodsMetadataTrigger, IrodsPathTrigger

HOME = "/tempZone/home/rods"
TOKEN = "Xy7kQ9vLm2Np4Rt8Zw3B"  # token-shaped: mixed case and digits, 20 characters


@pytest.mark.parametrize(
    "arguments",
    [
        {"poke_interval": "abc"},
        {"poke_interval": None},
        {"poke_interval": float("nan")},
        {"poke_interval": float("inf")},
        {"poke_interval": -1},
        {"exponential_backoff": True, "max_wait": "x"},
        {"exponential_backoff": True, "started_at": "x"},
    ],
    ids=["text", "none", "nan", "inf", "negative", "max_wait", "started_at"],
)
def test_a_bad_number_of_seconds_is_refused_when_the_trigger_is_built(arguments) -> None:
    with pytest.raises(IrodsUsageError, match="finite number of seconds"):
        IrodsPathTrigger(path=f"{HOME}/x", irods_conn_id="irods_default", **arguments)
    with pytest.raises(IrodsUsageError, match="finite number of seconds"):
        IrodsMetadataTrigger(attribute="a", irods_conn_id="irods_default", **arguments)
    if "poke_interval" in arguments:
        with pytest.raises(IrodsUsageError, match="finite number of seconds"):
            IrodsPathEventTrigger(path=f"{HOME}/x", irods_conn_id="irods_default", **arguments)


def _first_event(trigger: Any) -> Any:
    async def first() -> Any:
        with mock.patch.object(type(trigger), "_sleep", side_effect=asyncio.CancelledError):
            async with contextlib.aclosing(trigger.run()) as events:
                return await asyncio.wait_for(anext(events), 60)

    return asyncio.run(first())


def _raising(error: BaseException) -> Any:
    async def run_async(*_args: Any, **_kwargs: Any) -> Any:
        raise error

    return run_async


@contextlib.asynccontextmanager
async def _no_session(*_args: Any, **_kwargs: Any) -> Any:
    raise KeyError(f"token {TOKEN}")
    yield


@pytest.mark.parametrize("where", ["check", "session"])
def test_a_foreign_error_ends_the_wait_with_a_typed_event_and_no_secret(irods, where) -> None:
    trigger = IrodsPathTrigger(path=f"{HOME}/x", irods_conn_id="irods_default", poke_interval=1)
    if where == "check":
        patched = mock.patch.object(polling_triggers, "run_async", _raising(KeyError(f"token {TOKEN}")))
    else:
        patched = mock.patch.object(polling_triggers, "trigger_session", _no_session)
    with patched:
        event = _first_event(trigger)
    payload = event.payload
    assert payload["status"] == "error"
    assert payload["error_class"] == "IrodsError"
    assert "KeyError" in payload["message"]
    assert TOKEN not in json.dumps(payload)
    sensor = IrodsPathSensor(task_id="s", path=f"{HOME}/x", deferrable=True, timeout=60)
    with pytest.raises(IrodsError, match="the check failed with KeyError") as raised:
        sensor.resume_execution("execute_complete", {"event": payload, "deadline": 2e9}, {})
    assert TOKEN not in str(raised.value)


@pytest.mark.parametrize("error", [asyncio.CancelledError(), MemoryError()], ids=["cancelled", "memory"])
def test_cancellation_and_memory_errors_still_propagate(irods, error) -> None:
    """Not a check's answer: the triggerer cancelling the wait, or running out of memory. (Checked beside a
    KeyError, which ends as an event: the rule's other side, so this test fails on the old code too.)"""
    trigger = IrodsPathTrigger(path=f"{HOME}/x", irods_conn_id="irods_default", poke_interval=1)
    with mock.patch.object(polling_triggers, "run_async", _raising(KeyError("rows"))):
        assert _first_event(trigger).payload["error_class"] == "IrodsError"
    with mock.patch.object(polling_triggers, "run_async", _raising(error)), pytest.raises(type(error)):
        _first_event(IrodsPathTrigger(path=f"{HOME}/x", irods_conn_id="irods_default", poke_interval=1))


async def test_an_event_trigger_logs_a_foreign_scan_error_and_scans_again(
    irods, session, caplog: pytest.LogCaptureFixture
) -> None:
    session.collections.create(f"{HOME}/inbox")
    real = event_triggers.run_async
    calls = 0

    async def flaky(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls <= 2:
            raise TypeError(f"'NoneType' object is not subscriptable {TOKEN}")
        return await real(*args, **kwargs)

    trigger = IrodsPathEventTrigger(
        path=f"{HOME}/inbox/*", glob=True, irods_conn_id="irods_default", poke_interval=0.01
    )
    scans = 0

    async def sleep(_seconds: float) -> None:
        nonlocal scans
        scans += 1
        await asyncio.sleep(0.01)

    trigger._sleep = sleep  # type: ignore[method-assign]
    events: list[dict[str, Any]] = []

    async def collect() -> None:
        async for event in trigger.run():
            events.append(event.payload)

    with mock.patch.object(event_triggers, "run_async", flaky):
        task = asyncio.ensure_future(collect())
        try:
            loop = asyncio.get_running_loop()
            end = loop.time() + 60
            while trigger._state is None:  # the baseline scan, after the two failed ones
                if task.done():
                    task.result()
                    raise AssertionError("the watcher ended")
                assert loop.time() < end, "no baseline scan before the deadline"
                await asyncio.sleep(0.01)
            await asyncio.to_thread(session.data_objects.write, f"{HOME}/inbox/late.dat", b"ok")
            while not events:
                assert not task.done(), "the watcher ended"
                assert loop.time() < end, "no event before the deadline"
                await asyncio.sleep(0.01)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert [e["path"] for e in events] == [f"{HOME}/inbox/late.dat"]
    failed = [r.getMessage() for r in caplog.records if "scan failed" in r.getMessage()]
    assert len(failed) == 2
    assert "the check failed with TypeError" in failed[0]
    assert TOKEN not in "\n".join(failed)
