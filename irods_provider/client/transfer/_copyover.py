"""Overwriting an object its writer may modify but not rename: a verified server-side copy in place.

An overwrite normally moves the old object aside and renames the verified temporary onto its path. iRODS
4.3 wants ``own`` for a rename (chlRenameObject: db_plugin.cpp:10793 at 4.3.2; chlMoveObject too, :11170)
and ``delete_object`` for a removal (db_unreg_replica_op: :3336-3339), so a caller holding ``modify_object``
(``write``, all ``iput -f`` needs) is refused the first rename with CAT_NO_ACCESS_PERMISSION (:11033).

Such a caller publishes in place instead, as ``iput -f`` writes in place:

1. the old bytes are copied (server-side) to a temporary sibling the caller owns, checked against the
   path's checksum, and only then renamed to the backup name, ``.<name>.irods-keep-<key>``: a backup
   under that name is always a complete, verified copy. An earlier attempt's backup there (a worker killed
   mid-publish) is removed when the path holds either content it recorded, or other content in a good
   replica (written since: putting the backup back would revert it); over a path left with no good replica
   (a failed copy marks the replica it wrote stale) it is first copied back and proven, then removed, and
   the overwrite proceeds; if that fails, :class:`IrodsOverwriteIncompleteError` names the backup, which
   is kept. The cleanup of abandoned
   temporaries leaves backups alone (an unfinished backup copy is an ordinary temporary: the path was not
   touched yet);
2. the verified temporary is copied onto the path with ``overwrite``. The object keeps its catalog entry,
   grants and AVUs. The server opens its replica for writing, so the replica stays locked (intermediate)
   until the copy closes, and a copy onto an existing object resolves to that object's replica
   (irods_resource_redirect.cpp:390-401);
3. the path's checksum is computed afresh and compared with the temporary's verified one, and (unless
   ``verify_replicas`` is ``default``) every good replica's too; a replica of the same root resource left
   stale (a replication resource whose copy failed) fails the check;
4. if the copy or that check fails, the backup is copied back and checked the same way. If that fails too,
   :class:`IrodsOverwriteIncompleteError` names the backup, which is kept;
5. the upload's AVUs are applied (``modify_object`` covers metadata), then the backup and the temporary are
   removed.

Grants cannot be set without ``own``, so an upload that asks for ``permissions`` is refused before any
change. A copy is as long as the object, where a rename is one catalog update.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from irods_provider.client import AVU, MetadataOperation
from irods_provider.client._locks import writing_error
from irods_provider.client._paths import temporary_name
from irods_provider.client._temporaries import KEEP_ATTRIBUTE, LEASE_ATTRIBUTE, WRITER_ATTRIBUTE
from irods_provider.exceptions import (
    IrodsAlreadyExistsError,
    IrodsChecksumMismatchError,
    IrodsClaimUnconfirmedError,
    IrodsError,
    IrodsNotADataObjectError,
    IrodsNotFoundError,
    IrodsOverwriteIncompleteError,
    IrodsPathClaimedError,
    IrodsPermissionError,
)

from . import _resume
from ._api import SessionLike
from ._claim import (
    CLAIM_LEASE_SECONDS,
    Claim,
    Lease,
    claimed_error,
    holder,
    is_abandoned,
    read_claim,
    still_mine,
)
from ._config import ReplicaVerification
from ._replicas import verify_in_place
from ._retry import ChunkRetrier, is_busy

log = logging.getLogger(__name__)

__all__ = ["CLAIM_LEASE_SECONDS", "InPlace", "avus_applier", "backup_name", "overwrite_in_place"]

#: How often a backup copy is made again when another writer changed the path while it was copied.
BACKUP_ATTEMPTS = 3


@dataclass(frozen=True)
class InPlace:
    """What an overwrite in place must also do for its caller.

    ``refuse``: why it cannot be done (checked before anything changes). ``apply``: run after the copy is
    verified (an upload's AVUs). ``replicas``: which replicas the verification covers (the upload's
    ``TransferConfig.verify_replicas``; see :func:`~._replicas.verify_in_place`). ``owner``: what every
    attempt of this transfer shares and no other transfer does (an upload's stable resume key and path),
    so a retry after ``kill -9`` recognises its killed attempt's claim (see :mod:`._claim`); None: the
    temporary's name. ``lease``: how long the claim keeps other writers out once this writer stops
    renewing it (TransferConfig ``claim_lease_seconds``).
    """

    refuse: str | None = None
    apply: Callable[[], object] = field(default=lambda: None)
    replicas: ReplicaVerification = ReplicaVerification.DEFAULT
    owner: str | None = None
    lease: float = CLAIM_LEASE_SECONDS


def rename_refused(exc: BaseException) -> bool:
    """Whether moving the old object aside was refused for want of ``own`` on it."""
    return isinstance(exc, IrodsPermissionError) and exc.irods_name == "CAT_NO_ACCESS_PERMISSION"


def backup_name(path: str) -> str:
    """Where an overwrite in place keeps ``path``'s old bytes: ``<parent>/.<name>.irods-keep-<key>``, a name
    the cleanup of abandoned temporaries leaves alone (after a kill it may be the only good copy)."""
    parent, _, name = path.rpartition("/")
    return f"{parent}/{temporary_name(name, 'keep', _resume.resume_key('keep', path)[:12])}"


def overwrite_in_place(
    session: SessionLike,
    temp: str,
    path: str,
    *,
    expected: tuple[int, str] | None,
    retry: ChunkRetrier,
    in_place: InPlace,
    cause: IrodsPermissionError,
) -> None:
    """Publish ``temp`` onto ``path`` by a verified copy, keeping ``path``'s old bytes in a backup
    (:func:`backup_name`) until the new ones are proven (see the module docstring). ``cause``: the refused
    rename."""
    api = session.data_objects
    backup = backup_name(path)
    if in_place.refuse is not None:
        raise IrodsPermissionError(
            f"{path} can be modified but not renamed by this user, so it is overwritten in place, and "
            f"{in_place.refuse}; nothing was changed",
            http_status=cause.http_status,
            irods_code=cause.irods_code,
            operation="upload",
            path=path,
        ) from cause
    good = _good_unless_written(session, path)
    log.info("%s cannot be renamed by this user (%s): overwriting it in place by a copy", path, cause)
    size, checksum = expected or (api.stat(temp).size, api.calculate_checksum(temp, force=True))
    me = Claim.new(in_place.owner, temp, lease=in_place.lease)
    kept, me = _back_up(session, path, backup, me, retry=retry, new_checksum=checksum, good=good)
    with Lease(session, backup, path, me) as lease:
        try:
            _confirm(session, backup, path, me, lease=lease, retry=retry)
            _copy_verified(session, temp, path, size=size, checksum=checksum, retry=retry)
            verify_in_place(session, path, checksum, mode=in_place.replicas)
        except BaseException as exc:
            try:
                _undo(session, backup, path, me, lease=lease, kept=kept, retry=retry, cause=exc)
            except IrodsOverwriteIncompleteError:
                lease.give_up()  # its backup is kept: the next writer puts it back now, not a lease later
                raise
            raise
        try:
            in_place.apply()
        finally:  # published and proven: the backup has served, whatever becomes of the AVUs
            _remove_quietly(session, temp)
            _release(session, backup, path, me, lease=lease, retry=retry)


def _confirm(
    session: SessionLike, backup: str, path: str, me: Claim, *, lease: Lease, retry: ChunkRetrier
) -> None:
    """Before a change to ``path``: raise unless this writer's lease is fresh and ``backup`` still records
    it (:class:`IrodsPathClaimedError`: taken over; :class:`IrodsClaimUnconfirmedError`: not known)."""
    lease.confirm()
    mine, found = still_mine(session, backup, me, path, retry=retry)
    if not mine:
        raise claimed_error(path, backup, found, taken=True)


def _undo(
    session: SessionLike,
    backup: str,
    path: str,
    me: Claim,
    *,
    lease: Lease,
    kept: bool,
    retry: ChunkRetrier,
    cause: BaseException,
) -> None:
    """After a failed copy onto ``path``: put the backup back (``kept``) or drop the claim, unless another
    writer took the claim over (then :class:`IrodsPathClaimedError`: it owns the path's state now) or this
    writer cannot confirm it still holds it (:class:`IrodsClaimUnconfirmedError`; the claim lapses and
    the next writer resolves it)."""
    if isinstance(cause, IrodsPathClaimedError | IrodsClaimUnconfirmedError):
        return
    try:
        _confirm(session, backup, path, me, lease=lease, retry=retry)
    except IrodsPathClaimedError as exc:
        raise exc from cause
    if kept:
        _restore(session, backup, path, retry=retry, cause=cause)
    else:
        _remove_quietly(session, backup)


def _release(
    session: SessionLike, backup: str, path: str, me: Claim, *, lease: Lease, retry: ChunkRetrier
) -> None:
    """Remove this writer's claim (its backup) once it has served; one taken over is left to its holder,
    one that cannot be read to lapse (the path is published: the next writer or the cleanup removes it)."""
    lease.stop()
    try:
        mine, _ = still_mine(session, backup, me, path, retry=retry)
    except IrodsClaimUnconfirmedError as exc:
        log.warning("%s is published; its claim is left to lapse: %s", path, exc)
        return
    if mine:
        _remove_quietly(session, backup)
    else:
        log.warning("%s is no longer this writer's claim (taken over): left to its holder", backup)


def _good_unless_written(session: SessionLike, path: str) -> bool:
    """Whether ``path`` has a good replica; IrodsLockedError (nothing changed yet) when another client is
    writing it. True when its replicas are not listed to this user (a ticket's access): the copy's own
    open then refuses an object being written."""
    try:
        replicas = session.data_objects.replicas(path)
    except IrodsNotADataObjectError:
        return True
    if (locked := writing_error(path, replicas, operation="upload")) is not None:
        raise locked
    return any(r.status == "1" for r in replicas)


def _back_up(
    session: SessionLike,
    path: str,
    backup: str,
    me: Claim,
    *,
    retry: ChunkRetrier,
    new_checksum: str,
    good: bool,
) -> tuple[bool, Claim]:
    """Claim ``path`` (see :mod:`._claim`) with a verified backup of it: copied to this writer's own
    temporary, proven to hold the path's bytes (both checksums computed afresh; copied again when another
    writer changed the path meanwhile), recorded (:data:`KEEP_ATTRIBUTE`: the old and the new checksum;
    :data:`WRITER_ATTRIBUTE`) and renamed to ``backup``. An earlier claim is dealt with first
    (:func:`_put_back_earlier`). Whether a backup was made: none of a path without a good replica (``good``
    False, and no earlier backup put back), whose bytes are what a failed write left (``iput -f``
    overwrites such an object; a failed overwrite leaves it as it was); its claim holds no bytes. And
    ``me`` as recorded (its time: when the claim was made, after the copy)."""
    if _put_back_earlier(session, path, backup, me, retry=retry):
        good = True
    if not good:
        log.warning("%s has no good replica (its last write failed): overwritten in place, no backup", path)
    part = me.part_name(path)
    _remove_quietly(session, part)  # a killed attempt's unfinished backup copy: ``path`` was untouched
    try:
        record = [AVU(KEEP_ATTRIBUTE, f"new {new_checksum}")]
        if good:
            record.append(AVU(KEEP_ATTRIBUTE, f"old {_copy_backup(session, path, part, retry=retry)}"))
        else:
            retry.call(lambda: session.data_objects.write(part, b""), retry_on=is_busy)
        me = me.stamped()
        record += [AVU(WRITER_ATTRIBUTE, me.value), AVU(LEASE_ATTRIBUTE, me.lease_value(me.since))]
        ops = [MetadataOperation("add", avu) for avu in record]
        kind = _resume._data_object_kind()
        retry.call(lambda: session.metadata.apply(part, ops, kind=kind), retry_on=is_busy)
        try:
            retry.call(lambda: session.data_objects.rename(part, backup), retry_on=is_busy)
        except IrodsAlreadyExistsError as exc:  # another writer claimed the path since we looked
            raise claimed_error(path, backup, holder(session, backup)[1]) from exc
    except BaseException:
        _remove_quietly(session, part)  # ``path`` is untouched: a partial backup is worth nothing
        raise
    return good, me


def _copy_backup(session: SessionLike, path: str, part: str, *, retry: ChunkRetrier) -> str:
    """Copy ``path`` to ``part`` and prove it (see :func:`_back_up`); the checksum of the bytes backed up.
    A mismatch while ``path`` itself changed (another writer overwrote it) is a reason to copy again."""
    api = session.data_objects
    for attempt in range(1, BACKUP_ATTEMPTS + 1):
        size = api.stat(path).size
        checksum = retry.call(lambda: api.calculate_checksum(path, force=True))
        # Sent once unless the server refused before acting: a lost reply may have created the copy.
        retry.call(lambda: api.copy(path, part, replicas_before=()), retry_on=is_busy)
        try:
            _verify(session, part, source=path, size=size, checksum=checksum, retry=retry)
        except IrodsChecksumMismatchError:
            now = retry.call(lambda: api.calculate_checksum(path, force=True))
            if now == checksum or attempt == BACKUP_ATTEMPTS:
                raise
            log.info("%s changed while it was backed up (another writer): backing it up again", path)
            _remove_quietly(session, part)
            continue
        return checksum
    raise AssertionError("unreachable")  # pragma: no cover


def _put_back_earlier(
    session: SessionLike, path: str, backup: str, me: Claim, *, retry: ChunkRetrier
) -> bool:
    """Deal with an earlier claim on ``path`` (if any). Refused (:class:`IrodsPathClaimedError`) while its
    writer may be live (:func:`._claim.is_abandoned`: a renewing writer's lease lasts; one that did not
    renew, while ``path`` still holds the bytes it backed up: it may be about to copy onto the path).
    :class:`IrodsClaimUnconfirmedError` when it cannot be read. Otherwise its backup is
    removed when ``path`` holds, whole, the bytes it backed up or the ones it wrote (its recorded
    checksums), when a good replica holds other bytes (written since: the backup is obsolete; a writer
    still at work finds its claim gone and stops) or when it holds no backup, else (``path`` left stale by
    a failed copy) put back onto ``path`` first and then removed (the bytes its writer would put back).
    Whether it was put back (``path`` is good again)."""
    exists, found, avus = read_claim(session, backup, path, retry=retry)
    if not exists:
        return False
    recorded = {a.value for a in avus if a.attribute == KEEP_ATTRIBUTE}
    if recorded and not any(value.startswith("old ") for value in recorded):
        log.info("removing the claim %s an earlier overwrite in place left (it holds no backup)", backup)
        _remove_quietly(session, backup)
        return False
    if recorded:
        now = retry.call(lambda: session.data_objects.calculate_checksum(path, force=True))
        # Its writer, if live, may be about to copy onto the path, or verifying its copy (one that renews
        # says it is live; one that did not may have been killed after its copy, and waiting a day for it
        # to lapse would keep the path for nothing).
        if f"old {now}" in recorded or (found is not None and found.renewing):
            _refuse_unless_lapsed(session, path, backup, found, me=me, retry=retry)
        if {f"old {now}", f"new {now}"} & recorded:
            log.info(
                "%s is whole (%s): removing the backup %s an earlier overwrite in place left",
                path,
                now,
                backup,
            )
            _remove_quietly(session, backup)
            return False
        if _has_good_replica(session, path):
            log.warning(
                "%s holds content written since an overwrite in place left the backup %s (neither what it "
                "backed up nor what it copied): the backup is obsolete and removed, not put back",
                path,
                backup,
            )
            _remove_quietly(session, backup)
            return False
    log.warning(
        "%s holds the content %s had before an overwrite in place that did not finish: putting it back first",
        backup,
        path,
    )
    unfinished = IrodsOverwriteIncompleteError(
        "an earlier overwrite in place did not finish", backup=backup, operation="upload", path=path
    )
    _restore(session, backup, path, retry=retry, cause=unfinished)
    return True


def _refuse_unless_lapsed(
    session: SessionLike, path: str, backup: str, found: Claim | None, *, me: Claim, retry: ChunkRetrier
) -> None:
    """Refuse (:class:`IrodsPathClaimedError`) unless the claim recording ``found`` is abandoned, read
    again when its lease lapsed (the path's checksum may have taken long: a writer renewing meanwhile is
    live)."""
    if not is_abandoned(found, me):
        raise claimed_error(path, backup, found)
    if found is None or found.owner == me.owner:
        return
    _, again, _ = read_claim(session, backup, path, retry=retry)
    if again is not None and (again.attempt != found.attempt or not is_abandoned(again, me)):
        raise claimed_error(path, backup, again)


def _has_good_replica(session: SessionLike, path: str) -> bool:
    """Whether ``path`` has a good replica: a copy that fails leaves the replica it wrote stale
    (``finalize_replica_for_failed_operation``: irods 4.3.2 server/api/src/rsDataObjClose.cpp:545-553), so
    a good one holding other bytes than an interrupted overwrite's was written since, by someone else."""
    try:
        return any(r.status == "1" for r in session.data_objects.replicas(path))
    except IrodsNotADataObjectError:
        return False


def _copy_verified(
    session: SessionLike, source: str, path: str, *, size: int, checksum: str, retry: ChunkRetrier
) -> None:
    """Copy ``source`` onto ``path`` (overwrite: resending it is harmless) and prove ``path`` holds
    ``size`` bytes with ``checksum``, computed afresh by the server."""
    retry.call(lambda: session.data_objects.copy(source, path, overwrite=True))
    _verify(session, path, source=source, size=size, checksum=checksum, retry=retry)


def _verify(
    session: SessionLike, path: str, *, source: str, size: int, checksum: str, retry: ChunkRetrier
) -> None:
    """Raise :class:`IrodsChecksumMismatchError` unless ``path``, copied from ``source``, holds ``size``
    bytes with ``checksum`` (computed afresh by the server)."""
    api = session.data_objects
    actual = retry.call(lambda: api.calculate_checksum(path, force=True))
    on_server = api.stat(path).size
    if actual != checksum or on_server != size:
        raise IrodsChecksumMismatchError(
            f"{path} does not hold what was copied onto it from {source} (size {on_server}, {size} expected)",
            expected=checksum,
            actual=actual,
            operation="upload",
            path=path,
        )


def _restore(
    session: SessionLike, backup: str, path: str, *, retry: ChunkRetrier, cause: BaseException
) -> None:
    """Put ``backup``'s bytes back onto ``path``, proven by checksum, then remove ``backup``. If that fails,
    raise :class:`IrodsOverwriteIncompleteError` naming ``backup``, which is kept."""
    api = session.data_objects
    try:
        size = api.stat(backup).size
        checksum = api.calculate_checksum(backup, force=True)
        _copy_verified(session, backup, path, size=size, checksum=checksum, retry=retry)
    except IrodsError as exc:
        raise IrodsOverwriteIncompleteError(
            f"overwriting {path} in place failed ({cause!r}) and so did putting its previous content back "
            f"({exc!r}): {path} may hold partial content; its previous content is kept at {backup}",
            backup=backup,
            operation="upload",
            path=path,
        ) from cause
    _remove_quietly(session, backup)


def _remove_quietly(session: SessionLike, path: str) -> None:
    try:
        session.data_objects.remove(path, no_trash=True)
    except (IrodsNotFoundError, IrodsNotADataObjectError):
        return
    except IrodsError as exc:
        log.warning("could not remove %s after overwriting in place: %s", path, exc)


def avus_applier(
    session: SessionLike, path: str, metadata: Sequence[Any] | Mapping[str, str], retry: ChunkRetrier
) -> Callable[[], object]:
    """What applies an upload's ``metadata`` to ``path`` overwritten in place, as a publish by rename
    would leave it: the AVUs of the attributes it names are replaced, the others kept. One atomic call."""

    def apply() -> None:
        avus = [AVU(k, v) for k, v in metadata.items()] if isinstance(metadata, Mapping) else list(metadata)
        if not avus:
            return
        named = {a.attribute for a in avus}
        listed: list[AVU] = retry.call(lambda: session.metadata.list(path))
        ops = [MetadataOperation("remove", a) for a in listed if a.attribute in named and a not in avus]
        ops += [MetadataOperation("add", a) for a in avus if a not in listed]
        if ops:
            kind = _resume._data_object_kind()
            retry.call(lambda: session.metadata.apply(path, ops, kind=kind), retry_on=is_busy)

    return apply
