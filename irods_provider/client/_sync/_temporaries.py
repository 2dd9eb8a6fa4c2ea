"""Removing the transfer engine's abandoned temporary objects (GENERATED from ``_async``: do not edit)."""

from __future__ import annotations

import builtins
import logging
import re
import time
import uuid
from typing import TYPE_CHECKING, Any

from irods_provider.client._models import EntryKind, Kinds
from irods_provider.client._paths import is_temporary_name, name_digest, shortened_name_digest, validate_path
from irods_provider.client._temporaries import (
    HANDLE_ATTRIBUTE,
    KEEP_ATTRIBUTE,
    TemporaryCleanup,
    TemporaryObject,
    claim_lapses_at,
    journal_path,
    local_home,
    login_name,
)
from irods_provider.exceptions import IrodsError, IrodsLockedError, IrodsResponseError, IrodsUsageError

if TYPE_CHECKING:
    from irods_provider.client._sync._session import IrodsSession

__all__ = ["remove_temporaries"]

log = logging.getLogger("irods_provider.client")

_OLD = re.compile(r"\.(.+)\.irods-old-[0-9a-f][0-9a-f-]*")  # what an overwrite moves the old object to
#: The object created (and removed) under the user's home to read the server's clock (:func:`_server_now`).
CLOCK_PROBE = ".irods_provider/clock"
_KEEP = re.compile(r"\.(.+)\.irods-keep-[0-9a-f][0-9a-f-]*")  # an overwrite in place's backup


def remove_temporaries(
    session: IrodsSession, path: str, *, min_age: float, dry_run: bool = False, now: float | None = None
) -> TemporaryCleanup:
    """Permanently remove the engine's temporaries under ``path`` (recursively) whose mtime is at least
    ``min_age`` seconds before ``now`` (default: the server's clock, read from a probe object created and
    removed under ``<home>/.irods_provider/``; this machine's when that cannot be done). A lease is judged
    by this machine's clock (``now`` when given): its stamps are its writer's.

    Handles recorded on a temporary are shut down first (a killed worker's handle never expires), so its
    lock is released; the object then goes with ``no_trash`` (its resume and handle AVUs go with it, and the
    quota is freed). One still locked by a handle nobody recorded is reported in ``locked``, not moved: a
    rename would only hide it (it is hidden already) and the trash could not be emptied of it either.
    ``min_age`` must exceed the longest upload: a recorded handle of a still-running upload is shut down.
    An object an overwrite moved aside (``.<name>.irods-old-<key>``, ``<key>`` one per path or, since the
    eighteenth session, one writer's own ``<transfer>-<nonce>``) whose ``<name>`` is empty (the worker
    was killed between the overwrite's two renames) is renamed back onto it (``restored``), not removed.
    An overwrite in place's backup (``.<name>.irods-keep-<key>``) is removed only once ``<name>`` holds,
    whole, the content the backup recorded from before or after the overwrite (checksum computed afresh),
    or other content in a good replica (written since); otherwise it may be the only good copy and is
    kept, reported in ``failed`` for a person. A backup whose writer still renews its claim (its lease has
    not lapsed at ``now``) is that live writer's: left alone and counted in ``fresh``, whatever its age.
    """
    validate_path(path, operation="collections.remove_temporaries")
    if isinstance(min_age, bool) or not isinstance(min_age, int | float) or min_age < 0:
        raise IrodsUsageError(
            f"min_age must be a number of seconds >= 0, got {min_age!r}",
            operation="collections.remove_temporaries",
            path=path,
        )
    session.collections.stat(path)  # a typed error for a missing path or a data object
    # Ages are the server's mtimes against the server's clock (a client's may be minutes off: a temporary
    # being written then looked old); a lease's stamps are its writer's clock, judged by this one's.
    server_now = now if now is not None else _server_now(session)
    now = time.time() if now is None else now
    cutoff = (now if server_now is None else server_now) - min_age
    result = TemporaryCleanup(path=path, dry_run=dry_run)
    candidates: builtins.list[TemporaryObject] = []
    for entry in session.collections.iterate(
        path, recursive=True, kinds=Kinds.DATA_OBJECTS, with_stat=True, include_temporaries=True
    ):
        if not is_temporary_name(entry.name):
            continue
        if (entry.modified_at or 0) > cutoff:  # younger: an upload may still be writing it
            result.fresh += 1
            continue
        stamp = entry.modified_at or 0
        candidates.append(TemporaryObject(path=entry.path, size=entry.size or 0, modified_at=stamp))
    for found in candidates:  # removed after the listing, so its paging never skips rows
        if _KEEP.fullmatch(found.path.rpartition("/")[2]):
            _dispose_backup(session, found, dry_run, result, now=now)
        else:
            _dispose(session, found, dry_run, result, now=now)
    return result


def _server_now(session: IrodsSession) -> float | None:
    """The server's clock now, epoch seconds: the mtime it stamps on a probe object it creates in the
    user's home (``.irods_provider/clock-<random>``, removed again; a touch without a time takes the
    server's: plugins/api/src/touch.cpp:255-271 at irods 4.3.4). None, logged, when there is no home to
    create it in (an OpenID token names no user) or that fails: the caller falls back on this machine's."""
    home = local_home((session.get_limits()).irods_zone, login_name(session))
    if home is None:
        log.warning("cannot read the server's clock (no home known): temporaries' ages by this machine's")
        return None
    probe = f"{home}/{CLOCK_PROBE}-{uuid.uuid4().hex[:12]}"
    try:
        try:
            session.data_objects.touch(probe)
        except IrodsResponseError:
            # its collection missing (CAT_NOT_A_DATAOBJ_AND_NOT_A_COLLECTION): made once
            session.collections.create(probe.rpartition("/")[0], intermediates=True)
            session.data_objects.touch(probe)
        stamp = (session.data_objects.stat(probe)).modified_at
        session.data_objects.remove(probe, no_trash=True)
    except IrodsError as exc:
        log.warning(
            "cannot read the server's clock (with %s: %s): temporaries' ages by this machine's", probe, exc
        )
        return None
    if stamp is None:
        return None
    if abs(stamp - time.time()) > 2:
        log.info(
            "the server's clock is %+.0f s from this machine's: ages by the server's", stamp - time.time()
        )
    return float(stamp)


def _dispose(
    session: IrodsSession, found: TemporaryObject, dry_run: bool, result: TemporaryCleanup, *, now: float
) -> None:
    """Restore, remove, or keep (an overwrite's old version whose final name is lost) ``found``."""
    final, known = _moved_aside_from(session, found.path)
    if final is None and not known:
        # A shortened .irods-old- name of a final name no sibling has: the old version is the only copy
        # left and its full name is lost with the cut. Kept, for a person to rename back.
        message = "an overwrite moved it aside from a name too long to recover (over 255 bytes with its key)"
        log.warning("kept %s: %s; rename it back by hand", found.path, message)
        result.failed.append(_with_message(found, f"kept: {message}; rename it back by hand"))
    elif final is not None and not _taken(session, final):
        if not dry_run:
            _restore_one(session, found, final, result)
        else:
            result.restored.append(found)
    else:
        _remove_one(session, found, result, dry_run=dry_run, now=now)


def _dispose_backup(
    session: IrodsSession, found: TemporaryObject, dry_run: bool, result: TemporaryCleanup, *, now: float
) -> None:
    """Remove an overwrite in place's backup that has served (its final path holds, whole, the content it
    recorded from before or after the overwrite), else keep it and report why in ``failed``; leave a live
    writer's claim (renewed within its lease) alone."""
    try:
        lapses = claim_lapses_at(session.metadata.list(found.path, kind=EntryKind.DATA_OBJECT))
    except IrodsError:
        lapses = None  # unreadable: judged below, which reads it again and reports why
    if lapses is not None and lapses > now:
        log.info("kept %s: its writer still renews its claim (until %.0f at least)", found.path, lapses)
        result.fresh += 1
        return
    final, _ = _moved_aside_from(session, found.path, _KEEP)
    why = "its final name is lost (shortened, and no sibling matches)" if final is None else None
    if final is not None:
        why = _backup_still_needed(session, found.path, final)
    if why is not None:
        log.warning("kept %s, an overwrite in place's backup: %s", found.path, why)
        result.failed.append(_with_message(found, f"kept: {why}"))
    elif dry_run:
        result.removed.append(found)
    else:
        log.info("%s is whole: removing the backup %s an overwrite in place left", final, found.path)
        _remove_one(session, found, result, dry_run=False, now=now)


def _backup_still_needed(session: IrodsSession, backup: str, final: str) -> str | None:
    """Why ``backup`` may still be the only good copy of ``final``'s content (None: it has served)."""
    try:
        avus = session.metadata.list(backup, kind=EntryKind.DATA_OBJECT)
        recorded = {a.value for a in avus if a.attribute == KEEP_ATTRIBUTE}
        if not recorded:
            return f"it records no checksums ({KEEP_ATTRIBUTE}) to compare {final} with"
        if not any(value.startswith("old ") for value in recorded):
            return None  # a claim of a path with no good replica: it holds no backup
        if not session.data_objects.exists(final):
            return f"{final} is gone: the backup holds the content it had before an overwrite in place"
        now = session.data_objects.calculate_checksum(final, force=True)
        if {f"old {now}", f"new {now}"} & recorded:
            return None
        # A failed copy leaves the replica it wrote stale (rsDataObjClose.cpp:545-553 at irods 4.3.2): a
        # good replica holding other bytes was written since, and putting the backup back would revert it.
        if any(r.status == "1" for r in session.data_objects.replicas(final)):
            return None
    except IrodsError as exc:
        return f"{final} could not be compared with it ({type(exc).__name__}: {exc})"
    return (
        f"{final} holds neither the content it had before an overwrite in place nor the new one (checksum "
        f"{now}) and has no good replica: copy the backup back onto it by hand, or remove it"
    )


def _moved_aside_from(
    session: IrodsSession, path: str, kind: re.Pattern[str] = _OLD
) -> tuple[str | None, bool]:
    """The final path an overwrite moved ``path`` (``<parent>/.<name>.irods-old-<key>``, or ``kind``'s name
    form) aside from, and whether it is known. A shortened ``<name>`` (``<start>~<digest>``) is found again
    among the siblings (the one whose digest matches: taken, so the old version is superseded); when none
    has it, unknown."""
    parent, _, name = path.rpartition("/")
    match = kind.fullmatch(name)
    if match is None:
        return None, True
    shortened = shortened_name_digest(match.group(1), name)
    if shortened is None:
        return f"{parent}/{match.group(1)}", True
    start, digest = shortened
    starts = re.compile(rf"\A{re.escape(start)}")
    for entry in session.collections.iterate(parent or "/", regex=starts):
        if name_digest(entry.name) == digest:
            return entry.path, True
    return None, False


def _taken(session: IrodsSession, path: str) -> bool:
    """Whether anything (a data object or a collection) holds ``path``."""
    return session.data_objects.exists(path) or session.collections.exists(path)


def _restore_one(
    session: IrodsSession, found: TemporaryObject, final: str, result: TemporaryCleanup
) -> None:
    """Rename an object an overwrite moved aside back onto its empty final name: a worker killed between
    the overwrite's two renames left the old version only there, and removing it would lose it."""
    try:
        session.data_objects.rename(found.path, final)
    except IrodsError as exc:
        log.warning("could not restore %s onto %s: %s", found.path, final, exc)
        result.failed.append(_with_error(found, exc))
        return
    log.warning("restored %s onto %s (an overwrite was interrupted between its renames)", found.path, final)
    result.restored.append(found)


def _journal(session: IrodsSession, path: str) -> str | None:
    """The journal in the user's local home where the engine records what it opened on ``path``, a
    temporary of a federated zone (``transfer/_journal``); None for one of the local zone."""
    if session.query.zone_for(path) is None:
        return None
    home = local_home((session.get_limits()).irods_zone, login_name(session))
    return None if home is None else journal_path(home, path)


def _records(session: IrodsSession, path: str, journal: str | None) -> builtins.list[Any]:
    """The AVUs recording what was opened on ``path``: its own and its journal's (none when unreadable)."""
    avus: builtins.list[Any] = []
    for at in (path, journal) if journal is not None else (path,):
        try:
            avus += session.metadata.list(at, kind=EntryKind.DATA_OBJECT)
        except IrodsError:
            continue
    return avus


def _remove_one(
    session: IrodsSession, found: TemporaryObject, result: TemporaryCleanup, *, dry_run: bool, now: float
) -> None:
    """Release the handles recorded on ``found`` (or on its journal), then remove it (and its journal) for
    good; file the outcome in ``result``. One whose writer still renews its lease (an upload resuming an
    old temporary, or writing for longer than ``min_age``: its mtime moves only when a handle closes) is
    left to it and counted ``fresh``."""
    journal = _journal(session, found.path)
    avus = _records(session, found.path, journal)
    lapses = claim_lapses_at(avus)
    if lapses is not None and lapses > now:
        log.info("kept %s: its writer still renews its lease (until %.0f at least)", found.path, lapses)
        result.fresh += 1
        return
    if dry_run:
        result.removed.append(found)
        return
    handles = [a.value for a in avus if a.attribute == HANDLE_ATTRIBUTE]
    for handle in handles:
        try:
            session.data_objects.parallel_write_shutdown(handle)
        except IrodsError as exc:  # already closed (server restarted) or never valid: nothing to release
            log.info("handle %s recorded on %s was not open: %s", handle, found.path, exc)
    done = TemporaryObject(
        path=found.path, size=found.size, modified_at=found.modified_at, handles_released=len(handles)
    )
    try:
        session.data_objects.remove(found.path, no_trash=True)
    except IrodsLockedError as exc:  # the lock codes iRODS uses (unverified which one unlink returns)
        log.warning("temporary %s is locked by an unrecorded parallel-write handle: %s", found.path, exc)
        result.locked.append(_with_error(done, exc))
        return
    except IrodsError as exc:
        log.warning("could not remove temporary %s: %s", found.path, exc)
        result.failed.append(_with_error(done, exc))
        return
    if journal is not None:
        try:
            session.data_objects.remove(journal, no_trash=True)
        except IrodsError as exc:  # missing (nothing was recorded), or left: it records nothing open now
            log.info("journal %s of %s not removed: %s", journal, found.path, exc)
    log.info("removed abandoned temporary %s (%d bytes)", found.path, found.size)
    result.removed.append(done)


def _with_error(found: TemporaryObject, exc: IrodsError) -> TemporaryObject:
    return _with_message(found, f"{type(exc).__name__}: {exc}")


def _with_message(found: TemporaryObject, message: str) -> TemporaryObject:
    return TemporaryObject(
        path=found.path,
        size=found.size,
        modified_at=found.modified_at,
        handles_released=found.handles_released,
        error=message,
    )
