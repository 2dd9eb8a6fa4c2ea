"""One async session per connection and event loop, shared by every trigger of a triggerer process.

A triggerer holding 1,000 waiting iRODS sensors would otherwise open 1,000 sessions and log in 1,000 times
(and, with OpenID, ask the provider for 1,000 tokens at start and at every expiry). Here the first trigger of
a connection opens the session and logs in once; later ones borrow it; the last one to leave closes it. A
failed login is the one error every trigger waiting on that opening receives (the same exception object).

Sharing is per event loop (a session's HTTP pool belongs to its loop) and can be switched off with the
environment variable ``AIRFLOW_IRODS_SHARE_TRIGGER_SESSIONS=false`` (each trigger then opens its own, the
behaviour before sharing; the scale benchmark uses it as its baseline). With sharing on, sessions of a
connection opened in turn (the last trigger left, a new one came) also share one token source for the
process's life, so that they present the token still valid instead of minting (and masking) one each.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from irods_provider.client import AsyncIrodsSession

__all__ = [
    "SHARE_ENV",
    "discard_session",
    "open_session",
    "shared_session_count",
    "sharing_enabled",
    "trigger_session",
]

#: Environment switch: ``false``/``0``/``no``/``off`` turns sharing off.
SHARE_ENV = "AIRFLOW_IRODS_SHARE_TRIGGER_SESSIONS"


@dataclass
class _Entry:
    """A session being opened (or open) for one connection, and how many triggers hold it."""

    opening: asyncio.Future[AsyncIrodsSession]
    users: int = 0


_REGISTRY: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Entry]] = (
    weakref.WeakKeyDictionary()
)


def sharing_enabled() -> bool:
    """Whether triggers share sessions (the default) or each opens its own."""
    return os.environ.get(SHARE_ENV, "true").strip().lower() not in ("false", "0", "no", "off")


def shared_session_count() -> int:
    """Sessions currently shared in this event loop (for tests and the benchmark)."""
    return len(_REGISTRY.get(asyncio.get_running_loop(), {}))


async def open_session(conn_id: str) -> AsyncIrodsSession:
    """Open a session for ``conn_id`` through :class:`IrodsHook` and log in now, so failures surface here.

    A connection Airflow cannot look up raises :class:`~irods_provider.exceptions.IrodsConfigurationError`
    naming ``conn_id``, as any session that cannot be opened does (a trigger's error event, or a watcher's
    retry at the next poll; never a foreign exception that ends the trigger).
    """
    from airflow.sdk.exceptions import AirflowException, AirflowNotFoundException

    from irods_provider.exceptions import IrodsConfigurationError
    from irods_provider.hooks.irods import IrodsHook

    try:
        session = await IrodsHook(conn_id).get_async_conn(share_token_source=sharing_enabled())
    except AirflowNotFoundException:
        raise IrodsConfigurationError(f"the Airflow connection {conn_id!r} is not defined") from None
    except AirflowException as error:  # its text may quote the connection: name the class only
        raise IrodsConfigurationError(
            f"the Airflow connection {conn_id!r} could not be read ({type(error).__name__})"
        ) from None
    try:
        if session.auth is not None:
            await session.auth.aget_token()
    except BaseException:
        await session.aclose()
        raise
    return session


def _forget_failed(entries: dict[str, _Entry], conn_id: str, entry: _Entry) -> None:
    """Drop a failed opening at once, so a trigger arriving later tries again instead of reusing it."""

    def done(future: asyncio.Future[AsyncIrodsSession]) -> None:
        if (future.cancelled() or future.exception() is not None) and entries.get(conn_id) is entry:
            del entries[conn_id]

    entry.opening.add_done_callback(done)


async def _release(entries: dict[str, _Entry], conn_id: str, entry: _Entry) -> None:
    """One trigger leaves; the last one closes the session (or abandons an opening still under way)."""
    entry.users -= 1
    if entry.users > 0:
        return
    if entries.get(conn_id) is entry:
        del entries[conn_id]
    if not entry.opening.done():
        entry.opening.cancel()
        return
    if not entry.opening.cancelled() and entry.opening.exception() is None:
        await entry.opening.result().aclose()


def discard_session(conn_id: str, session: AsyncIrodsSession) -> None:
    """Lend ``session`` of ``conn_id`` no more: its login was refused (a password rotated while triggers
    waited). The next trigger to ask opens a fresh session, re-reading the connection, with a token source of
    its own; the triggers holding this one keep it until they leave, and the last one closes it."""
    from irods_provider.hooks._token_sources import forget_token_source

    forget_token_source(session.auth)
    entries = _REGISTRY.get(asyncio.get_running_loop(), {})
    entry = entries.get(conn_id)
    opening = None if entry is None else entry.opening
    if opening is None or not opening.done() or opening.cancelled() or opening.exception() is not None:
        return
    if opening.result() is session:
        del entries[conn_id]


@contextlib.asynccontextmanager
async def trigger_session(conn_id: str) -> AsyncIterator[AsyncIrodsSession]:
    """The session of ``conn_id`` for one trigger's wait: shared in this loop unless sharing is off.

    Raises what opening or logging in raised (typed :class:`~irods_provider.exceptions.IrodsError`).
    """
    if not sharing_enabled():
        async with await open_session(conn_id) as own:
            yield own
        return
    entries = _REGISTRY.setdefault(asyncio.get_running_loop(), {})
    entry = entries.get(conn_id)
    if entry is None:
        entry = _Entry(asyncio.ensure_future(open_session(conn_id)))
        entries[conn_id] = entry
        _forget_failed(entries, conn_id, entry)
    entry.users += 1
    try:
        # shield: one trigger being cancelled must not cancel the opening the others wait on.
        session = await asyncio.shield(entry.opening)
        yield session
    finally:
        await _release(entries, conn_id, entry)
