"""One BasicAuth shared by several sessions logs in through the session that needs the token.

It used to log in through the session bound last: a session on another thread's event loop then sent its login
on this loop's client (a connection of one loop closed by another: "Event loop is closed"), and a closed
session's client could be asked to log in for a live one.
"""

from __future__ import annotations

import asyncio

import pytest

from irods_provider.client import AsyncIrodsSession, BasicAuth, IrodsSession

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"


def test_a_session_logs_in_through_itself_when_a_later_one_is_closed(irods_emulator) -> None:  # type: ignore[no-untyped-def]
    auth = BasicAuth("rods", irods_emulator.config.admin_password)
    with IrodsSession(irods_emulator.base_url, auth=auth) as first:
        with IrodsSession(irods_emulator.base_url, auth=auth):
            pass  # bound last, then closed
        assert first.collections.stat(HOME).path == HOME
    assert auth.login_count == 1


async def test_an_async_session_logs_in_on_its_own_loop(irods_emulator) -> None:  # type: ignore[no-untyped-def]
    auth = BasicAuth("rods", irods_emulator.config.admin_password)

    async def other_loop() -> None:
        async with AsyncIrodsSession(irods_emulator.base_url, auth=auth):
            pass  # bound last, on a loop that is closed when asyncio.run returns

    async with AsyncIrodsSession(irods_emulator.base_url, auth=auth) as session:
        await asyncio.to_thread(asyncio.run, other_loop())
        assert (await session.collections.stat(HOME)).path == HOME
        auth.close()  # forget the token: the next request logs in again, through this session
        assert (await session.collections.stat(HOME)).path == HOME
    assert auth.login_count == 2
