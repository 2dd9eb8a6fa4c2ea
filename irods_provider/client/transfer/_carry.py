"""What an overwrite keeps of the object it replaces: its grants and AVUs, as ``iput -f`` does.

The engine publishes by renaming a verified temporary onto the path, which makes the new object a new
catalog entry: without this, every re-run with ``overwrite`` silently drops a colleague's read grant and
the AVUs other workflows set. The caller's own ``metadata`` and ``permissions`` win for the attributes and
entities they name; the engine's own bookkeeping AVUs (resume and handle records) are never carried.

In a federated zone AVUs cannot be carried: iRODS's atomic metadata call runs on the local catalog (irods
4.3.4 plugins/api/src/atomic_apply_metadata_operations.cpp:151-194, :445-470) and the HTTP API has no other
call that sets them. An overwrite there of an object with AVUs is refused before any byte is read
(:func:`refuse_dropping_remote_avus`) unless ``TransferConfig.drop_remote_avus``; grants are carried one by
one with ``set_permission``, which iRODS routes to the path's zone.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from irods_provider.client import AVU, MetadataOperation, Permission, PermissionOperation
from irods_provider.client._locks import is_no_good_replica
from irods_provider.client._models import EntryKind
from irods_provider.client._temporaries import HANDLE_ATTRIBUTE, RESUME_ATTRIBUTE
from irods_provider.exceptions import (
    IrodsError,
    IrodsLockedError,
    IrodsRemoteMetadataError,
    IrodsResponseError,
)

from . import _journal, _resume
from ._api import SessionLike
from ._retry import ChunkRetrier

log = logging.getLogger(__name__)

_BOOKKEEPING = frozenset({RESUME_ATTRIBUTE, HANDLE_ATTRIBUTE})


def refuse_dropping_remote_avus(session: SessionLike, path: str, *, drop: bool, operation: str) -> None:
    """Raise :class:`IrodsRemoteMetadataError` when ``path`` lies in a federated zone and its object carries
    AVUs (other than the engine's bookkeeping) an overwrite could not carry over, unless ``drop``. Called
    before the source is read; one catalog query, none for a path of the local zone."""
    if drop or (zone := _journal.remote_zone(session, path)) is None:
        return
    listed: list[AVU] = session.metadata.list(path, kind=EntryKind.DATA_OBJECT)
    if names := _carried_names(listed):
        raise _dropping(path, zone, names, operation)


def _carried_names(listed: Sequence[AVU]) -> tuple[str, ...]:
    return tuple(sorted({a.attribute for a in listed if a.attribute not in _BOOKKEEPING}))


def _dropping(path: str, zone: str, names: tuple[str, ...], operation: str) -> IrodsRemoteMetadataError:
    shown = ", ".join(repr(n) for n in names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return IrodsRemoteMetadataError(
        f"overwriting {path} would drop its AVUs ({shown}): iRODS cannot set AVUs on an object of zone "
        f"{zone!r} through the HTTP API (its atomic metadata call runs on the local catalog); remove or "
        "re-create them from a client of that zone, or pass drop_remote_avus=True (TransferConfig, the "
        "transfer operators, the fsspec storage options) to replace the object without them",
        zone=zone,
        attributes=names,
        operation=operation,
        path=path,
    )


def carry_over(
    session: SessionLike,
    old: str,
    new: str,
    *,
    metadata: Sequence[Any] | Mapping[str, str] = (),
    permissions: Mapping[str, str] | None = None,
    retry: ChunkRetrier,
    drop_remote_avus: bool = False,
) -> None:
    """Give ``new`` the grants and AVUs of the object at ``old`` that the caller does not set itself.

    Grants are read first, from ``old``'s ``stat`` (from the catalog when it has no good replica, or its
    name holds a ``+``, which no GET can carry), so an ``old`` another client is writing raises its
    IrodsLockedError before ``new`` is given anything; they go to entities ``new`` has no entry for. AVUs
    are read from the catalog. Each request goes through ``retry`` (reads, adding an AVU and granting are
    safe to resend). In a federated zone, AVUs raise :class:`IrodsRemoteMetadataError` (set there since
    the early check) or, with ``drop_remote_avus``, are dropped with a warning.
    """
    theirs = _grants(session, old, retry)
    named = {a.attribute for a in _avus(metadata)}
    listed: list[AVU] = retry.call(lambda: session.metadata.list(old))
    avus = [a for a in listed if a.attribute not in named and a.attribute not in _BOOKKEEPING]
    zone = _journal.remote_zone(session, old)
    if avus and zone is not None:
        if not drop_remote_avus:
            raise _dropping(old, zone, _carried_names(avus), "upload")
        log.warning("%s replaced without its %d AVUs (drop_remote_avus: zone %r)", old, len(avus), zone)
    elif avus:
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
            _grant(session, new, grants, remote=zone is not None, retry=retry)
        except IrodsError as exc:  # e.g. an entity since removed: the bytes are still worth publishing
            log.warning("could not carry the grants of %s to its new version: %s", old, exc)


def _grant(
    session: SessionLike,
    path: str,
    grants: Sequence[PermissionOperation],
    *,
    remote: bool,
    retry: ChunkRetrier,
) -> None:
    """Grant ``grants`` on ``path``: in one atomic call, or one ``set_permission`` each in a federated zone,
    where iRODS routes that call to the path's zone and the atomic one cannot reach it."""
    if not remote:
        retry.call(lambda: session.data_objects.modify_permissions(path, grants))
        return
    for g in grants:
        retry.call(functools.partial(session.data_objects.set_permission, path, g.entity_name, g.acl))


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
