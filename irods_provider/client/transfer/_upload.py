"""Uploading one source to one data object: skip/overwrite policies, atomic publish, resume, verification."""

from __future__ import annotations

import logging
import os
import posixpath
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from functools import partial
from typing import IO, Any, Literal

from irods_provider._error_codes import error_code
from irods_provider.client import AVU, MetadataOperation, PermissionOperation
from irods_provider.client._genquery import like_text, match_condition, prefix_condition
from irods_provider.client._locks import STATUS_NAMES, writing_error
from irods_provider.client._paths import temporary_name
from irods_provider.exceptions import (
    IrodsAlreadyExistsError,
    IrodsBadRequestError,
    IrodsChecksumMismatchError,
    IrodsConcurrentOverwriteError,
    IrodsError,
    IrodsLockedError,
    IrodsNotACollectionError,
    IrodsNotADataObjectError,
    IrodsNotFoundError,
    IrodsPermissionError,
    IrodsReplicaUnavailableError,
    IrodsResponseError,
    IrodsSourceChangedError,
    IrodsTemporaryTakenOverError,
)

from . import _journal, _resume
from ._api import SessionLike
from ._carry import carry_over, refuse_dropping_remote_avus
from ._claim import Claim, is_abandoned, recorded_writer
from ._config import OverwritePolicy, SkipPolicy, TransferConfig
from ._coordinator import TransferCoordinator, TransferSubscriber
from ._copy import (
    CopyResult,
    Rehash,
    alongside,
    copy,
    hasher_for,
    pinned_checksum_scheme,
    skip_bytes,
    with_server_checksum,
)
from ._copyover import InPlace, avus_applier, overwrite_in_place, rename_refused
from ._integrity import local_probe, raise_changed, wait_until_stable
from ._opened import OpenedSource, Uploadable, open_upload_source, rehasher, source_checksum
from ._policy import (
    SAME_CHECKSUM,
    DestinationState,
    Refuse,
    Skip,
    decide,
    irods_destination,
)
from ._replicas import verify_upload
from ._report import FileResult, FileStatus
from ._retry import ChunkRetrier, is_busy, is_retryable, is_unclear
from ._upload_lease import UploadLease
from ._writer import ParallelWriter, _effective_config

log = logging.getLogger(__name__)


def upload_object(
    session: SessionLike,
    source: Uploadable,
    path: str,
    *,
    config: TransferConfig | None = None,
    overwrite: OverwritePolicy = OverwritePolicy.REFUSE,
    skip: SkipPolicy = SkipPolicy.NEVER,
    metadata: Sequence[Any] | Mapping[str, str] = (),
    permissions: Mapping[str, str] | None = None,
    dry_run: bool = False,
    resume: bool = True,
    resume_key: str | None = None,
    size: int | None = None,
    subscribers: Sequence[TransferSubscriber] = (),
    cancel_event: threading.Event | None = None,
    executor: Executor | None = None,
    on_chunk: Callable[[int], object] | None = None,
    follow_symlinks: bool = False,
    wait_stable_seconds: float | None = None,
    source_check: Callable[[], str | None] | None = None,
    known: DestinationState | None = None,
    parked: bool | None = None,
) -> FileResult:
    """Upload ``source`` (a local path, a binary file object or any :class:`~._endpoints.Source`) to ``path``
    atomically, verified by checksum.

    Bytes go to a temporary sibling; after the server's checksum matches, ``metadata`` (AVUs, applied in one
    atomic call) and ``permissions`` (entity → read/write/own) are set on it and it is renamed onto ``path``.
    ``skip`` decides when an existing destination counts as done; otherwise ``overwrite`` decides (REFUSE
    raises :class:`IrodsAlreadyExistsError` naming the path). ``dry_run`` returns the plan without writing.
    With ``resume`` (default) an interrupted upload of the same source continues from its committed bytes;
    file objects resume only when a ``resume_key`` names them; a Source under its own key
    (:class:`~._endpoints.ResumableSource`) or one made from its name, size and state.

    Sources that change are never published: a local path is opened without following a symlink at its
    name (unless ``follow_symlinks``) and checked after the last read (size, mtime in ns, inode, and the
    path still naming it); a Source by :meth:`~._endpoints.Source.change` since its state, taken before it
    is opened (it is opened only once the policies decided to upload); a file object by its size and by
    ``source_check`` (what changed, or None). A change raises :class:`IrodsSourceChangedError` and removes
    the temporary object. The CHECKSUM skip policy hashes a local path or a seekable stream here, and asks
    a :class:`~._endpoints.ChecksummedSource` for its checksum (else reads the Source once more).
    ``wait_stable_seconds`` first waits until a local path has not changed for that long (a Source waits in
    its ``state``, e.g. ``SftpRangedSource``); ``size`` and ``source_check`` are for file objects (a Source
    tells its own). ``known``: what the caller already learned of ``path`` (it is not asked again);
    ``parked``: whether the caller's listing (:func:`parked_among`) found objects a killed overwrite moved
    aside from ``path`` (False spares a skip or a publish under OVERWRITE its GenQuery; None: asked).
    A source of one request body's worth goes in one request (nothing to resume) and, without a skip policy,
    leaves the destination unasked (the rename refuses one); its temporary keeps the resumable name.
    """
    cfg = _effective_config(session, config)
    started = time.monotonic()
    resume = _resume.recordable_resume(session, path, resume, metadata=metadata, permissions=permissions)
    try:
        if wait_stable_seconds and isinstance(source, str | os.PathLike):
            _wait_stable(os.fspath(source), wait_stable_seconds, follow_symlinks, cancel_event)
        with open_upload_source(
            source, size, config=cfg, follow_symlinks=follow_symlinks, check=source_check
        ) as src:
            small = src.size is not None and src.size <= min(cfg.small_file_threshold, cfg.chunk_size)
            key, stable = _temp_key(src, path, resume=resume, resume_key=resume_key)
            key = _keyed_by_finish(key, stable, metadata, permissions)
            choose = resume and not small and skip is SkipPolicy.NEVER and not dry_run
            chosen, decided = _decide_choosing(
                lambda: _decide(
                    session, src, path, cfg=cfg, skip=skip, overwrite=overwrite, dry_run=dry_run, known=known
                ),
                (lambda: _choose_temp(session, path, key, resume=True, me=_engine_attempt(path)))
                if choose
                else None,
            )
            job = _Job(session, path, cfg, tuple(subscribers), cancel_event, executor, on_chunk, parked)
            if decided is not None:
                return _decided(job, decided, overwrite, settled=dry_run or parked is False)
            job.coordinator().queued(src.size)
            written, checksum = _attempt(
                job,
                lambda: _write_temp(job, src, key, resume=resume and not small, stable=stable, chosen=chosen),
                partial(_finish, job, metadata=metadata, permissions=permissions, overwrite=overwrite),
            )
        return written.file_result(src.name, path, checksum=checksum, seconds=time.monotonic() - started)
    except BaseException:
        if overwrite is OverwritePolicy.OVERWRITE and not dry_run:
            # Whatever failed, a path a killed attempt's overwrite left empty gets its old object back.
            settle_parked(session, path, cfg)
        raise


def _decided(job: _Job, decided: FileResult, overwrite: OverwritePolicy, *, settled: bool) -> FileResult:
    """The result of an upload the policies decided against; skipped as published under OVERWRITE, what a
    killed overwrite of the path moved aside is superseded and removed (one GenQuery), unless ``settled``
    (a dry run, or the caller's listing found nothing moved aside from the path)."""
    if decided.status is FileStatus.SKIPPED and overwrite is OverwritePolicy.OVERWRITE and not settled:
        settle_parked(job.session, job.path, job.cfg)
    return decided


def _attempt(
    job: _Job, write: Callable[[], _Written], finish: Callable[[_Written], str]
) -> tuple[_Written, str]:
    """Write the temporary, then finish and publish it: the written temporary and its checksum. The one
    failure path: what this attempt created (its writer's handle, its temporary object, an old object
    moved aside) is undone here, newest first."""
    try:
        written = write()
        checksum = finish(written)
    except BaseException as exc:
        job.current.run_failure_cleanups(exc)
        job.current.done(exc)
        raise
    job.current.succeed()
    job.current.done(None)
    return written, checksum


def _temp_key(src: OpenedSource, path: str, *, resume: bool, resume_key: str | None) -> tuple[str, bool]:
    """The key of the temporary's name, and whether it is stable (a later attempt derives the same one:
    ``resume`` with a ``resume_key`` or one the source makes), else random."""
    if resume and resume_key is None and src.key is not None:
        resume_key = src.key(path)
    stable = bool(resume and resume_key)
    return (resume_key if stable and resume_key else uuid.uuid4().hex[:16]), stable


def _keyed_by_finish(
    key: str, stable: bool, metadata: Sequence[Any] | Mapping[str, str], permissions: Mapping[str, str] | None
) -> str:
    """``key``, made distinct by the AVUs and permissions the temporary will carry once finished.

    A temporary is finished (AVUs added, permissions set) before its rename; a worker killed in between
    leaves it behind under its stable name, and a retry reusing it would publish that attempt's AVUs and
    grants beside its own. Keyed by what it carries, a retry reuses only a temporary that would carry the
    same (adding an AVU it has, or granting an access it has, changes nothing)."""
    if not stable or not (metadata or permissions):
        return key
    avus = sorted(metadata.items()) if isinstance(metadata, Mapping) else sorted(map(repr, metadata))
    return _resume.resume_key(key, repr(avus), repr(sorted((permissions or {}).items())))


def _decide_choosing(
    decide: Callable[[], FileResult | None],
    choose: Callable[[], tuple[str, _resume.TempRecord, bool]] | None,
) -> tuple[tuple[str, _resume.TempRecord, bool] | None, FileResult | None]:
    """``decide()``, with ``choose()`` (the temporary, when there is nothing to skip: the destination can
    only refuse, then the choice is dropped) alongside, so the zone's read-only probes of the temporary
    share the destination's round trip."""
    if choose is None:
        return None, decide()
    return alongside(choose, decide, name="choose-temp")


def _wait_stable(
    local: str, seconds: float, follow_symlinks: bool, cancel_event: threading.Event | None
) -> None:
    """Wait until the local source has not changed for ``seconds`` (a job may still be writing it)."""
    probe = local_probe(local, follow_symlinks=follow_symlinks)
    wait_until_stable(probe, seconds, path=local, cancel_event=cancel_event)


def _decide(
    session: SessionLike,
    src: OpenedSource,
    path: str,
    *,
    cfg: TransferConfig,
    skip: SkipPolicy,
    overwrite: OverwritePolicy,
    dry_run: bool,
    known: DestinationState | None = None,
) -> FileResult | None:
    """The skip or dry-run result, None to upload; raises when REFUSE meets an existing destination.

    The destination is asked about once (not at all when ``known``), and not at all for a small file with
    no skip policy, not a dry run: the publishing rename's own refusal is enough. An overwrite that could
    not keep the object's AVUs (a federated zone's) is refused here (:func:`refuse_dropping_remote_avus`),
    in a dry run too.
    """
    small = src.size is not None and src.size <= min(cfg.small_file_threshold, cfg.chunk_size)
    earlier = cfg.earlier_copy(path) if overwrite is OverwritePolicy.REFUSE else None
    if small and skip is SkipPolicy.NEVER and not dry_run and earlier is None:
        if overwrite is OverwritePolicy.OVERWRITE:  # it may replace an object: before the source is read
            refuse_dropping_remote_avus(session, path, drop=cfg.drop_remote_avus, operation="upload_object")
        return None
    state = known or irods_destination(session, path)
    decision = decide(
        skip=skip,
        overwrite=overwrite,
        destination=state,
        source_size=src.size,
        source_checksum=source_checksum(src),
        operation="upload",
        earlier=earlier,
    )
    if isinstance(decision, Refuse):
        decision.raise_error()
    if isinstance(decision, Skip):
        return FileResult(
            source=src.name,
            destination=path,
            status=FileStatus.SKIPPED,
            size=src.size,
            checksum=decision.checksum  # known: compared with the recorded or the source's
            or (state.checksum(None) if decision.reason == SAME_CHECKSUM else None),
            reason=decision.reason,
        )
    if decision.replaces:  # before the source is read; a dry run reports what the real run would refuse
        refuse_dropping_remote_avus(session, path, drop=cfg.drop_remote_avus, operation="upload_object")
    if not dry_run:
        return None
    return FileResult(
        source=src.name,
        destination=path,
        status=FileStatus.PLANNED,
        size=src.size,
        reason="overwrite" if decision.replaces else "new",
    )


@dataclass(frozen=True)
class _Job:
    """What every step of one upload shares."""

    session: SessionLike
    path: str
    cfg: TransferConfig
    subscribers: tuple[TransferSubscriber, ...]
    cancel_event: threading.Event | None
    executor: Executor | None
    on_chunk: Callable[[int], object] | None
    parked: bool | None = None
    """What the run's listing found moved aside from the path (see :func:`_publish`; None: unknown)."""
    attempts: list[TransferCoordinator] = field(default_factory=list)

    def coordinator(self) -> TransferCoordinator:
        """A fresh coordinator for one attempt at the bytes (a failed attempt's keeps its error); it becomes
        :attr:`current`."""
        coordinator = TransferCoordinator(
            path=self.path, subscribers=self.subscribers, cancel_event=self.cancel_event
        )
        self.attempts.append(coordinator)
        return coordinator

    @property
    def current(self) -> TransferCoordinator:
        """The coordinator of the attempt under way: its failure cleanups are the ones to run."""
        return self.attempts[-1]

    def retrier(self, coordinator: TransferCoordinator, **kwargs: Any) -> ChunkRetrier:
        """The configured retry budget (``retry_on`` narrows what is resent)."""
        cfg = self.cfg
        return ChunkRetrier(
            retries=cfg.retries,
            base_seconds=cfg.backoff_base_seconds,
            max_seconds=cfg.backoff_max_seconds,
            coordinator=coordinator,
            **kwargs,
        )


@dataclass(frozen=True)
class _Written:
    """A written temporary object: where it is and what it holds (verified as it is finished)."""

    temp: str
    result: CopyResult
    start: int
    handles: tuple[str, ...]
    """The parallel-write handles that may be recorded on the temporary: its finalize forgets them."""
    cleanup: _TempCleanup
    owner: str | None
    """What every attempt of this transfer shares (its stable key and path; None: none is stable): an
    overwrite in place claims the path by it (see :mod:`._claim`), even through a fresh temporary name."""
    rehash: Rehash | None = None
    """The source hashed again in a scheme (see :func:`~._opened.rehasher`); None when it is read once."""
    lease: UploadLease | None = None
    """This attempt's lease on the temporary (see :mod:`._upload_lease`): its finalize forgets it."""

    def file_result(self, source: str, path: str, *, checksum: str, seconds: float) -> FileResult:
        """The report of this upload once published at ``path``."""
        return FileResult(
            source=source,
            destination=path,
            status=FileStatus.TRANSFERRED,
            size=self.result.size,
            checksum=checksum,
            seconds=seconds,
            resumed_from=self.start,
        )


def _leased(job: _Job, owner: str | None) -> tuple[UploadLease, _resume.RecordingSession]:
    """One attempt's lease on its temporary, lapsing when the attempt fails (its cleanup runs last), and
    the session that records it with the attempt's first handle."""
    lease = UploadLease(job.session, job.path, owner=owner, lease=job.cfg.claim_lease_seconds)
    job.current.add_failure_cleanup(partial(_stop_lease, lease))
    return lease, _resume.RecordingSession(job.session, lease.hooks)


def _stop_lease(lease: UploadLease, _cause: BaseException | None) -> None:
    """A failed attempt's failure cleanup: its lease is no longer renewed."""
    lease.stop()


def _open_and_choose(
    job: _Job,
    src: OpenedSource,
    key: str,
    *,
    resume: bool,
    stable: bool,
    chosen: tuple[str, _resume.TempRecord, bool] | None,
) -> tuple[str, _resume.TempRecord, bool]:
    """Open the source and choose the temporary (``chosen``: chosen already), their round trips overlapped."""
    session = job.session
    try:
        if chosen is not None:
            temp, record, resumable = chosen
            src.start()
        elif resume:
            # The source opens (its round trips) while the temporary is chosen (the zone's): neither needs
            # the other.
            (temp, record, resumable), _ = alongside(
                lambda: _choose_temp(session, job.path, key, resume=True, me=_engine_attempt(job.path)),
                src.start,
                name="choose-temp",
            )
        else:
            # Choosing a temporary without resume asks nothing: no round trip to overlap, so no helper
            # thread (one costs more client CPU than a small file's whole request).
            temp, record, resumable = _choose_temp(session, job.path, key, resume=False)
            src.start()
    except IrodsSourceChangedError:
        # Changed since an earlier attempt wrote part of it: the temporary this one would have resumed
        # holds the old version's bytes under a name no later listing derives again. Removed, not orphaned.
        if resume and stable:
            _remove_if_present(session, _resume.temp_name(job.path, key))
            _journal.forget(session, _resume.temp_name(job.path, key))
        raise
    return temp, record, resumable


def _write_temp(
    job: _Job,
    src: OpenedSource,
    key: str,
    *,
    resume: bool,
    stable: bool,
    chosen: tuple[str, _resume.TempRecord, bool] | None,
) -> _Written:
    """Write and verify the source into its temporary object (under ``job.current``'s cleanups);
    ``chosen``: the temporary already chosen (:func:`_choose_temp`).

    A resumable temporary found locked while writing (a killed attempt's handle nobody recorded), or one
    whose ``parallel_write_init`` lost its reply and then proves locked (a handle nobody learned), is left
    alone (that attempt's cleanups run) and the source, rewound, goes once more to a fresh name from the
    start under a fresh coordinator; one the lost init left unlocked is written again, resumed, and one it
    never created (the request was dropped before the server read it: a stale pooled connection) is sent
    again as it was.
    ``stable``: the temporary's name is found again by a later attempt.
    """
    session, owner = job.session, f"{key} {job.path}" if stable else None
    temp, record, resumable = _open_and_choose(job, src, key, resume=resume, stable=stable, chosen=chosen)
    # Another live attempt's temporary (its lease renewed) is left to it: this one writes a fresh name,
    # which no later attempt derives.
    stable = stable and temp == _resume.temp_name(job.path, key)
    lost_open = False  # a fresh temporary once after an init's lost reply, not per lost reply
    dropped = 0  # inits dropped before the server created the temporary, sent again within the retries
    while True:
        lease, recording = _leased(job, owner)
        try:
            result, start, cleanup = _upload_to_temp(
                recording, src, temp, job, record=record, resume=resumable, stable=stable, lease=lease
            )
        except Exception as exc:
            _raise_if_taken(session, temp, recording.handles, exc, target=job.path)
            lost = _lost_open(exc) and (not lost_open or dropped < job.cfg.retries)
            if not (((resumable and _is_locked(exc)) or lost) and src.rewind):
                raise
            present = _may_exist(session, temp)
            if not (present or lost) or (present and lost and lost_open):
                raise
            if present and not lost:
                proven_held(session, temp, exc)  # a refusal the replicas do not prove a lock is raised
            dropped += lost and not present
            lost_open = lost_open or (lost and present)
            job.current.run_failure_cleanups(exc)
            unlocked = _unlocked_record(session, temp, resumable=resumable) if lost and present else None
            if not present:
                record = _resume.TempRecord()  # the init never created it: nothing can hold it, send it again
            elif unlocked is not None:
                record = unlocked  # the server never acted on the init: nothing holds the temporary
            else:
                temp = _fresh_temp(job.path, key, locked=temp, error=exc)
                record, resumable, stable = _resume.TempRecord(), False, False
            src.rewind()
            job.coordinator()
            continue
        # The handles on record: an earlier attempt's this one could not forget, and its own (all shut down).
        handles = (*record.handles, *recording.handles)
        # A scheme set by the user is never second-guessed: a zone answering the other one refuses it.
        learns = job.cfg.checksum_scheme is None and pinned_checksum_scheme(session) is None
        rehash = rehasher(src, result, chunk=job.cfg.chunk_size) if learns else None
        return _Written(temp, result, start, handles, cleanup, owner, rehash, lease)


def _finish(
    job: _Job,
    written: _Written,
    *,
    metadata: Sequence[Any] | Mapping[str, str],
    permissions: Mapping[str, str] | None,
    overwrite: OverwritePolicy,
) -> str:
    """Verify the temporary object's checksum, applying its AVUs and ACLs meanwhile when it carries no resume
    record (their round trips overlap), then publish it onto the final path; the zone's checksum of it."""
    session, temp, coordinator = job.session, written.temp, job.current
    checkpoints = written.cleanup.checkpoints

    def finalize() -> None:
        checkpoints.settle()  # a record still being written (beside the shutdown) is the one to drop
        _finalize(
            session,
            temp,
            metadata=metadata,
            permissions=permissions,
            resume_value=checkpoints.previous,
            handles=written.handles,
            lease=written.lease.forget() if written.lease is not None else (),
            retry=job.retrier(coordinator, retry_on=is_busy),
        )

    def verify() -> str:
        return verify_upload(session, temp, written.result, config=job.cfg, rehash=written.rehash)

    if not checkpoints.recorded and (metadata or permissions or written.handles):
        _, checksum = alongside(finalize, verify, name="finish")  # a mismatch is the error that counts
    else:
        # A resume record is dropped only once the bytes are verified: a worker killed while the zone
        # hashes a large object (seconds to minutes) leaves its next attempt the whole prefix to resume.
        # Nothing to apply needs no helper thread (one costs more than a small file's request).
        checksum = verify()
        finalize()
    # Finished, its resume record dropped: a retry could only write it afresh, so a failure removes it.
    written.cleanup.forsake()
    _publish(
        session,
        temp,
        job.path,
        overwrite=overwrite,
        retry=job.retrier(coordinator),
        expected=(written.result.size, checksum),
        refused=written.cleanup.forsake,
        keep=lambda: carry_over(
            session,
            job.path,
            temp,
            metadata=metadata,
            permissions=permissions,
            retry=job.retrier(coordinator),
            drop_remote_avus=job.cfg.drop_remote_avus,
        ),
        in_place=_in_place(job, written, metadata=metadata, permissions=permissions),
        parked=job.parked,
    )
    return checksum


def _in_place(
    job: _Job,
    written: _Written,
    *,
    metadata: Sequence[Any] | Mapping[str, str],
    permissions: Mapping[str, str] | None,
) -> InPlace:
    """What an overwrite in place of this upload must also do (see :class:`~._copyover.InPlace`)."""
    return InPlace(
        refuse="setting its permissions needs own on it" if permissions else None,
        apply=avus_applier(job.session, job.path, metadata, job.retrier(job.current)),
        replicas=job.cfg.verify_replicas,
        owner=written.owner,
        lease=job.cfg.claim_lease_seconds,
    )


_LOCK_CODES = frozenset({error_code("INVALID_HANDLE"), error_code("HIERARCHY_ERROR")})


def _is_locked(exc: BaseException) -> bool:
    """Whether opening an object for writing failed because it is locked (default builds say
    INVALID_HANDLE)."""
    if isinstance(exc, IrodsLockedError):
        return True
    return isinstance(exc, IrodsResponseError) and exc.irods_code in _LOCK_CODES


def proven_held(session: SessionLike, temp: str, refused: BaseException) -> IrodsLockedError:
    """The proof that another write holds ``temp``, whose write open was refused with a lock's code (see
    :func:`_is_locked`): its replicas, none good and one intermediate or write-locked, as the catalog marks
    an object a write opened (irods 4.3.4 rsDataObjOpen.cpp:249, :1059) and refuses to open again
    (ill::try_lock, :1040-1042). The same codes also answer a refusal that is no lock (every replica on a
    resource marked down: HIERARCHY_ERROR, irods_resource_redirect.cpp:244-245): then ``refused`` is raised,
    retold with what the replicas show (HTTP status, iRODS code and name kept), and ``temp`` is left as it
    is for a later attempt instead of leaking behind a fresh name. An :class:`IrodsLockedError` is no proof
    by its class alone: the codes INVALID_HANDLE and HIERARCHY_ERROR carry no proof."""
    if not isinstance(refused, IrodsResponseError):  # nothing to retell: not a server's refusal
        raise refused
    try:
        replicas = session.data_objects.replicas(temp)
    except IrodsError as exc:
        shown = f"its replicas could not be read ({type(exc).__name__})"
    else:
        held = writing_error(temp, replicas, cause=refused, operation=refused.operation or "upload")
        if held is not None:
            return held
        listed = ", ".join(
            f"{r.number} {STATUS_NAMES.get(r.status, r.status)} on {r.hierarchy}" for r in replicas
        )
        shown = f"its replicas show no write holding it ({listed or 'none'})"
    raise refused.retold(
        f"writing the temporary object {temp} was refused and {shown}: not a lock another writer holds "
        "(e.g. its resource is marked down); it is left as it is for a later attempt",
        # proven no lock
        kind=IrodsReplicaUnavailableError if isinstance(refused, IrodsLockedError) else None,
        path=temp,
    ) from refused


def _raise_if_taken(
    session: SessionLike, temp: str, mine: Sequence[str], exc: BaseException, *, target: str
) -> None:
    """Raise :class:`IrodsTemporaryTakenOverError` (from ``exc``) when ``exc`` proves another attempt took
    ``temp`` over while this one wrote it: a write through this attempt's handle answered HTTP 400 (a handle
    the server no longer knows: data_objects main.cpp:1081-1085 at 0.7.0) and none of ``mine`` is recorded
    on it any more (the taker, an attempt of the same transfer that found it under the shared name, shut
    them down and forgot them). The temporary is the taker's now: this attempt's failure cleanup leaves it
    (and records nothing on it). A 400 while a handle is still recorded (a restarted API server forgets
    every handle) is not that proof."""
    if not (isinstance(exc, IrodsBadRequestError) and exc.operation == "data_objects.write") or not mine:
        return
    record = _resume.inspect(session, temp)
    if set(mine) & set(record.handles):
        return
    raise IrodsTemporaryTakenOverError(
        f"another attempt uploading the same source to {target} took over its temporary object {temp} while "
        "this one wrote it (a concurrent duplicate task, or a retry started while this attempt still ran); "
        "nothing was published by this attempt",
        changed="its parallel-write handle was shut down and is no longer recorded on the temporary",
        operation="upload",
        path=target,
    ) from exc


def _unlocked_record(session: SessionLike, temp: str, *, resumable: bool) -> _resume.TempRecord | None:
    """What ``temp`` carries for the next write when nothing holds it (an init that failed unclearly but was
    never acted on); None when it is locked or that cannot be told (a fresh temporary is safer then). A
    refusal with a lock's code that the replicas do not prove is raised (see :func:`proven_held`)."""
    try:
        # Opening for writing without truncating or writing proves the object is not locked.
        session.data_objects.write(temp, b"", offset=0, truncate=False)
        return _resume.inspect(session, temp) if resumable else _resume.TempRecord()
    except IrodsError as exc:
        if _is_locked(exc):
            proven_held(session, temp, exc)
        return None


def _lost_open(exc: BaseException) -> bool:
    """Whether a ``parallel_write_init`` failed without saying whether the server acted (a lost reply): it
    may have opened a handle nobody learned, which locks the object for good."""
    init = "data_objects.parallel_write_init"
    return isinstance(exc, IrodsError) and exc.operation == init and is_unclear(exc)


def _choose_temp(
    session: SessionLike, path: str, key: str, *, resume: bool, me: Claim | None = None
) -> tuple[str, _resume.TempRecord, bool]:
    """The temporary object to upload through, what it carries and whether it may be resumed, after
    freeing what a killed attempt left locked.

    A temporary whose lease another live writer holds (``me``: this writer, whose transfer's own lease
    is a retry's, see :func:`_live_writer`) is left to it: a fresh name is used, without resume. Otherwise
    handles recorded on it are shut down (their worker is gone: handles never expire). If it is still
    locked (killed before its handle was recorded), a fresh name is used, without resume, and the leftover
    is named in the log.
    """
    temp = _resume.temp_name(path, key)
    if not resume:
        return temp, _resume.TempRecord(), False
    # Whether a temporary without a record is there is asked alongside its record (one round trip for
    # both): the common case, no earlier attempt, needs both answers.
    may_exist, record = alongside(
        lambda: _may_exist(session, temp), lambda: _resume.inspect(session, temp), name="temp-exists"
    )
    if record.state is None and not record.handles and not may_exist:
        return temp, record, True
    # An existing temporary without a record may still be locked by a handle its killed worker never
    # recorded: probed here, before any source byte is read, so a stream source can still start afresh.
    if (live := _live_writer(record, me)) is not None:
        return _busy_temp(path, key, temp, live), _resume.TempRecord(), False
    if record.handles or record.lease:
        # What could not be forgotten stays on record: the publish's finalize forgets it once more.
        released = _resume.release_handles(session, temp, record.handles, lease=record.lease)
        record = replace(record, handles=released, lease=())
    try:
        # Opening for writing without truncating or writing proves the object is not locked.
        session.data_objects.write(temp, b"", offset=0, truncate=False)
    except IrodsResponseError as exc:
        if not _is_locked(exc):
            raise
        proven_held(session, temp, exc)
        return _fresh_temp(path, key, locked=temp, error=exc), _resume.TempRecord(), False
    return temp, record, True


def _engine_attempt(path: str) -> Claim:
    """The engine's attempt as :func:`_choose_temp` judges a lease with: an owner no other attempt has, so
    a temporary whose lease is live (renewed within it by its writer's clock: see :mod:`._upload_lease`)
    belongs to an attempt still running (an Airflow task declared a zombie and retried meanwhile, or the
    same file mapped twice) and is left to it, while a killed attempt's has lapsed by the time Airflow
    retries it (a worker's heartbeat times out after five minutes, the default lease) or was dropped by
    its failure cleanup, and is taken over and resumed at once."""
    return Claim.new(uuid.uuid4().hex, path)


def _live_writer(record: _resume.TempRecord, me: Claim | None) -> Claim | None:
    """The writer whose live lease ``record`` carries, unless it is ``me``'s transfer's (a retry); None
    when ``me`` is None (a temporary written by nobody that leases it). The engine's attempts pass an
    owner of their own (:func:`_engine_attempt`): only a lapsed lease is taken over."""
    found = recorded_writer(record.lease)
    if found is None or me is None or is_abandoned(found, me):
        return None
    return found


def fresh_temp_name(path: str, key: str) -> str:
    """A temporary name for ``path`` that no other writer derives (``key`` and a random suffix)."""
    return _resume.temp_name(path, f"{key}-{uuid.uuid4().hex[:8]}")


def _busy_temp(path: str, key: str, temp: str, writer: Claim) -> str:
    """A new temporary name beside ``temp``, which another live writer is writing (named in the log)."""
    fresh = fresh_temp_name(path, key)
    log.info(
        "temporary object %s belongs to writer %s, alive (lease of %g s renewed at %s); writing %s through "
        "%s instead",
        temp,
        writer.attempt,
        writer.lease,
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(writer.last_renewed)),
        path,
        fresh,
    )
    return fresh


def _fresh_temp(path: str, key: str, *, locked: str, error: BaseException) -> str:
    """A new temporary name beside ``locked``, which nothing can write to any more (named in the log)."""
    fresh = fresh_temp_name(path, key)
    log.warning(
        "temporary object %s is locked by a parallel-write handle that was never recorded (a worker killed "
        "mid-upload?: %s); uploading %s through %s instead, from the start. Remove %s once it is unlocked.",
        locked,
        error,
        path,
        fresh,
        locked,
    )
    return fresh


def _may_exist(session: SessionLike, path: str) -> bool:
    """False only when ``path`` is known to be missing (the stat of a locked object fails otherwise)."""
    try:
        return session.data_objects.exists(path)
    except IrodsError:
        return True


def _resume_offset(
    session: SessionLike, temp: str, src: OpenedSource, record: _resume.TempRecord
) -> tuple[int, str | None]:
    """Committed bytes of a previous attempt on ``temp`` (0 when there is nothing usable) and the AVU
    value."""
    state, raw = record.state, record.raw
    if state is None or raw is None:
        return 0, None
    if state.source_size != src.size or state.source_mtime_ns != src.mtime_ns:
        return 0, raw
    try:
        on_server = session.data_objects.stat(temp).size
    except IrodsError:
        return 0, raw
    if src.size is not None and state.committed > src.size:
        return 0, raw
    return min(state.committed, on_server), raw


def _upload_to_temp(
    session: SessionLike,
    src: OpenedSource,
    temp: str,
    job: _Job,
    *,
    record: _resume.TempRecord,
    resume: bool,
    stable: bool,
    lease: UploadLease | None = None,
) -> tuple[CopyResult, int, _TempCleanup]:
    """Write ``src`` into ``temp`` (from the committed prefix when resuming) through ``session``, with
    ``job``'s configuration; the temporary's failure cleanup is registered with ``job.current`` as its
    writer is made."""
    cfg, coordinator = job.cfg, job.current
    start, previous = _resume_offset(session, temp, src, record) if resume else (0, None)
    hasher = hasher_for(cfg.checksum_scheme, session, temp, resource=cfg.resource)
    skip_bytes(src.fh, start, hasher=hasher, chunk_size=cfg.chunk_size)
    writer = ParallelWriter(
        session,
        temp,
        config=cfg,
        offset=start,
        truncate=start == 0,
        size=src.size,
        coordinator=coordinator,
        executor=job.executor,
    )
    # Only a temporary a later attempt finds again (``stable``) is worth a record of its prefix.
    recording = resume and stable
    checkpoints = _Checkpoints.attach(writer, session, temp, src, cfg, resume=recording, previous=previous)
    cleanup = _TempCleanup(session, temp, src, writer, checkpoints, resume=resume, stable=stable, start=start)
    cleanup.lease = lease
    coordinator.add_failure_cleanup(cleanup)
    writer.open_early()  # the handle opens (and is recorded) while the first chunk is read
    result = copy(
        src.fh,
        writer,
        chunk_size=cfg.chunk_size,
        hasher=hasher,
        coordinator=coordinator,
        report_progress=False,
        on_chunk=job.on_chunk,
    )

    def close() -> None:
        writer.close()
        cleanup.writing = False  # closed: every byte is durable, the checkpoints have nothing more to add

    if src.check_is_local:
        # A local source's check is a few system calls: run here, after the last read, before the last
        # chunks are written (a helper thread would cost more than the check).
        change = _source_change(src, result)
        close()
    else:
        # After the last read, the source's stability check (its round trips) runs while the last chunks are
        # written.
        change, _ = alongside(lambda: _source_change(src, result), close, name="source-check")
    if change is not None:  # either failure makes the temporary's cleanup remove it (what it holds a
        raise_changed(src.name, change)  # prefix of is gone)
    return result, start, cleanup


def _source_change(src: OpenedSource, result: CopyResult) -> str | None:
    """What changed in the source since it was opened, asked after its last read; None when nothing."""
    return src.check(result.size) if src.check is not None else None


class _Checkpoints:
    """Records the committed prefix on the temporary object every ``resume_checkpoint_bytes`` while the
    upload runs: an attempt killed with ``kill -9`` runs no cleanup, and without a record its successor
    would start from 0. The successor first shuts the killed attempt's recorded handle down, which makes the
    acknowledged bytes durable, then resumes from the recorded prefix (never more than was acknowledged).

    Told by the writer's stream workers as the prefix grows; each record is written by a helper thread, one
    at a time (the newest prefix once the one before is recorded), so no stream waits for its round trip
    and the writer's last writes and its shutdown do not wait for a record still being written.
    :meth:`settle` ends the recording before the record is dropped (the finalize) or kept for a resume
    (a failure's cleanup): then :attr:`previous` is the value on the object."""

    def __init__(
        self,
        session: SessionLike,
        temp: str,
        src: OpenedSource,
        *,
        every: int,
        previous: str | None,
        start: int,
    ) -> None:
        self.session, self.temp, self.src = session, temp, src
        self.every, self.previous, self.noted = every, previous, start
        self._lock = threading.Lock()
        self._wanted: int | None = None  # the newest prefix to record next
        self._writing: threading.Thread | None = None
        self._settled = False
        self.recorded = previous is not None
        """Whether the object carries (or may be about to carry) a resume record."""

    @classmethod
    def attach(
        cls,
        writer: ParallelWriter,
        session: SessionLike,
        temp: str,
        src: OpenedSource,
        cfg: TransferConfig,
        *,
        resume: bool,
        previous: str | None,
    ) -> _Checkpoints:
        """Checkpoints for ``writer`` every ``resume_checkpoint_bytes`` (8 chunks by default; none without
        resume), starting from the writer's offset."""
        every = cfg.resume_checkpoint_bytes
        every = (8 * cfg.chunk_size if every is None else every) if resume else 0
        checkpoints = cls(session, temp, src, every=every, previous=previous, start=writer.committed_bytes)
        if every > 0:
            writer.on_commit = checkpoints
        return checkpoints

    def __call__(self, committed: int) -> None:
        """Have ``committed`` recorded if the prefix grew by at least ``every`` bytes since the last one
        asked for, unless it is the whole source: the writer shuts its handle down next (every byte
        durable, the record dropped by the finalize), so that record would only delay it; a kill in between
        resumes from the previous one. Returns at once (the record is written by a helper thread)."""
        with self._lock:
            if self._settled or self.every <= 0 or committed - self.noted < self.every:
                return
            if self.src.size is not None and committed >= self.src.size:
                return
            self.noted, self._wanted, self.recorded = committed, committed, True
            if self._writing is not None:
                return  # the helper records the newest prefix once its record is written
            self._writing = threading.Thread(target=self._record, name="irods-checkpoint", daemon=True)
            thread = self._writing
        thread.start()

    def _record(self) -> None:
        """Write the wanted records one after the other, replacing the previous value each time."""
        while True:
            with self._lock:
                committed, self._wanted = self._wanted, None
                if committed is None or self._settled:
                    self._writing = None
                    return
                previous = self.previous
            state = _resume.ResumeState(
                committed=committed, source_size=self.src.size, source_mtime_ns=self.src.mtime_ns
            )
            try:
                _resume.save_state(self.session, self.temp, state, previous=previous)
            except Exception as exc:  # a missed checkpoint costs a longer resume, never the upload
                log.warning("could not record resume state on %s: %s", self.temp, exc)
                continue
            with self._lock:
                self.previous = state.to_value()

    def settle(self) -> None:
        """Record nothing more; wait for a record being written (then :attr:`previous` is on the object)."""
        with self._lock:
            self._settled = True
            thread = self._writing
        if thread is not None and thread is not threading.current_thread():
            thread.join()


class _TempCleanup:
    """The failure cleanup of an upload's temporary object, registered as its writer is made.

    Only a temporary a later attempt finds again by its name (``stable``) is ever kept. While bytes are
    written, a resumable one is kept with the prefix its writer committed recorded for the next attempt (the
    writer's own cleanup, newer, has shut its handle down by then, which makes those bytes durable), any
    other is removed; once written, it is kept (the next attempt resumes it at its end) until it is finished
    (AVUs and permissions set, its resume record dropped: see :meth:`forsake`). It is always removed when
    the source changed (a prefix of a version that no longer exists), on a checksum mismatch, once finished,
    and when publishing it was refused for good.
    """

    def __init__(
        self,
        session: SessionLike,
        temp: str,
        src: OpenedSource,
        writer: ParallelWriter,
        checkpoints: _Checkpoints,
        *,
        resume: bool,
        stable: bool,
        start: int,
    ) -> None:
        self.session, self.temp, self.src = session, temp, src
        self.writer, self.checkpoints = writer, checkpoints
        self.resume, self.stable, self.start = resume, stable, start
        self.writing = True
        self.forsaken = False
        self.lease: UploadLease | None = None
        """The attempt's lease on the temporary: a failure stops it and drops its records (no live writer)."""

    def forsake(self) -> None:
        """The temporary object is finished, or publishing it was refused for good: a failure removes it."""
        self.forsaken = True

    def __call__(self, cause: BaseException | None) -> None:
        """Record the committed prefix for a later resume, keep the temporary object, or remove it."""
        self.checkpoints.settle()  # no checkpoint written after (or racing) what is decided here
        lease = self.lease.forget() if self.lease is not None else []
        if isinstance(cause, IrodsTemporaryTakenOverError):
            return  # another attempt writes it now: its records and bytes are that attempt's
        worthless = self.forsaken or isinstance(cause, IrodsSourceChangedError | IrodsChecksumMismatchError)
        keep = self.stable and (self.resume or not self.writing)
        if worthless or not keep:
            if _quiet_remove(self.session, self.temp):
                _journal.forget(self.session, self.temp)  # its records (a federated zone's) go with it
            return
        committed = self.writer.committed_bytes
        state = None
        if self.writing and (committed > self.start or self._record_claims_more(committed)):
            src = self.src
            state = _resume.ResumeState(
                committed=committed, source_size=src.size, source_mtime_ns=src.mtime_ns
            )
        try:  # the prefix recorded and the lease dropped in one call: kept for a later attempt, by nobody
            if state is not None:
                _resume.save_state(
                    self.session, self.temp, state, previous=self.checkpoints.previous, also=lease
                )
            elif lease:
                _journal.apply(self.session, self.temp, lease)
        except Exception as exc:  # the transfer's own error is what the caller must see
            log.warning("could not record resume state on %s: %s", self.temp, exc)

    def _record_claims_more(self, committed: int) -> bool:
        """Whether the record on the object claims more than ``committed``: a checkpoint of this attempt
        counted a write a storage failure then proved unwritten (the writer's prefix was cut back)."""
        previous = self.checkpoints.previous
        state = None if previous is None else _resume.ResumeState.from_value(previous)
        return state is not None and state.committed > committed


def _quiet_remove(session: SessionLike, path: str) -> bool:
    """Remove the temporary object ``path``; whether it is gone (a failure is logged)."""
    try:
        session.data_objects.remove(path, no_trash=True)
    except (IrodsNotFoundError, IrodsNotADataObjectError):
        return True  # never created (an init dropped before the server read it): nothing to remove
    except Exception as exc:
        log.warning("could not remove temporary object %s: %s", path, exc)
        return False
    return True


def _finalize(
    session: SessionLike,
    temp: str,
    *,
    metadata: Sequence[Any] | Mapping[str, str],
    permissions: Mapping[str, str] | None,
    resume_value: str | None,
    handles: Sequence[str] = (),
    lease: Sequence[MetadataOperation] = (),
    retry: ChunkRetrier,
) -> None:
    """Apply AVUs and drop the resume and handle AVUs in one atomic call, then set permissions, on the
    verified object; the records of a temporary in a federated zone go with its journal instead (it asks
    for no AVUs or permissions: refused before it was written).

    Each call is resent on 429/503 only (the server refused before acting), never on ambiguous failures.
    """
    avus = [AVU(k, v) for k, v in metadata.items()] if isinstance(metadata, Mapping) else list(metadata)
    ops = [MetadataOperation("add", a) for a in avus]
    if _journal.journal_for(session, temp) is not None:
        if handles or lease or resume_value is not None:  # else nothing was recorded: no journal to remove
            _journal.forget(session, temp)
    else:
        if resume_value is not None:
            ops.insert(0, _resume.metadata_op("remove", resume_value))
        ops[:0] = [*(_resume.handle_op("remove", h) for h in handles), *lease]
    if ops:
        retry.call(lambda: session.metadata.apply(temp, ops, kind=_resume._data_object_kind()))
    if permissions:
        acls = [PermissionOperation(entity, acl) for entity, acl in permissions.items()]
        retry.call(lambda: session.data_objects.modify_permissions(temp, acls))


_IN_PLACE = InPlace()


def _publish(
    session: SessionLike,
    temp: str,
    path: str,
    *,
    overwrite: OverwritePolicy,
    retry: ChunkRetrier,
    expected: tuple[int, str] | None = None,
    refused: Callable[[], object] = lambda: None,
    keep: Callable[[], object] = lambda: None,
    in_place: InPlace = _IN_PLACE,
    parked: bool | None = None,
) -> None:
    """Rename ``temp`` onto ``path``; with OVERWRITE the old object is moved aside first and removed last.

    ``retry`` bounds the attempts of each rename; ``expected`` (size, checksum) identifies the published
    object when a rename's outcome must be read back. Moving the old object aside registers its way back
    with ``retry``'s coordinator: the caller runs its failure cleanups when this raises (they also remove
    the temporary object, which the caller registered as it created it; ``refused`` is told first when
    publishing it was refused for good, so that cleanup removes it even if it would keep it otherwise).
    ``keep`` runs right before an existing object is moved aside (an upload carries its grants and AVUs).
    A caller who may modify the old object but not rename it (no ``own``) overwrites it in place by a
    verified copy instead, ``in_place`` saying what that must also do (see :mod:`._copyover`). Published
    under OVERWRITE, what killed overwrites moved aside from ``path`` is removed (one GenQuery), unless the
    run's listing found none (``parked`` False: :func:`parked_among`).
    """

    def rename(old: str, new: str, identity: tuple[int, str] | None = None) -> None:
        _rename(session, old, new, retry=retry, expected=identity)

    old, ours = aside_names(path, in_place.owner, temp)
    # Under REFUSE the rename is sent without asking first: the server refuses an existing ``path`` itself.
    if overwrite is OverwritePolicy.REFUSE or not session.data_objects.exists(path):
        try:
            rename(temp, path, expected)
        except IrodsAlreadyExistsError:
            pass  # ``path`` exists (or another writer published it meanwhile): the policy decides below
        except IrodsResponseError as exc:
            refused()  # for good: nothing half-published stays behind
            if exc.irods_name != "INVALID_OBJECT_TYPE":
                raise
            raise exc.retold(
                f"{path} is a collection: a data object cannot be published there",
                kind=IrodsNotADataObjectError,
                operation="upload",
                path=path,
            ) from exc
        else:
            if overwrite is OverwritePolicy.OVERWRITE and parked is not False:
                _remove_leftovers(session, path, ours)  # a killed attempt moved them aside: superseded now
            return
    if overwrite is OverwritePolicy.REFUSE:
        refused()
        raise IrodsAlreadyExistsError(
            f"{path} already exists (or appeared during the upload) and the overwrite policy is REFUSE",
            operation="upload",
            path=path,
        )
    _while_there(session, path, keep)
    try:
        _while_there(session, path, lambda: _move_aside(session, path, old, rename))
    except IrodsPermissionError as exc:
        if not rename_refused(exc):
            raise
        overwrite_in_place(session, temp, path, expected=expected, retry=retry, in_place=in_place, cause=exc)
        return
    _swap_in(session, temp, path, old, retry=retry, expected=expected)
    if parked is not False:
        _remove_leftovers(session, path, ours)


def _swap_in(
    session: SessionLike,
    temp: str,
    path: str,
    old: str,
    *,
    retry: ChunkRetrier,
    expected: tuple[int, str] | None,
) -> None:
    """Rename ``temp`` onto ``path``, whose object was moved aside to ``old`` (put back if that fails,
    removed once it succeeded), unless another writer published there meanwhile."""
    restore = retry.coordinator.add_failure_cleanup(_restorer(session, old, path, retry))
    try:
        _rename(session, temp, path, retry=retry, expected=expected)
    except IrodsAlreadyExistsError as exc:
        restore()  # another writer's object is at ``path`` now: nothing goes back over it
        _remove_aside(session, old, retry)  # superseded by that object; the name is this writer's alone
        raise _raced(path, "it published its object there first") from exc
    restore()
    _remove_aside(session, old, retry)


#: The length of the nonce that ends a name an overwrite moves an object aside to (:func:`aside_names`).
_NONCE = 8


def aside_names(path: str, owner: str | None, temp: str) -> tuple[str, str]:
    """Where this writer moves ``path``'s object aside, ``<parent>/.<name>.irods-old-<transfer>-<nonce>``,
    and the start of that name every writer of ``path`` shares. The nonce makes it this writer's alone: a
    writer racing it for the path never takes the name of an object it moved aside. ``<transfer>`` is
    derived from ``path`` alone (``owner`` and ``temp`` are not used): whatever a killed attempt knew of
    its source (whose size and mtime may have changed since) or its temporary (a random name without a
    stable key), the next attempt finds what it moved aside (see :func:`settle_parked`)."""
    del owner, temp  # kept in the signature: every caller knows them, none may matter for the name
    parent, _, name = path.rpartition("/")
    transfer = _resume.resume_key("old", path)[:12]
    nonce = uuid.uuid4().hex[:_NONCE]
    full = temporary_name(name, "old", f"{transfer}-{nonce}")
    return f"{parent}/{full}", f"{parent}/{full[: -len(nonce)]}"


def parked_start(path: str) -> str:
    """The start of every name an overwrite of ``path`` moves its object aside to (:func:`aside_names`)."""
    return aside_names(path, None, "")[1]


def parked_among(session: SessionLike, destinations: Collection[str]) -> frozenset[str] | None:
    """The ``destinations`` from which killed overwrites left objects moved aside (:func:`aside_names`), in
    one GenQuery over their deepest common collection and below: a multi-file run asks once, not each
    skipped file (:func:`settle_parked`). None when that cannot be listed (logged; each file asks then)."""
    if not destinations:
        return frozenset()
    query: Any = getattr(session, "query", None)
    if query is None:
        return None
    root = posixpath.commonpath([posixpath.dirname(d) or "/" for d in destinations])
    if root.count("/") < 2:  # the whole catalog, or a zone's: not worth one scan
        return None
    where = f"{prefix_condition('COLL_NAME', root)} and DATA_NAME like '.%{like_text('.irods-old-')}%'"
    try:
        rows = list(query.genquery(f"select COLL_NAME, DATA_NAME where {where}", zone=query.zone_for(root)))
    except IrodsError as exc:
        log.warning("could not look for objects earlier attempts moved aside below %s: %s", root, exc)
        return None
    return parked_at(destinations, (f"{collection.rstrip('/')}/{name}" for collection, name in rows))


def parked_at(destinations: Collection[str], listed: Iterable[str]) -> frozenset[str]:
    """The ``destinations`` that objects moved aside by overwrites (``listed``: paths a listing found, any
    others ignored) were moved aside from."""
    # A name moved aside ends with its writer's nonce; what comes before is the path's (parked_start).
    starts = {path[:-_NONCE] for path in listed if ".irods-old-" in path.rpartition("/")[2]}
    return frozenset(d for d in destinations if parked_start(d) in starts) if starts else frozenset()


def _parked(session: SessionLike, path: str, ours: str) -> list[tuple[str, str]] | None:
    """The objects moved aside from ``path`` (names starting with ``ours``) with their modify times, in one
    GenQuery; None when they cannot be listed (logged)."""
    parent, _, start = ours.rpartition("/")
    where = f"{match_condition('COLL_NAME', parent)[0]} and {prefix_condition('DATA_NAME', start)}"
    query: Any = getattr(session, "query", None)
    if query is None:  # a session without GenQuery: the cleanup of abandoned temporaries sweeps them
        return None
    select = f"select COLL_NAME, DATA_NAME, DATA_MODIFY_TIME where {where}"
    try:
        rows = list(query.genquery(select, zone=query.zone_for(parent)))
    except IrodsError as exc:
        log.warning("could not look for objects earlier attempts moved aside from %s: %s", path, exc)
        return None
    found = {f"{parent}/{name}": stamp for collection, name, stamp in rows if collection == parent}
    return sorted((p, stamp) for p, stamp in found.items() if p.rpartition("/")[2].startswith(start))


def _remove_leftovers(session: SessionLike, path: str, ours: str) -> None:
    """Once an object was published at ``path``: remove what overwrites of it moved aside (names starting
    with ``ours``: a killed attempt's, or a racing writer's that lost), superseded now; one GenQuery. Best
    effort: a failure is logged (the cleanup of abandoned temporaries removes them later)."""
    for parked, _ in _parked(session, path, ours) or ():
        _remove_if_present(session, parked)


def settle_parked(session: SessionLike, path: str, config: TransferConfig) -> None:
    """Bring back a consistent ``path`` after an overwrite of it was killed between its two renames (the
    old object moved aside, the final name empty): the newest object moved aside from it is renamed back
    onto it, the others (superseded) removed; when ``path`` holds an object, every one moved aside from it
    is superseded and removed. Run by a failed attempt (so ``path`` holds the old object again, never
    nothing) and where an attempt decides to publish nothing. One GenQuery when nothing was moved aside;
    best effort: a failure is logged and what could not be put back stays moved aside."""
    found = _parked(session, path, parked_start(path))
    if not found:
        return
    try:
        emptied = not session.data_objects.exists(path)
    except IrodsError as exc:
        log.warning("could not tell whether %s is empty; what was moved aside from it stays: %s", path, exc)
        return
    if emptied:
        newest = max(found, key=lambda f: (f[1], f[0]))[0]
        retry = ChunkRetrier(  # its own budget: it runs when the attempt failed or was cancelled
            retries=config.retries,
            base_seconds=config.backoff_base_seconds,
            max_seconds=config.backoff_max_seconds,
            coordinator=TransferCoordinator(path=path),
        )
        try:
            _rename(session, newest, path, retry=retry, expected=None)
        except IrodsError as exc:
            log.warning("could not put %s back onto the empty %s: %s", newest, path, exc)
            return
        log.warning("put %s back onto %s (an overwrite was killed between its two renames)", newest, path)
        found = [f for f in found if f[0] != newest]
    for parked, _ in found:
        _remove_if_present(session, parked)


def _raced(path: str, what: str) -> IrodsConcurrentOverwriteError:
    """The typed failure of a writer that lost a race to replace ``path`` to another writer."""
    return IrodsConcurrentOverwriteError(
        f"another writer replaced {path} while this upload was replacing it ({what}); nothing of this "
        "upload was published and the other writer's object is left alone: retry to overwrite it again",
        operation="upload",
        path=path,
    )


def _while_there(session: SessionLike, path: str, step: Callable[[], object]) -> None:
    """Run ``step`` on the object at ``path``; gone meanwhile (another writer moved it aside to replace it
    with its own): :class:`IrodsConcurrentOverwriteError`."""
    try:
        step()
    except (IrodsNotFoundError, IrodsNotADataObjectError) as exc:
        if session.data_objects.exists(path):
            raise
        raise _raced(path, "it moved the old object aside first") from exc


def _move_aside(session: SessionLike, path: str, old: str, rename: Callable[[str, str], None]) -> None:
    """Rename the object at ``path`` to ``old``, replacing what a killed attempt left there (unless
    ``path`` is gone: then ``old`` is another writer's, moved aside a moment ago)."""
    try:
        rename(path, old)
    except IrodsAlreadyExistsError as exc:
        if not session.data_objects.exists(path):
            raise _raced(path, "it moved the old object aside first") from exc
        _remove_if_present(session, old)  # a killed attempt's, after it published: superseded by ``path``
        rename(path, old)


def _remove_aside(session: SessionLike, old: str, retry: ChunkRetrier) -> None:
    """Remove the replaced object moved aside to ``old``, resent on failures that may not have reached the
    server (it is found missing then: done); a failure is only logged, the new object is published."""

    def remove() -> None:
        try:
            session.data_objects.remove(old, no_trash=True)
        except (IrodsNotFoundError, IrodsNotADataObjectError):
            return

    try:
        retry.call(remove)
    except Exception as exc:
        log.warning("could not remove the replaced object moved aside to %s: %s", old, exc)


def _restorer(session: SessionLike, old: str, path: str, retry: ChunkRetrier) -> Callable[[object], None]:
    """The failure cleanup of an object moved aside to ``old``: rename it back onto ``path``, with
    ``retry``'s budget but not its coordinator's state (it runs because that transfer failed or was
    cancelled)."""
    alone = ChunkRetrier(
        retries=retry.retries,
        base_seconds=retry.base_seconds,
        max_seconds=retry.max_seconds,
        coordinator=TransferCoordinator(path=path),
    )
    return lambda _cause: _rename(session, old, path, retry=alone, expected=None)


def _remove_if_present(session: SessionLike, path: str) -> None:
    """Remove a leftover data object; nothing to do when it is missing (the usual case)."""
    try:
        session.data_objects.remove(path, no_trash=True)
    except (IrodsNotFoundError, IrodsNotADataObjectError, IrodsNotACollectionError):
        return
    except IrodsError as exc:
        log.warning("could not remove leftover object %s: %s", path, exc)


def _rename(
    session: SessionLike, old: str, new: str, *, retry: ChunkRetrier, expected: tuple[int, str] | None
) -> None:
    """Rename ``old`` to ``new``, resent while it provably did not happen.

    A rename is not idempotent, so after a failure that does not say whether it was applied (5xx, dropped
    connection, timeout) the paths are read back: ``old`` gone and ``new`` present (with the ``expected``
    size and checksum) means done; ``old`` still there and ``new`` absent means it is sent again, with
    backoff, within ``retry``'s attempts. Anything else is raised.
    """
    api = session.data_objects
    tried = False

    def attempt() -> None:
        nonlocal tried
        try:
            api.rename(old, new)
        except Exception as exc:
            unclear = is_retryable(exc) and not is_busy(exc)
            if unclear or tried:
                outcome = _renamed(session, old, new, expected)
                if outcome is True:
                    log.info("rename of %s to %s was applied despite %s", old, new, exc)
                    return
                if outcome == "target exists":
                    raise IrodsAlreadyExistsError(
                        f"{new} exists: renaming {old} onto it was refused", operation="rename", path=new
                    ) from exc
            raise
        finally:
            tried = True

    retry.call(attempt)


def _renamed(
    session: SessionLike, old: str, new: str, expected: tuple[int, str] | None
) -> bool | Literal["target exists"] | None:
    """True when ``old`` is gone and ``new`` is the expected object, False when the rename is still to be
    done, ``"target exists"`` when it was not applied and cannot be (both are there), None when the state
    is none of these (or cannot be read)."""
    api = session.data_objects
    try:
        old_there, new_there = api.exists(old), api.exists(new)
        if old_there and not new_there:
            return False
        if old_there and new_there:
            return "target exists"
        if not new_there:
            return None
        if expected is None:
            return True
        st = api.stat(new)
    except IrodsError as exc:
        log.warning("could not read back the outcome of renaming %s to %s: %s", old, new, exc)
        return None
    size, checksum = expected
    return (st.size == size and (not st.checksum or st.checksum == checksum)) or None


def parallel_upload(
    session: SessionLike,
    fileobj: IO[bytes],
    path: str,
    *,
    config: TransferConfig | None = None,
    streams: int | None = None,
    chunk_size: int | None = None,
    size: int | None = None,
    subscribers: Sequence[TransferSubscriber] = (),
    cancel_event: threading.Event | None = None,
) -> CopyResult:
    """Upload a file object to ``path`` in one call (parallel streams, bounded memory), verify its
    checksum and publish it (replacing an existing object).

    The bytes go to a temporary sibling (its handle recorded, see :class:`AtomicWriter`) that is renamed
    onto ``path`` once verified, so ``path`` never holds a partial object, even after ``kill -9``; a retry
    writes the temporary afresh. No policies: use :func:`upload_object` for skip/overwrite and resume.
    """
    from ._atomic import AtomicWriter  # it builds on this module

    cfg = _effective_config(session, config, streams=streams, chunk_size=chunk_size)
    coordinator = TransferCoordinator(path=path, subscribers=subscribers, cancel_event=cancel_event)
    coordinator.queued(size)
    # Not guarded: the checksum verified right before the publish proves the temporary is this writer's.
    writer = AtomicWriter(
        session,
        path,
        config=cfg,
        size=size,
        coordinator=coordinator,
        publish=False,
        guard=False,
        verify=False,
    )
    try:
        result = copy(
            fileobj,
            writer,
            chunk_size=cfg.chunk_size,
            hasher=hasher_for(cfg.checksum_scheme, session, path, resource=cfg.resource),
            coordinator=coordinator,
            report_progress=False,
        )
        writer.close()
        result = with_server_checksum(result, verify_upload(session, writer.path, result, config=cfg))
        writer.publish()
    except BaseException as exc:
        writer.abort()
        coordinator.done(exc)
        raise
    coordinator.done(None)
    return result
