"""Where the current refresh token of an OpenID connection lives, and the lease that serialises renewals.

A provider that rotates refresh tokens revokes each one when it is used; one that protects against reuse
(Keycloak "revoke refresh token", django-oauth-toolkit ``REFRESH_TOKEN_REUSE_PROTECTION``) ends the whole
session when a revoked one comes back. Every process of a deployment must therefore present the newest
token, and only one at a time: a renewal holds the key's lease (with an expiry, so a crashed holder cannot
block the others forever), reads the current token, presents it once and stores the rotated one.

:class:`InProcessTokenStore` serves one process (tests, ``dag.test()``); :class:`SqliteTokenStore` serves
the processes of one host through a sqlite file; the Airflow layer adds a store on Airflow Variables.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol, runtime_checkable

from irods_provider.exceptions import IrodsTimeoutError

__all__ = ["PROCESS_TOKEN_STORE", "InProcessTokenStore", "SqliteTokenStore", "TokenStore", "new_holder"]

#: How long a waiting renewal polls for a lease held elsewhere (seconds between looks).
LEASE_POLL_SECONDS = 0.02


@runtime_checkable
class TokenStore(Protocol):
    """One secret per key, shared by the processes using the store, and an exclusive lease per key.

    A store whose lease never admits two holders at once (a real lock) sets ``exclusive_lease = True``: a
    refresh token refused inside its lease was then not rotated by a concurrent renewal, and the source
    does not wait for one to store a newer token (see ``OpenIdRefreshToken``)."""

    def get(self, key: str) -> str | None:
        """The stored value, or None."""
        ...

    def put(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``."""
        ...

    def lease(self, key: str, *, seconds: float) -> AbstractContextManager[None]:
        """Hold ``key`` exclusively for the block; a holder that hangs is overtaken after ``seconds``."""
        ...


def new_holder() -> str:
    """A lease-holder name unique across processes and threads."""
    return f"{os.getpid()}-{threading.get_ident()}-{uuid.uuid4().hex[:12]}"


def _no_lease(key: str, seconds: float) -> IrodsTimeoutError:
    return IrodsTimeoutError(f"no lease on refresh token store key {key[:12]}... within {2 * seconds:.0f} s")


def wait_for(
    take: Callable[[], bool], *, key: str, seconds: float, clock: Callable[[], float] = time.monotonic
) -> None:
    """Call ``take`` until it returns True; IrodsTimeoutError once a lease could have expired twice over."""
    deadline = clock() + 2 * seconds + 1
    while not take():
        if clock() > deadline:
            raise IrodsTimeoutError(
                f"no lease on refresh token store key {key[:12]}... within {2 * seconds:.0f} s"
            )
        time.sleep(LEASE_POLL_SECONDS)


class InProcessTokenStore:
    """A dict and one lock per key: the store of a single process (tests, ``dag.test()``)."""

    exclusive_lease = True

    def __init__(self) -> None:
        self._values: dict[str, str] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def __repr__(self) -> str:
        return f"InProcessTokenStore({len(self._values)} keys)"

    def get(self, key: str) -> str | None:
        """The stored value, or None."""
        with self._guard:
            return self._values.get(key)

    def put(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``."""
        with self._guard:
            self._values[key] = value

    @contextlib.contextmanager
    def lease(self, key: str, *, seconds: float) -> Iterator[None]:
        """The key's lock (a thread that dies releases it, so no expiry is needed in one process)."""
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        if not lock.acquire(timeout=2 * seconds + 1):
            raise IrodsTimeoutError(
                f"no lease on refresh token store key {key[:12]}... within {2 * seconds:.0f} s"
            )
        try:
            yield
        finally:
            lock.release()


#: The default store: remembers rotated refresh tokens for the life of the process.
PROCESS_TOKEN_STORE = InProcessTokenStore()


class SqliteTokenStore:
    """A sqlite file shared by the processes of one host; a lease is a row with a holder and an expiry.

    Each lease attempt is one ``BEGIN IMMEDIATE`` transaction (sqlite's write lock), so taking a lease is
    atomic across processes. Values are stored as given: put it where only the deployment's user can read.
    """

    exclusive_lease = True

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS tokens (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            db.execute(
                "CREATE TABLE IF NOT EXISTS leases (key TEXT PRIMARY KEY, holder TEXT NOT NULL, expires REAL)"
            )

    def __repr__(self) -> str:
        return f"SqliteTokenStore({str(self.path)!r})"

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    def get(self, key: str) -> str | None:
        """The stored value, or None."""
        with self._connect() as db:
            row = db.execute("SELECT value FROM tokens WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def put(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``."""
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO tokens (key, value) VALUES (?, ?)", (key, value))

    def _take(self, key: str, holder: str, seconds: float) -> bool:
        with self._connect() as db:
            row = db.execute("SELECT holder, expires FROM leases WHERE key = ?", (key,)).fetchone()
            now = time.time()
            if row is not None and row[0] != holder and float(row[1]) > now:
                return False
            db.execute(
                "INSERT OR REPLACE INTO leases (key, holder, expires) VALUES (?, ?, ?)",
                (key, holder, now + seconds),
            )
            return True

    @contextlib.contextmanager
    def lease(self, key: str, *, seconds: float) -> Iterator[None]:
        """Hold the key's lease row for the block (taken over by others once ``seconds`` have passed)."""
        holder = new_holder()
        wait_for(lambda: self._take(key, holder, seconds), key=key, seconds=seconds)
        try:
            yield
        finally:
            with self._connect() as db:
                db.execute("DELETE FROM leases WHERE key = ? AND holder = ?", (key, holder))
