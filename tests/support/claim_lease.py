"""Test helpers for overwrites in place: a path several writers share, a writer in a thread, what is left, and
a claim made to look as its killed writer left it a lease ago."""

from __future__ import annotations

import posixpath
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from irods_provider.client import AVU, BasicAuth, IrodsSession, MetadataOperation, PermissionOperation
from irods_provider.client._temporaries import LEASE_ATTRIBUTE, WRITER_ATTRIBUTE


def lapse(session: Any, claim: str) -> None:
    """Backdate ``claim``'s record and renewal by its lease and a second, in one atomic call: the claim of
    a writer killed that long ago (it no longer renews), which any other writer may take over."""
    avus = session.metadata.list(claim)
    leases = [a for a in avus if a.attribute == LEASE_ATTRIBUTE]
    assert leases, f"{claim} records no renewal"
    lease = max(float(a.value.split(" ")[2]) for a in leases)
    ops = []
    for avu in avus:
        parts = avu.value.split(" ")
        if avu.attribute == WRITER_ATTRIBUTE:
            value = f"{parts[0]} {parts[1]} {int(float(parts[2]) - lease - 1)}"
        elif avu.attribute == LEASE_ATTRIBUTE:
            value = f"{parts[0]} {float(parts[1]) - lease - 1:.3f} {parts[2]}"
        else:
            continue
        ops += [MetadataOperation("remove", avu), MetadataOperation("add", AVU(avu.attribute, value))]
    session.metadata.apply(claim, ops)


@contextmanager
def shared_object(server: Any, path: str, *writers: tuple[str, str]) -> Iterator[list[IrodsSession]]:
    """rods's ``path`` (b"old"), which each of ``writers`` (user, password; a user named twice: two sessions
    of hers, two tasks) may modify but not rename, owning its collection: the sessions, rods's first."""
    users = dict(writers)
    for user, password in users.items():
        server.add_user(user, password)
    logins = [("rods", "rods-emulator"), *writers]
    with ExitStack() as stack:
        sessions = [
            stack.enter_context(IrodsSession(server.base_url, auth=BasicAuth(user, password)))
            for user, password in logins
        ]
        rods = sessions[0]
        rods.data_objects.write(path, b"old")
        rods.collections.modify_permissions(
            posixpath.dirname(path), [PermissionOperation(user, "own") for user in users]
        )
        rods.data_objects.modify_permissions(path, [PermissionOperation(user, "write") for user in users])
        yield sessions


def in_thread(action: Callable[[], None]) -> tuple[threading.Thread, list[BaseException | None]]:
    """Run ``action`` in a thread; the list gets its exception (None: it succeeded)."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            action()
        except BaseException as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def left(server: Any, collection: str) -> list[str]:
    """The data objects in ``collection`` and below, as the emulator's catalog holds them (sorted)."""
    with server.model.lock:
        return sorted(p for p in server.model.data_objects if p.startswith(f"{collection}/"))
