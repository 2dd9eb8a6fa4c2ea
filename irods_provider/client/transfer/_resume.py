"""Resume state of an interrupted upload, kept as one AVU on the temporary object.

Design: an upload goes to a temporary sibling whose name is derived from a resume key (source identity and
destination), so a retried task finds it again. Parallel writes only become durable when the handle is shut
down,
so the writer tracks the *contiguous prefix of acknowledged chunks*; after the handle is shut down (always,
also
on failure) that prefix is recorded as an AVU on the temporary object, together with the source's size and
mtime. A resumed upload checks that the source is unchanged and that the object is at least that long,
re-reads
and hashes the prefix locally (no network), then writes the rest with explicit offsets and ``truncate=0``.
The AVU is only ever raised after a successful shutdown, so it never claims bytes that were not committed.
The final checksum comparison proves the whole result either way.

Parallel-write handles never expire and lock their object, so the id of each handle opened on a temporary
object is recorded there too (``HANDLE_ATTRIBUTE``): a retry after the worker was killed shuts the leaked
handle down (any authenticated user may) instead of finding the temporary object locked forever.

A writer that shares its temporary's name with other live writers (``AtomicWriter``: the name is derived
from the target alone) records itself and a lease in the same call as its first handle
(``WRITER_ATTRIBUTE``, ``LEASE_ATTRIBUTE``, renewed as a claim is, see ``_claim.Lease``): the next writer
releases those handles and takes the temporary over only once the lease lapsed (its writer is dead).

A temporary in a federated zone cannot carry these AVUs (iRODS's atomic metadata call runs on the local
catalog): its records are kept, by the same calls in the same order, on its journal in the user's local home
(:mod:`._journal`); every function here reads and writes a temporary's records where they are kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from irods_provider.client import AVU, EntryKind, MetadataOperation
from irods_provider.client._ops_fs import remote_atomic_refusal
from irods_provider.client._paths import atomic_lookup_may_miss, temporary_name
from irods_provider.client._temporaries import (
    HANDLE_ATTRIBUTE,
    LEASE_ATTRIBUTE,
    RESUME_ATTRIBUTE,
    WRITER_ATTRIBUTE,
)
from irods_provider.exceptions import IrodsError, IrodsUsageError

from . import _journal
from ._api import DataObjectsLike, SessionLike

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class ResumeState:
    """Committed prefix of a temporary object and the identity of the source it came from."""

    committed: int
    source_size: int | None
    source_mtime_ns: int | None = None

    def to_value(self) -> str:
        """Serialise as the AVU value."""
        return json.dumps(
            {"v": 1, "committed": self.committed, "size": self.source_size, "mtime_ns": self.source_mtime_ns},
            separators=(",", ":"),
        )

    @classmethod
    def from_value(cls, value: str) -> ResumeState | None:
        """Parse an AVU value; None when it is not ours or not understood."""
        try:
            data = json.loads(value)
            if data.get("v") != 1:
                return None
            return cls(
                committed=int(data["committed"]), source_size=data["size"], source_mtime_ns=data["mtime_ns"]
            )
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError, RecursionError):
            return None


def temp_name(path: str, key: str) -> str:
    """The temporary sibling of ``path`` used while uploading: ``<parent>/.<name>.irods-part-<key>.<ext>``
    (``path``'s extension kept, for server policies keyed on it), shortened deterministically when over
    255 bytes (a vault file name's limit: ``temporary_name``)."""
    parent, _, name = path.rpartition("/")
    return f"{parent}/{temporary_name(name, 'part', key)}"


def resume_key(*parts: object) -> str:
    """A short stable key from the source identity and destination."""
    return hashlib.sha256("\x00".join(str(p) for p in parts).encode("utf-8")).hexdigest()[:16]


def _avu(value: str) -> AVU:
    return AVU(RESUME_ATTRIBUTE, value)


def _data_object_kind() -> EntryKind:
    return EntryKind.DATA_OBJECT


def metadata_op(operation: str, value: str) -> MetadataOperation:
    """One ``modify_metadata`` step on the resume AVU."""
    return MetadataOperation(operation, _avu(value))


@dataclass(frozen=True)
class TempRecord:
    """What a temporary object carries: its resume state (and raw AVU value) and recorded handle ids."""

    state: ResumeState | None = None
    raw: str | None = None
    handles: tuple[str, ...] = ()
    lease: tuple[AVU, ...] = ()
    """The writer and lease AVUs recorded on it (see the module docstring)."""


def inspect(session: SessionLike, temp: str) -> TempRecord:
    """Read the resume state and recorded handles of ``temp`` in one metadata listing of its records (on it,
    or on its journal: :mod:`._journal`; empty when missing or unreadable)."""
    try:
        avus = session.metadata.list(_journal.records_at(session, temp), kind=_data_object_kind())
    except IrodsError:
        return TempRecord()
    state: ResumeState | None = None
    raw: str | None = None
    handles: list[str] = []
    lease: list[AVU] = []
    for avu in avus:
        if avu.attribute == HANDLE_ATTRIBUTE:
            handles.append(avu.value)
        elif avu.attribute in (WRITER_ATTRIBUTE, LEASE_ATTRIBUTE):
            lease.append(AVU(avu.attribute, avu.value, avu.units or ""))
        elif avu.attribute == RESUME_ATTRIBUTE and state is None:
            state = ResumeState.from_value(avu.value)
            raw = avu.value if state is not None else None
    return TempRecord(state=state, raw=raw, handles=tuple(handles), lease=tuple(lease))


def load_state(session: SessionLike, temp: str) -> tuple[ResumeState, str] | None:
    """The recorded state of ``temp`` and its raw AVU value, or None (no object, no AVU, or not ours)."""
    record = inspect(session, temp)
    if record.state is None or record.raw is None:
        return None
    return record.state, record.raw


def unrecordable(session: Any, path: str) -> bool:
    """Whether nothing can be recorded for the object ``path``, so uploads to it open no parallel-write
    handle (nothing would record it, and a leaked one never expires) and keep no resume record: a path
    iRODS's own lookup misreads (``atomic_lookup_may_miss``: a quote in the collection on 4.3) is never
    found by the atomic metadata calls; in a federated zone, where they cannot reach the object (see
    ``_ops_fs.remote_atomic_refusal``), the records go to a journal in the local zone (:mod:`._journal`)
    unless no local home can keep one.
    """
    limits = getattr(session, "limits", None)
    version = getattr(limits, "irods_server_version", None)
    if atomic_lookup_may_miss(path, server_version=version if isinstance(version, str) else None):
        return True
    return _journal.remote_zone(session, path) is not None and not _journal.usable(session, path)


def recordable_resume(
    session: Any, path: str, resume: bool, *, metadata: Any, permissions: Mapping[str, str] | None
) -> bool:
    """``resume``, off where nothing can be recorded for the object (:func:`unrecordable`). An upload that
    must finish with AVUs or grants (the atomic calls, which no journal stands in for) where those calls
    cannot reach the object (a federated zone, a quote on 4.3) is refused before anything is read."""
    if metadata or permissions:
        if (zone := _journal.remote_zone(session, path)) is not None:
            raise remote_atomic_refusal("upload_object", path, zone)
        if unrecordable(session, path):
            raise IrodsUsageError(
                f"cannot set AVUs or permissions on {path}: iRODS's atomic metadata and permission calls "
                "cannot find an object there (iRODS 4.3: a quote in the collection's name; 5.0: a \\xHH "
                "sequence)",
                operation="upload_object",
                path=path,
            )
    return resume and not unrecordable(session, path)


def handle_op(operation: str, handle: str) -> MetadataOperation:
    """One ``modify_metadata`` step on a recorded parallel-write handle."""
    return MetadataOperation(operation, AVU(HANDLE_ATTRIBUTE, handle))


def save_state(
    session: SessionLike,
    temp: str,
    state: ResumeState,
    *,
    previous: str | None,
    also: Sequence[MetadataOperation] = (),
) -> None:
    """Record ``state`` for ``temp`` in one atomic metadata call (replacing the previous value), with the
    operations ``also`` (a failed attempt's lease records dropped)."""
    ops = [metadata_op("remove", previous)] if previous is not None else []
    ops.append(metadata_op("add", state.to_value()))
    ops.extend(also)
    _journal.apply(session, temp, ops)


def release_handles(
    session: SessionLike, temp: str, handles: Sequence[str], *, lease: Sequence[AVU] = ()
) -> tuple[str, ...]:
    """Shut down parallel-write handles a killed attempt left open on ``temp`` and forget them (with its
    lapsed ``lease`` AVUs, in the same call); the ones still on record (forgetting failed), else empty."""
    for handle in handles:
        log.warning(
            "shutting down parallel-write handle %s left open on %s by an earlier attempt", handle, temp
        )
        session.data_objects.parallel_write_shutdown(handle)
    ops = [handle_op("remove", h) for h in handles] + [MetadataOperation("remove", a) for a in lease]
    try:
        _journal.apply(session, temp, ops)
    except IrodsError as exc:  # harmless: shutting an unknown handle down again succeeds
        log.warning("could not forget handles recorded on %s: %s", temp, exc)
        return tuple(handles)
    return ()


class _RecordingDataObjects:
    """Data-object operations that record each parallel-write handle on its object as soon as it opens."""

    def __init__(self, session: SessionLike, lease: LeaseHooks | None = None) -> None:
        self._session = session
        self._api = session.data_objects
        self._lease = lease
        self._leased = False
        self.opened = False
        self.handles: list[str] = []
        """Every handle opened, recorded or not (an ambiguous failure may have recorded it all the same)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._api, name)

    def parallel_write_init(
        self, path: str, *, stream_count: int, truncate: bool = True, retry: Any = None, **target: Any
    ) -> str:
        """Open the handle, then record it; an unrecorded handle is shut down again. A journal that will
        record it (:mod:`._journal`) is created first: recording stays the one call after the init."""
        _journal.ensure(self._session, path)
        handle = self._api.parallel_write_init(
            path, stream_count=stream_count, truncate=truncate, retry=retry, **target
        )
        self.opened = True
        self.handles.append(handle)
        lease = None if self._leased else self._lease  # recorded with the first handle only
        ops = [handle_op("add", handle), *(lease.record() if lease is not None else ())]
        try:  # the lease in the same call: no request of its own
            _journal.apply(self._session, path, ops)
        except BaseException:
            with contextlib.suppress(Exception):
                self._api.parallel_write_shutdown(handle)
            raise
        if lease is not None:
            self._leased = True
            lease.recorded(path)
        return handle


@dataclass(frozen=True)
class LeaseHooks:
    """How a writer records its lease with its first handle: ``record`` gives the AVU operations added to
    that call, ``recorded`` is told the object once they are there (it starts renewing)."""

    record: Callable[[], list[MetadataOperation]]
    recorded: Callable[[str], None]


class RecordingSession:
    """A session whose parallel-write handles are recorded on their objects (see :mod:`._resume`), with
    the writer's lease (``lease``) in the first handle's call."""

    def __init__(self, session: SessionLike, lease: LeaseHooks | None = None) -> None:
        self._session = session
        self.__wrapped__ = session  # the real session: what per-session state (checksum schemes) is keyed by
        self._recorder = _RecordingDataObjects(session, lease)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    @property
    def data_objects(self) -> DataObjectsLike:
        """The recording data-object operations."""
        return cast("DataObjectsLike", self._recorder)

    @property
    def opened(self) -> bool:
        """Whether a parallel-write handle was opened (and so maybe recorded)."""
        return self._recorder.opened

    @property
    def handles(self) -> tuple[str, ...]:
        """The parallel-write handles opened through this session (each maybe recorded on its object)."""
        return tuple(self._recorder.handles)
