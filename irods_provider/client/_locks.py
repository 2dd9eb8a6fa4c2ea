"""Telling a data object another client is still writing from one whose bytes are unreadable for good.

While a replica is open for write, iRODS (4.2.9+) makes it intermediate (``DATA_REPL_STATUS`` 2) and every
sibling write-locked (4) (irods 4.3.4 ``logical_locking.cpp`` ``lock_impl``), so the object has no good
replica until the writer closes it: the HTTP API's ``stat`` then answers SYS_NO_GOOD_REPLICA and its
``read`` HTTP 500, both from ``data_object_size``, which asks for ``DATA_REPL_STATUS = '1'``
(``filesystem.cpp``:735-763). An object whose replicas are all stale (its write failed) answers the same.
The replica statuses tell the two apart.

HIERARCHY_ERROR (no resource voted for an operation, irods 4.3.4 irods_resource_redirect.cpp:244-245) is
the same kind of answer: a replica a write holds votes zero (voting.cpp:55-76), and so does every replica on
a resource marked down (voting.cpp:21-26). :func:`unavailable_error` tells them apart by the catalog.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from irods_provider._error_codes import error_code
from irods_provider.client._models import LOCKED_STATUSES, Replica
from irods_provider.exceptions import IrodsLockedError, IrodsReplicaUnavailableError, IrodsResponseError

__all__ = [
    "GOOD_REPLICA_CONDITION",
    "NO_GOOD_REPLICA",
    "STATUS_NAMES",
    "is_no_good_replica",
    "unavailable_error",
    "unreadable_error",
    "writing_error",
]

NO_GOOD_REPLICA = error_code("SYS_NO_GOOD_REPLICA")
#: The catalog condition the server itself uses for "readable" (filesystem.cpp:749, touch.cpp:377).
GOOD_REPLICA_CONDITION = "DATA_REPL_STATUS = '1'"
STATUS_NAMES = {"0": "stale", "1": "good", "2": "intermediate", "3": "read-locked", "4": "write-locked"}


class _Replica(Protocol):
    """What is read of a replica here: its number and ``DATA_REPL_STATUS``."""

    @property
    def number(self) -> int: ...

    @property
    def status(self) -> str: ...


def is_no_good_replica(error: BaseException) -> bool:
    """Whether the server refused because the object has no good replica (SYS_NO_GOOD_REPLICA)."""
    return isinstance(error, IrodsResponseError) and error.irods_code == NO_GOOD_REPLICA


def writing_error(
    path: str,
    replicas: Sequence[_Replica],
    *,
    cause: IrodsResponseError | None = None,
    operation: str = "stat",
) -> IrodsLockedError | None:
    """The lock error for ``path`` when no replica is good and one is intermediate or locked (a write holds
    it), else None. ``cause`` (the server's SYS_NO_GOOD_REPLICA answer) lends its HTTP status and code."""
    held = {r.status for r in replicas}
    if not held & LOCKED_STATUSES or "1" in held:
        return None
    statuses = ", ".join(f"{r.number} {STATUS_NAMES.get(r.status, r.status)}" for r in replicas)
    return IrodsLockedError(
        f"another client is still writing this data object: it has no good replica until that write "
        f"closes (replicas: {statuses})",
        http_status=None if cause is None else cause.http_status,
        irods_code=NO_GOOD_REPLICA if cause is None else cause.irods_code,
        operation=operation if cause is None else cause.operation,
        path=path,
        server_message=None if cause is None else cause.server_message,
    )


def unreadable_error(path: str, replicas: Sequence[_Replica], *, operation: str) -> IrodsResponseError | None:
    """Why ``path`` (with these replicas) cannot be read now, or None when a replica is good (or none is
    known): IrodsLockedError while another client writes it, else SYS_NO_GOOD_REPLICA (its write failed).

    Raised before a server-side copy: the server reads an all-stale object through a stale replica (it
    votes low, not zero: irods 4.3.4 voting.cpp:42-93) and the copy closes good, a failed write's bytes."""
    if not replicas or any(r.status == "1" for r in replicas):
        return None
    locked = writing_error(path, replicas, operation=operation)
    if locked is not None:
        return locked
    statuses = ", ".join(f"{r.number} {STATUS_NAMES.get(r.status, r.status)}" for r in replicas)
    return IrodsResponseError(
        f"this data object has no good replica (its last write failed: replicas {statuses}); nothing to read",
        irods_code=NO_GOOD_REPLICA,
        operation=operation,
        path=path,
    )


def unavailable_error(
    error: IrodsResponseError, found: Sequence[tuple[str, Sequence[Replica]]], down: Collection[str]
) -> IrodsResponseError:
    """``error`` (HIERARCHY_ERROR) said as what the catalog shows of the objects the operation named
    (``found``: each path with its replicas) and the resources marked ``down``: IrodsLockedError naming the
    object a write holds (a replica intermediate or locked), else IrodsReplicaUnavailableError."""
    for path, replicas in found:
        if any(r.status in LOCKED_STATUSES for r in replicas):
            return error.retold(
                f"iRODS HTTP API refused {error.operation}: another client is writing this data object, and "
                f"no replica takes the operation until that write closes (replicas: {_listed(replicas, ())})",
                kind=IrodsLockedError,
                path=path,
            )
    if down:
        why = f"the resources of its replicas are marked down ({', '.join(sorted(down))})"
    else:
        why = "no write holds it and no resource of its replicas is marked down (is the resource named one "
        why += "without a replica of it?)"
    shown = "; ".join(f"{path}: {_listed(replicas, down)}" for path, replicas in found) or "none read"
    return error.retold(
        f"iRODS HTTP API refused {error.operation}: no resource takes it, as {why} (replicas: {shown})",
        kind=IrodsReplicaUnavailableError,
    )


def _listed(replicas: Sequence[Replica], down: Collection[str]) -> str:
    return ", ".join(
        f"{r.number} {STATUS_NAMES.get(r.status, r.status)} on {r.hierarchy}"
        + (" (down)" if set(r.hierarchy.split(";")) & set(down) else "")
        for r in replicas
    )
