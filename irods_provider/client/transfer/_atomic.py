"""A writer that publishes atomically: bytes go to a temporary sibling, renamed onto the target at the end.

Crash consistency for the streaming APIs (``open_writer``, ``parallel_upload``, fsspec writes): the target
path only ever holds a complete object (or nothing), the temporary's parallel-write handle is recorded on
it as it opens (see :mod:`._resume`), and its name is derived from the target alone, so the next attempt
(another process, after ``kill -9``) finds it, shuts the recorded handle down and writes it afresh instead
of leaving it locked and behind. The writer records itself and a lease in the same call as its first handle
and renews the lease (every fifth of ``TransferConfig.claim_lease_seconds``, see :class:`._claim.Lease`)
until it publishes: another writer of the same target finding that lease live writes through a fresh name
instead (each publishes its own bytes; the later rename stays), and takes the temporary over only once the
lease lapsed (its writer is dead). Two writers that both chose the shared name before either created it
race to open it: the server refuses the later open (INVALID_HANDLE, or HIERARCHY_ERROR with real codes),
and that writer, which has sent no byte yet, goes on once through a fresh name when the temporary's
replicas prove another write holds it (any other refusal is raised). A writer whose lease lapsed while it
wrote (cut off for the lease) and whose temporary was taken over finds its handle shut down (HTTP 400 to
its next write): it fails with :class:`IrodsTemporaryTakenOverError`, leaving the temporary to the taker.
The handle and lease records are dropped right before the rename, after the verification. The
temporary's removal is registered with the writer's coordinator as it is claimed: a failed close or
publish, or :meth:`AtomicWriter.abort`, runs it.

Before it publishes, the writer verifies the temporary as an upload is (:func:`._replicas.verify_upload`,
``TransferConfig.verify_replicas``): the bytes it was given are hashed as they are written and every
replica the server made (a replication resource's copies too) must be good and hash, recomputed by the
server, to them; else nothing is published, the temporary is removed and the error names the replica. A
caller that verifies the temporary itself right before publishing (``parallel_upload``) passes
``verify=False``.

A publish deferred past the close (``publish=False``: a transaction, a verification first) is *guarded*:
a later writer may have taken the shared name over in between (once this writer's lease lapsed), so the
publish first checks that the temporary is still what this writer closed (no other writer's handle or
lease recorded on it, the size and checksum of the bytes written) and otherwise fails with
:class:`IrodsTemporaryTakenOverError`, leaving the target and the other writer's temporary alone. A
takeover between the records' removal and the rename (one request) is not detected; nor one of a small
object (written in one request, no handle: no lease) between its verification and its rename.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
import weakref
from concurrent.futures import Executor

from irods_provider.client import AVU, MetadataOperation
from irods_provider.client._temporaries import LEASE_ATTRIBUTE, WRITER_ATTRIBUTE
from irods_provider.exceptions import (
    IrodsBadRequestError,
    IrodsError,
    IrodsNotADataObjectError,
    IrodsNotFoundError,
    IrodsResponseError,
    IrodsTemporaryTakenOverError,
)

from . import _journal, _resume
from ._api import SessionLike
from ._carry import carry_over, refuse_dropping_remote_avus
from ._claim import Claim, Lease, recorded_writer
from ._config import OverwritePolicy, TransferConfig
from ._coordinator import TransferCoordinator
from ._copy import CopyResult, StreamHasher, hasher_for, server_checksum_matches
from ._copyover import InPlace
from ._replicas import verify_upload
from ._retry import ChunkRetrier
from ._upload import _choose_temp, _is_locked, _publish, fresh_temp_name, proven_held, settle_parked
from ._writer import ParallelWriter

log = logging.getLogger(__name__)


class AtomicWriter(ParallelWriter):
    """A :class:`ParallelWriter` on a temporary sibling of ``target``, renamed onto it (replacing an existing
    object) at :meth:`close`; ``publish=False`` leaves the rename to the caller (:meth:`publish`), e.g.
    after verifying the checksum or at the end of a transaction. ``path`` is the temporary's name.

    ``guard`` (default: when the publish is deferred) hashes the bytes as they are written so that
    :meth:`publish` can prove the temporary is still this writer's (see the module docstring); a caller
    that verifies the temporary's checksum itself right before publishing passes ``guard=False``.
    ``verify`` (default True): verify every replica of the temporary before publishing, as an upload does
    (``config.verify_replicas``); False for a caller that runs :func:`._replicas.verify_upload` itself.
    """

    def __init__(
        self,
        session: SessionLike,
        target: str,
        *,
        config: TransferConfig,
        size: int | None = None,
        coordinator: TransferCoordinator | None = None,
        executor: Executor | None = None,
        publish: bool = True,
        guard: bool | None = None,
        verify: bool = True,
    ) -> None:
        # An overwrite there that could not keep the object's AVUs is refused before anything is written.
        refuse_dropping_remote_avus(session, target, drop=config.drop_remote_avus, operation="open_writer")
        self.target = target
        self._session = self._plain = session
        self._publish_on_close = publish
        self._guarded = not publish if guard is None else guard
        self._verify = verify
        self._hasher: StreamHasher | None = None
        if self._guarded or verify:
            self._hasher = hasher_for(config.checksum_scheme, session, target, resource=config.resource)
        self._closed_as: CopyResult | None = None
        # Every writer is its own transfer (nothing names a stream's identity): never another's retry.
        self._me = Claim.new(uuid.uuid4().hex, target, lease=config.claim_lease_seconds)
        self._lease: Lease | None = None
        hooks = _resume.LeaseHooks(record=self._lease_ops, recorded=self._renew_lease)
        self._recording = _resume.RecordingSession(session, hooks)
        self._key = key = _resume.resume_key("atomic-writer", target)
        self._moved = False  # went on through a fresh name: its first open of the shared one was refused
        temp, record, _ = _choose_temp(session, target, key, resume=True, me=self._me)
        self._leftovers = set(record.handles)  # a killed writer's handles that could not be forgotten
        super().__init__(
            self._recording,
            temp,
            config=config,
            size=size,
            coordinator=coordinator,
            executor=executor,
        )
        # Run last on a failure: a path a killed writer's publish left empty gets its old object back.
        self.coordinator.add_failure_cleanup(lambda _cause: settle_parked(session, target, config))
        self._withdraw_discard = self.coordinator.add_failure_cleanup(lambda _cause: self.discard())
        # Holds nothing of the writer: a writer dropped unclosed is collected, and its lease stops with it.
        self._left = _Unfinished(target, temp)
        self._on_collected = weakref.finalize(self, self._left.collected)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Queue ``data`` (see :meth:`ParallelWriter.write`), hashed in order when guarded."""
        try:
            written = super().write(data)
        except IrodsError as exc:
            self._raise_if_taken(exc)
            raise
        if self._hasher is not None:
            self._hasher.update(memoryview(data))
        return written

    def _init_handle(self) -> None:
        """Open the handle; an init of the shared temporary refused because another writer's handle holds
        it goes on, once, through a fresh name (see :meth:`_moved_on`). Nothing was sent yet: the init
        comes before this writer's first byte."""
        try:
            super()._init_handle()
        except IrodsResponseError as exc:
            if not self._moved_on(exc):
                raise
            super()._init_handle()

    def _write_small(self) -> None:
        """Write a small object in one request; refused because another writer's handle holds the shared
        temporary, it goes, once, to a fresh name (see :meth:`_moved_on`)."""
        data = bytes(self._buf)
        try:
            super()._write_small()
        except IrodsResponseError as exc:
            if not self._moved_on(exc):
                raise
            self.coordinator.progress(-len(data))  # counted by the refused request
            self._buf = bytearray(data)
            super()._write_small()

    def _moved_on(self, refused: IrodsResponseError) -> bool:
        """Whether this writer, refused its first open of the shared temporary, moved on to a fresh name:
        only once, before any handle of its own, and only when the temporary's replicas prove another
        write holds it (intermediate or write-locked, none good), as the catalog marks an object a write
        opened (irods 4.3.4 rsDataObjOpen.cpp:249, :1059) and refuses to open it again (ill::try_lock,
        :1040-1042; the HTTP API answers INVALID_HANDLE, or HIERARCHY_ERROR with its library's codes). A
        refusal with those codes the replicas do not prove (a resource marked down) is raised, retold
        (:func:`._upload.proven_held`); any other refusal is the caller's to raise."""
        if self._moved or self._recording.opened or not _is_locked(refused):
            return False
        held = proven_held(self._session, self.path, refused)  # else the refusal, retold, is raised
        lost = self.path
        self.path = fresh_temp_name(self.target, self._key)
        self._moved, self._leftovers = True, set()
        log.info(
            "temporary object %s was opened for writing by another writer of %s first (%s); writing "
            "through %s instead",
            lost,
            self.target,
            held,
            self.path,
        )
        return True

    def _raise_if_taken(self, exc: IrodsError) -> None:
        """Raise :class:`IrodsTemporaryTakenOverError` (from ``exc``) when ``exc`` proves another writer took
        the temporary over while this one wrote (its lease had lapsed): a write through this writer's handle
        answered HTTP 400 (a handle the server no longer knows: data_objects main.cpp:1081-1085 at 0.7.0)
        and none of its handles is recorded on the temporary any more (the taker shut them down and forgot
        them). The bytes sent are gone; the temporary, now the other writer's, is left to it. A 400 while
        the handle is still recorded (a restarted API server forgets every handle) is not that proof."""
        if not (isinstance(exc, IrodsBadRequestError) and exc.operation == "data_objects.write"):
            return
        mine = set(self._recording.handles)
        if not mine:
            return
        try:
            record = _resume.inspect(self._session, self.path)
        except IrodsError:
            return
        if mine & set(record.handles):
            return
        self._stop_lease()
        self._withdraw_discard()
        other = self._other_writer(record) or "this writer's parallel-write handle is no longer recorded"
        raise IrodsTemporaryTakenOverError(
            f"another writer of {self.target} took over its temporary object {self.path} while this writer "
            "wrote it (this writer's lease had lapsed); nothing was published",
            changed=other,
            operation="upload",
            path=self.target,
        ) from exc

    def _lease_ops(self) -> list[MetadataOperation]:
        """This writer and its first lease, recorded with its first handle (stamped now)."""
        self._me = me = self._me.stamped()
        return [
            MetadataOperation("add", AVU(WRITER_ATTRIBUTE, me.value)),
            MetadataOperation("add", AVU(LEASE_ATTRIBUTE, me.lease_value(me.since))),
        ]

    def _renew_lease(self, temp: str) -> None:
        """Renew the lease recorded for ``temp`` (on it, or on its journal) until the publish (or the
        discard) stops it, or the writer is garbage collected unfinished (see :class:`_Unfinished`)."""
        # On the plain session: the recording one (the writer's ``_session`` by now) holds the writer.
        lease = Lease(self._plain, _journal.records_at(self._plain, temp), self.target, self._me)
        self._lease = self._left.lease = lease.__enter__()
        self._left.temp = temp

    def _stop_lease(self) -> None:
        self._on_collected.detach()  # finished (published or discarded): nothing left to stop when collected
        if self._lease is not None:
            self._lease.stop()

    def close(self) -> None:
        """Finish the temporary object and (unless told not to) publish it; its handle and lease records
        stay until the publish, so no other writer takes it over meanwhile."""
        if self.closed:
            return
        try:
            try:
                super().close()
            except IrodsError as exc:
                self._raise_if_taken(exc)
                raise
        except BaseException as exc:
            self.coordinator.run_failure_cleanups(exc)
            raise
        self._left.closed = True
        if self._hasher is not None:
            self._closed_as = self._hasher.result()
        if self._publish_on_close:
            self.publish()

    def abort(self, *, keep_queued: bool = False) -> None:
        """Stop writing (see :meth:`ParallelWriter.abort`) and run the writer's failure cleanups: the
        temporary object is removed. Never raises."""
        super().abort(keep_queued=keep_queued)
        self.coordinator.run_failure_cleanups(self.coordinator.exception)

    def publish(self) -> None:
        """Verify the finished temporary (every replica, see the module docstring) and rename it onto the
        target (an existing object there is replaced, its grants and AVUs kept, see :mod:`._carry`); a
        failure puts a replaced object back and removes the temporary, success drops the cleanups. A guarded
        writer first proves the temporary is still its own (else :class:`IrodsTemporaryTakenOverError`, and
        the temporary, now the other writer's, is left to it)."""
        cfg = self.config
        retry = ChunkRetrier(
            retries=cfg.retries,
            base_seconds=cfg.backoff_base_seconds,
            max_seconds=cfg.backoff_max_seconds,
            coordinator=self.coordinator,
        )
        try:
            guarded = self._closed_as is not None and self._guarded
            record = _resume.inspect(self._session, self.path) if self._recording.opened or guarded else None
            if record is not None and (other := self._other_writer(record)) is not None:
                raise self._taken(other)
            if self._closed_as is not None and self._guarded:
                self._check_still_ours(self._closed_as)
            if self._closed_as is not None and self._verify:
                verify_upload(self._session, self.path, self._closed_as, config=cfg)
            self._drop_records(record)
            _publish(
                self._session,
                self.path,
                self.target,
                overwrite=OverwritePolicy.OVERWRITE,
                retry=retry,
                keep=lambda: carry_over(
                    self._session, self.target, self.path, retry=retry, drop_remote_avus=cfg.drop_remote_avus
                ),
                in_place=InPlace(replicas=cfg.verify_replicas),  # even unverified here: a copy onto the path
            )
        except IrodsTemporaryTakenOverError as exc:
            self._withdraw_discard()  # the temporary is the other writer's now
            self.coordinator.run_failure_cleanups(exc)
            raise
        except BaseException as exc:
            self.coordinator.run_failure_cleanups(exc)
            raise
        self.coordinator.succeed()

    def _drop_records(self, record: _resume.TempRecord | None) -> None:
        """Stop renewing and drop the handle and lease records (``record``: what the temporary carries) in
        one call: the published object carries none of them (a journal goes with them)."""
        self._stop_lease()
        if record is None:
            return
        if _journal.journal_for(self._session, self.path) is not None:
            _journal.forget(self._session, self.path)
            return
        ops = [_resume.handle_op("remove", h) for h in record.handles]
        mine = f"{self._me.attempt} "
        ops += [MetadataOperation("remove", a) for a in record.lease if not a.value.startswith(mine)]
        if self._lease is not None:  # its renewal as it stands now (maybe renewed since ``record`` was read)
            ops.append(MetadataOperation("remove", AVU(WRITER_ATTRIBUTE, self._me.value)))
            ops.append(MetadataOperation("remove", self._lease.recorded))
        if ops:
            _journal.apply(self._session, self.path, ops)

    def _other_writer(self, record: _resume.TempRecord) -> str | None:
        """What ``record`` (the temporary's) shows of another writer that took it over: its handle or its
        writer record; None when there is none."""
        if set(record.handles) - set(self._recording.handles) - self._leftovers:
            return "another writer's parallel-write handle is recorded on the temporary"
        for avu in record.lease:
            if avu.attribute == WRITER_ATTRIBUTE and not avu.value.startswith(f"{self._me.attempt} "):
                return f"writer {avu.value.split(' ')[0]} is recorded on the temporary"
        return None

    def _taken(self, changed: str) -> IrodsTemporaryTakenOverError:
        return IrodsTemporaryTakenOverError(
            f"another writer of {self.target} took over its temporary object {self.path} after this "
            "writer closed it; nothing was published",
            changed=changed,
            operation="publish",
            path=self.target,
        )

    def _check_still_ours(self, closed_as: CopyResult) -> None:
        """Raise :class:`IrodsTemporaryTakenOverError` unless the temporary holds the size and checksum of
        what this writer closed (the server computes the checksum afresh)."""
        api = self._session.data_objects
        taken = self._taken
        try:
            size = api.stat(self.path).size
            if size != closed_as.size:
                raise taken(f"size {closed_as.size} -> {size}")
            checksum = api.calculate_checksum(self.path, force=True)
        except IrodsTemporaryTakenOverError:
            raise
        except IrodsResponseError as exc:  # the server answered: missing, locked, unreadable
            raise taken(f"the temporary cannot be read back ({type(exc).__name__})") from exc
        if server_checksum_matches(checksum, closed_as) is False:
            raise taken(f"checksum -> {checksum}")

    def discard(self) -> None:
        """Remove the temporary object (if it was created): its failure cleanup. One this writer never
        opened a handle on is left alone while another writer's lease is recorded on it (an init refused
        because that writer holds it)."""
        self._stop_lease()
        with contextlib.suppress(IrodsError):
            if not self._recording.opened:
                found = recorded_writer(_resume.inspect(self._session, self.path).lease)
                if found is not None and found.attempt != self._me.attempt:
                    return
            with contextlib.suppress(IrodsNotFoundError, IrodsNotADataObjectError):
                self._session.data_objects.remove(self.path, no_trash=True)
            _journal.forget(self._session, self.path)  # gone: its records with it


class _Unfinished:
    """What a writer dropped before it finished (never closed, or closed but never published) leaves: its
    lease stops when the writer is garbage collected (renewed on, it would keep the temporary from every
    later writer until the process exits), a warning names the path, and nothing is published. The
    temporary, its handle and lease records are left as they are: the next writer of the target takes it
    over once the lease lapses (see the module docstring)."""

    def __init__(self, target: str, temp: str) -> None:
        self.target, self.temp = target, temp
        self.lease: Lease | None = None
        self.closed = False

    def collected(self) -> None:
        """The writer's finalizer: stop renewing without waiting (any thread may be collecting) and warn."""
        if self.lease is not None:
            self.lease.stop(wait=False)
        log.warning(
            "an atomic writer of %s was %s and is garbage collected: nothing was published; its temporary "
            "object %s is left for the next writer of %s, which takes it over once its lease lapses",
            self.target,
            "closed but never published" if self.closed else "never closed",
            self.temp,
            self.target,
        )


def replace_object(session: SessionLike, source: str, target: str, *, config: TransferConfig) -> None:
    """Rename the data object ``source`` onto ``target``, replacing an object there without ever losing
    it: the engine's publish moves it aside first and puts it back if the rename fails (then raised)."""
    coordinator = TransferCoordinator(path=target)
    retry = ChunkRetrier(
        retries=config.retries,
        base_seconds=config.backoff_base_seconds,
        max_seconds=config.backoff_max_seconds,
        coordinator=coordinator,
    )
    try:
        _publish(session, source, target, overwrite=OverwritePolicy.OVERWRITE, retry=retry)
    except BaseException as exc:
        coordinator.run_failure_cleanups(exc)  # the moved-aside object goes back; ``source`` stays
        settle_parked(session, target, config)  # so does one a killed attempt moved aside
        raise
    coordinator.succeed()
