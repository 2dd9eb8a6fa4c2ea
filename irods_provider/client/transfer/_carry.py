"""What an overwrite keeps of the object it replaces: its grants and AVUs, as ``iput -f`` does.

The engine publishes by renaming a verified temporary onto the path, which makes the new object a new
catalog entry: without this, every re-run with ``overwrite`` silently drops a colleague's read grant and
the AVUs other workflows set. The caller's own ``metadata`` and ``permissions`` win for the attributes and
entities they name; the engine's own bookkeeping AVUs (resume and handle records) are never carried.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from irods_provider.client import AVU, MetadataOperation, Permission, PermissionOperation
from irods_provider.client._locks import is_no_good_replica
from irods_provider.client._temporaries import HANDLE_ATTRIBUTE, RESUME_ATTRIBUTE
from irods_provider.exceptions import IrodsError, IrodsLockedError, IrodsResponseError

from . import _resume
from ._api import SessionLike
from ._retry import ChunkRetrier

log = logging.getLogger(__name__)

_BOOKKEEPING = frozenset({RESUME_ATTRIBUTE, HANDLE_ATTRIBUTE})


def carry_over(
    session: SessionLike,
    old: str,
    new: str,
    *,
    metadata: Sequence[Any] | Mapping[str, str] = (),
    permissions: Mapping[str, str] | None = None,
    retry: ChunkRetrier,
) -> None:
    """Give ``new`` the grants and AVUs of the object at ``old`` that the caller does not set itself.

    Grants are read first, from ``old``'s ``stat`` (from the catalog when it has no good replica, or its
    name holds a ``+``, which no GET can carry), so an ``old`` another client is writing raises its
    IrodsLockedError before ``new`` is given anything; they go to entities ``new`` has no entry for. AVUs
    are read from the catalog. Each request goes through ``retry`` (reads, adding an AVU and granting are
    safe to resend).
    """
    theirs = _grants(session, old, retry)
    named = {a.attribute for a in _avus(metadata)}
    listed: list[AVU] = retry.call(lambda: session.metadata.list(old))
    avus = [a for a in listed if a.attribute not in named and a.attribute not in _BOOKKEEPING]
    if avus:
        ops = [MetadataOperation("add", a) for a in avus]
        retry.call(lambda: session.metadata.apply(new, ops, kind=_resume._data_object_kind()))
    given = set(permissions or {})
    # Entities with an entry on the new object keep it: the caller's grants, inherited ones and the writer's
    # own (lowered to its entry on the old object, the writer could no longer remove a refused temporary).
    there = {(p.name, p.zone) for p in _grants(session, new, retry)}
    grants = [
        PermissionOperation(f"{p.name}#{p.zone}" if p.zone else p.name, p.perm)
        for p in theirs
        if p.name not in given and f"{p.name}#{p.zone}" not in given and (p.name, p.zone) not in there
    ]
    if grants:
        try:
            retry.call(lambda: session.data_objects.modify_permissions(new, grants))
        except IrodsError as exc:  # e.g. an entity since removed: the bytes are still worth publishing
            log.warning("could not carry the grants of %s to its new version: %s", old, exc)


def _grants(session: SessionLike, path: str, retry: ChunkRetrier) -> Sequence[Permission]:
    """The grants of the object at ``path``: from its ``stat``, or from the catalog for a ``+`` name or
    an object without a good replica (its write failed: the stat answers SYS_NO_GOOD_REPLICA, its grants
    are still its own). An object another client is writing raises that IrodsLockedError."""
    if "+" not in path:
        try:
            return _acl(retry.call(lambda: session.data_objects.stat(path)))
        except IrodsLockedError:
            raise
        except IrodsResponseError as exc:
            if not is_no_good_replica(exc):
                raise
    listed: Sequence[Permission] = retry.call(lambda: session.data_objects.permissions(path))
    return listed


def _acl(stat: object) -> Sequence[Permission]:
    return getattr(stat, "permissions", ())  # the unit tests' fake stat carries none


def _avus(metadata: Sequence[Any] | Mapping[str, str]) -> list[AVU]:
    if isinstance(metadata, Mapping):
        return [AVU(k, v) for k, v in metadata.items()]
    return list(metadata)
