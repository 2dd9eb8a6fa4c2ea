"""Triggers of one connection share one session in a triggerer process: one login, closed with the last."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from irods_provider.exceptions import IrodsAuthenticationError
from irods_provider.triggers import _shared
from irods_provider.triggers._shared import SHARE_ENV, shared_session_count, trigger_session
from irods_provider.triggers.irods import IrodsPathTrigger

HOME = "/tempZone/home/rods"
N = 25
DEADLINE = 15.0


async def until(condition: Any) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE
    while not condition():
        assert loop.time() < end, "condition not met before the deadline"
        await asyncio.sleep(0.01)


class Waiting:
    """N path triggers waiting on a missing object; counts their finished scans."""

    def __init__(self, conn_id: str, n: int = N) -> None:
        self.scans = [0] * n
        self.events: list[dict[str, Any]] = []
        self.tasks = [asyncio.ensure_future(self._run(i, conn_id)) for i in range(n)]

    async def _run(self, index: int, conn_id: str) -> None:
        trigger = IrodsPathTrigger(path=f"{HOME}/never-there", irods_conn_id=conn_id, poke_interval=0.01)

        async def sleep(_seconds: float) -> None:
            self.scans[index] += 1
            await asyncio.sleep(0.01)

        trigger._sleep = sleep  # type: ignore[method-assign]
        async for event in trigger.run():
            self.events.append(event.payload)

    async def cancel(self, tasks: list[asyncio.Future[None]]) -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_n_triggers_of_one_connection_log_in_once(irods) -> None:
    before = irods.token_count()
    waiting = Waiting("irods_default")
    await until(lambda: all(s >= 2 for s in waiting.scans))
    assert irods.token_count() - before == 1  # one login for all N triggers
    assert shared_session_count() == 1
    loop = asyncio.get_running_loop()
    session = await _shared._REGISTRY[loop]["irods_default"].opening

    await waiting.cancel(waiting.tasks[:-1])
    assert shared_session_count() == 1
    assert not session._client.is_closed
    await waiting.cancel(waiting.tasks[-1:])
    assert shared_session_count() == 0
    assert session._client.is_closed  # the last trigger closed it
    assert waiting.events == []

    # A trigger arriving afterwards opens a new session, presenting the token still valid: no new login
    # (hooks/_token_sources.py; test_trigger_masker_growth.py counts what that spares the masker).
    again = Waiting("irods_default", 1)
    await until(lambda: again.scans[0] >= 1)
    assert shared_session_count() == 1
    assert await _shared._REGISTRY[loop]["irods_default"].opening is not session
    assert irods.token_count() - before == 1
    await again.cancel(again.tasks)


async def test_sharing_switched_off_logs_in_per_trigger(irods, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SHARE_ENV, "false")
    before = irods.token_count()
    waiting = Waiting("irods_default", 5)
    await until(lambda: all(s >= 1 for s in waiting.scans))
    assert irods.token_count() - before == 5
    assert shared_session_count() == 0
    await waiting.cancel(waiting.tasks)


async def test_a_refused_login_is_the_same_typed_error_for_every_trigger(
    irods, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = f"irods://rods:not-the-password@127.0.0.1:{irods.port}/http?zone=tempZone"
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_BAD", bad)
    before = irods.token_count()

    async def borrow() -> BaseException:
        try:
            async with trigger_session("irods_bad"):
                raise AssertionError("the login was accepted")
        except IrodsAuthenticationError as error:
            return error

    errors = await asyncio.gather(*(borrow() for _ in range(N)))
    assert all(e is errors[0] for e in errors)  # one login attempt, one error object for all
    assert errors[0].http_status == 401
    assert "login refused for user 'rods'" in errors[0].message
    assert "not-the-password" not in str(errors[0])
    assert shared_session_count() == 0  # a failed opening is not kept: the next trigger tries again
    assert irods.token_count() == before

    # Through the triggers: each ends its wait with the same typed error event.
    waiting = Waiting("irods_bad", 5)
    await asyncio.gather(*waiting.tasks)
    assert len(waiting.events) == 5
    assert {(e["status"], e["error_class"], e["http_status"], e["message"]) for e in waiting.events} == {
        ("error", "IrodsAuthenticationError", 401, errors[0].message)
    }
