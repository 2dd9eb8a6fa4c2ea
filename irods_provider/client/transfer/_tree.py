"""Server-side copy of a whole collection (``icp -r``): planned up front, then copied object by object.

Every data object is copied by the server (``data_objects.copy``: no bytes pass through the worker), at most
``max_concurrent_files`` at once; the skip policy decides when an existing destination counts as done and
the overwrite policy decides the rest, checked for every object before anything is copied. A source object
without a good replica (another client still writing it, or its last write failed) is left out and reported
as skipped: the server would copy a stale replica's bytes into a good one (a stale replica votes low, not
zero, for the copy's read: irods 4.3.4 voting.cpp:42-93).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from irods_provider.client._locks import NO_GOOD_REPLICA as NO_GOOD_REPLICA_CODE
from irods_provider.client._models import Entry, EntryKind, Kinds
from irods_provider.client._paths import is_temporary_name
from irods_provider.exceptions import (
    IrodsError,
    IrodsLockedError,
    IrodsNotACollectionError,
    IrodsResponseError,
    IrodsUsageError,
)

from ._config import OverwritePolicy, SkipPolicy, TransferConfig
from ._coordinator import TransferCoordinator
from ._dirs import create_irods_directories, directory_results, not_a_collection
from ._leftout import BEING_WRITTEN, report_left_out, unreadable_reason
from ._local import _run
from ._plan import LeftOut, PlannedDirectory, PlannedFile
from ._policy import Decision, Refuse, Skip, decide, listed_destination, stored_checksum
from ._report import FileResult, FileStatus, TransferReport
from ._resume import resume_key, temp_name
from ._retry import ChunkRetrier
from ._upload import _publish, _quiet_remove, parked_at, settle_parked

if TYPE_CHECKING:
    from irods_provider.client import IrodsSession

__all__ = ["CollectionPlan", "copy_collection", "plan_collection_copy"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CollectionPlan:
    """The collections to create (destination paths, parents first: the destination itself, then every
    sub-collection, empty ones included), the objects to copy and the ones left out (no good replica to copy
    from); ``directories``: the sub-collections as the report lists them."""

    collections: list[str]
    files: list[PlannedFile]
    checksums: dict[str, str | None]
    existing: dict[str, Entry]
    left_out: list[LeftOut] = field(default_factory=list)
    directories: list[PlannedDirectory] = field(default_factory=list)
    parked: frozenset[str] = frozenset()
    """The destinations killed overwrites left objects moved aside from (the same listing found them)."""


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def plan_collection_copy(session: IrodsSession, source: str, destination: str) -> CollectionPlan:
    """What copying ``source`` onto ``destination`` (the new collection itself) involves; nothing changes.

    The engine's temporaries are not copied, nor the objects without a good replica (``left_out``, read from
    the listing's replica statuses). Refuses a destination inside the source (or the reverse) and a
    destination that is a data object.
    """
    if _inside(destination, source) or _inside(source, destination):
        raise IrodsUsageError(
            "source and destination collections must not contain each other", path=destination
        )
    if session.data_objects.exists(destination):
        raise IrodsNotACollectionError(
            "the destination of a collection copy is a data object", operation="copy", path=destination
        )
    prefix = source.rstrip("/") + "/"
    files, checksums, left, directories = [], {}, [], []
    for entry in session.collections.iterate(source, recursive=True, with_stat=True):
        target = destination.rstrip("/") + "/" + entry.path[len(prefix) :]
        if entry.kind is EntryKind.COLLECTION:
            directories.append(PlannedDirectory(entry.path, target))
        elif (reason := unreadable_reason(entry.replicas)) is not None:
            left.append(LeftOut(PlannedFile(entry.path, target, entry.size, base=source), reason))
        else:
            files.append(PlannedFile(entry.path, target, entry.size, base=source))
            checksums[entry.path] = entry.checksum
    existing, temporaries = _destination_objects(session, destination)
    directories.sort(key=lambda d: d.destination)
    for directory in directories:
        if directory.destination in existing:  # refused before anything is copied, dry runs included
            raise not_a_collection(directory.destination, "copy")
    collections = [destination, *(d.destination for d in directories)]
    parked = parked_at([f.destination for f in files], temporaries)
    return CollectionPlan(collections, files, checksums, existing, left, directories, parked)


def _destination_objects(session: IrodsSession, destination: str) -> tuple[dict[str, Entry], list[str]]:
    """The objects already below ``destination`` by path, and the engine's temporaries there (among them
    what killed overwrites moved aside), from one listing."""
    existing: dict[str, Entry] = {}
    temporaries: list[str] = []
    if session.collections.exists(destination):
        for e in session.collections.iterate(
            destination, recursive=True, kinds=Kinds.DATA_OBJECTS, with_stat=True, include_temporaries=True
        ):
            if is_temporary_name(e.name):
                temporaries.append(e.path)
            else:
                existing[e.path] = e
    return existing, temporaries


def _decision(
    session: IrodsSession,
    item: PlannedFile,
    plan: CollectionPlan,
    skip: SkipPolicy,
    overwrite: OverwritePolicy,
) -> Decision:
    """The policies' verdict on one object, from the plan's listing of the destination (asked once, up
    front); checksums are asked of the server only where the CHECKSUM policy meets equal sizes. A
    destination object without a good replica is never skipped (stale) or is refused (being written)."""
    api = session.data_objects
    there = plan.existing.get(item.destination)
    destination = listed_destination(session, item.destination, there, operation="copy")
    ours = stored_checksum(plan.checksums.get(item.source), lambda: api.calculate_checksum(item.source))
    return decide(
        skip=skip,
        overwrite=overwrite,
        destination=destination,
        source_size=item.size,
        source_checksum=ours,
        operation="copy",
    )


def _staged_copy(
    session: IrodsSession,
    item: PlannedFile,
    *,
    cfg: TransferConfig,
    overwrite: OverwritePolicy,
    finish: Callable[[str], None],
    cancel: threading.Event,
    parked: bool,
) -> None:
    """Copy to a hidden temporary sibling, let ``finish`` complete it, then rename it onto the destination
    (the engine's atomic publish; ``parked``: whether the plan's listing found objects moved aside from
    it); the temporary is removed on failure."""
    temp = temp_name(item.destination, resume_key("copy", item.source, item.destination))
    coordinator = TransferCoordinator(path=item.destination, cancel_event=cancel)
    session.data_objects.copy(item.source, temp, overwrite=True, dst_resource=cfg.resource)
    coordinator.add_failure_cleanup(lambda _cause: _quiet_remove(session, temp))
    try:
        finish(temp)
        renames = ChunkRetrier(
            retries=cfg.retries,
            base_seconds=cfg.backoff_base_seconds,
            max_seconds=cfg.backoff_max_seconds,
            coordinator=coordinator,
        )
        _publish(session, temp, item.destination, overwrite=overwrite, retry=renames, parked=parked)
    except BaseException as exc:
        coordinator.run_failure_cleanups(exc)  # a replaced object is put back, the temporary removed
        if overwrite is OverwritePolicy.OVERWRITE:
            settle_parked(session, item.destination, cfg)  # so is one a killed attempt moved aside
        raise
    coordinator.succeed()


def _plain_copy(session: IrodsSession, item: PlannedFile, plan: CollectionPlan, cfg: TransferConfig) -> None:
    """Copy one object onto its destination, over the one the plan found there (whose replicas, listed by the
    plan, judge a copy whose reply is lost without asking the catalog again)."""
    there = plan.existing.get(item.destination)
    session.data_objects.copy(
        item.source,
        item.destination,
        overwrite=there is not None,
        dst_resource=cfg.resource,
        replicas_before=() if there is None else (there.replicas or None),
    )


def copy_collection(
    session: IrodsSession,
    source: str,
    destination: str,
    *,
    config: TransferConfig | None = None,
    overwrite: OverwritePolicy = OverwritePolicy.REFUSE,
    skip: SkipPolicy = SkipPolicy.NEVER,
    continue_on_error: bool = False,
    dry_run: bool = False,
    cancel_event: threading.Event | None = None,
    after_copy: Callable[[str], None] | None = None,
    leave_out: bool = True,
) -> TransferReport:
    """Copy the collection ``source`` to ``destination`` (created with its sub-collections) on the server.

    An existing destination object is skipped by ``skip``, else replaced with ``OVERWRITE``, else the whole
    copy is refused before anything changes (IrodsAlreadyExistsError naming the first). With ``after_copy``
    each object is copied to a hidden temporary sibling, ``after_copy`` runs on that path (e.g. to set its
    AVUs and ACLs), and only then is it renamed into place: it appears complete or not at all. A source
    object without a good replica (being written, or its write failed), also one found so when its copy
    fails, is left out and reported as skipped with the reason; without ``leave_out`` (a publish: all or
    nothing) the copy is refused before anything changes (IrodsLockedError, or SYS_NO_GOOD_REPLICA).
    """
    cfg = config or TransferConfig()
    plan = plan_collection_copy(session, source, destination)
    if plan.left_out and not leave_out:
        raise _unreadable_error(plan.left_out)
    decisions = {f.destination: _decision(session, f, plan, skip, overwrite) for f in plan.files}
    for decision in decisions.values():
        if isinstance(decision, Refuse):
            decision.raise_error()  # the whole copy is refused before anything changes
    skipped = {path: d.reason for path, d in decisions.items() if isinstance(d, Skip)}
    if not dry_run:
        create_irods_directories(session, plan.collections, operation="copy")

    copy_one = partial(_copy_one, session, plan=plan, cfg=cfg, overwrite=overwrite, finish=after_copy)
    settling = overwrite is OverwritePolicy.OVERWRITE and not dry_run

    def one(item: PlannedFile, cancel: threading.Event) -> FileResult:
        status, reason = FileStatus.PLANNED, skipped.get(item.destination)
        if reason is not None:
            status = FileStatus.SKIPPED
            if settling and item.destination in plan.parked:  # counted as published: what was moved aside
                settle_parked(session, item.destination, cfg)  # from it is superseded
        elif not dry_run and (reason := copy_one(item, cancel=cancel, leave_out=leave_out)) is not None:
            return FileResult(
                source=item.source, destination=item.destination, status=FileStatus.SKIPPED, reason=reason
            )
        elif not dry_run:
            status = FileStatus.TRANSFERRED
        return FileResult(
            source=item.source,
            destination=item.destination,
            status=status,
            size=item.size,
            checksum=plan.checksums.get(item.source),
            reason=reason,
        )

    report = _run(
        plan.files,
        one,
        config=cfg,
        continue_on_error=continue_on_error,
        dry_run=dry_run,
        cancel_event=cancel_event,
    )
    report.directories = directory_results(plan.directories, dry_run=dry_run)
    return report_left_out(report, plan.left_out)


def _copy_one(
    session: IrodsSession,
    item: PlannedFile,
    *,
    plan: CollectionPlan,
    cfg: TransferConfig,
    overwrite: OverwritePolicy,
    finish: Callable[[str], None] | None,
    cancel: threading.Event,
    leave_out: bool,
) -> str | None:
    """Copy one planned object; None, or (``leave_out``) why it was left out: another client began writing
    it after the plan, and the copy failed on it."""
    parked = item.destination in plan.parked
    try:
        if finish is None:
            _plain_copy(session, item, plan, cfg)
            if parked and overwrite is OverwritePolicy.OVERWRITE:
                settle_parked(session, item.destination, cfg)  # replaced: what was moved aside is superseded
        else:
            _staged_copy(
                session, item, cfg=cfg, overwrite=overwrite, finish=finish, cancel=cancel, parked=parked
            )
    except IrodsResponseError:
        if not leave_out or (reason := _unreadable_now(session, item.source)) is None:
            raise
        log.warning("leaving out %s: %s", item.source, reason)
        return reason
    return None


def _unreadable_error(left: list[LeftOut]) -> IrodsResponseError:
    """The refusal of a copy that must leave nothing out, naming the first source without a good replica."""
    first = left[0]
    more = f" (and {len(left) - 1} more)" if len(left) > 1 else ""
    message = f"a source object cannot be copied now{more}: {first.reason}"
    error = IrodsLockedError if first.reason == BEING_WRITTEN else IrodsResponseError
    return error(message, irods_code=NO_GOOD_REPLICA_CODE, operation="copy", path=first.file.source)


def _unreadable_now(session: IrodsSession, source: str) -> str | None:
    """Why ``source``, whose copy just failed, cannot be read now (another client began writing it after the
    plan), from its replicas; None when it can (the failure was something else)."""
    try:
        return unreadable_reason(session.data_objects.replicas(source))
    except IrodsError:
        return None
