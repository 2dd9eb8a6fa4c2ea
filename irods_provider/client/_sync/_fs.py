"""Sync API groups for collections and data objects (GENERATED from ``_async``: do not edit)."""

from __future__ import annotations

import builtins
import re
import time
from collections.abc import Iterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from irods_provider._error_codes import error_code
from irods_provider.client import _ops_fs as ops
from irods_provider.client._sync._catalog import execute_atomic
from irods_provider.client._sync._outcomes import (
    checksum_outcome,
    copy_outcome,
    removal_confirmed,
    remove_outcome,
    replicas_or_none,
    replicate_outcome,
    snapshot,
    trim_outcome,
    verification_lost,
    verification_timeout,
    verification_unfinished,
)
from irods_provider.client._sync._temporaries import remove_temporaries
from irods_provider.client._sync._ticket_reads import ticket_pieces
from irods_provider.client._compat import ItiDataObjectsMixin
from irods_provider.client._config import TimeoutTypes, UseDefault
from irods_provider.client._genquery import match_condition, modified_after_condition, prefix_condition
from irods_provider.client._locks import (
    GOOD_REPLICA_CONDITION,
    is_no_good_replica,
    unavailable_error,
    writing_error,
)
from irods_provider.client._models import (
    ChecksumReport,
    CollectionStat,
    DataObjectStat,
    Entry,
    EntryKind,
    Kinds,
    Permission,
    PermissionOperation,
    Replica,
)
from irods_provider.client._paths import (
    basename,
    is_temporary_name,
    needs_catalog,
    parent_path,
    pasted_query_may_miss,
    validate_path,
)
from irods_provider.client._patterns import compile_name
from irods_provider.client._readahead import FirstSeen
from irods_provider.client._retry import handler_ended, reply_lost
from irods_provider.client._temporaries import TemporaryCleanup
from irods_provider.client._ticket_reads import lost_ticket
from irods_provider.exceptions import (
    IrodsAlreadyExistsError,
    IrodsBadRequestError,
    IrodsError,
    IrodsListingError,
    IrodsNotACollectionError,
    IrodsNotADataObjectError,
    IrodsNotFoundError,
    IrodsProtocolError,
    IrodsReplicaUnavailableError,
    IrodsResponseError,
    IrodsUsageError,
)

_INVALID_HANDLE = error_code("INVALID_HANDLE")
_HIERARCHY_ERROR = error_code("HIERARCHY_ERROR")

if TYPE_CHECKING:
    from irods_provider.client._sync._session import IrodsSession
    from irods_provider.client._retry import RetryPolicy

__all__ = ["Collections", "DataObjects"]

_DEFAULT = UseDefault.USE_DEFAULT
_COLL_COLUMNS = "COLL_NAME, COLL_MODIFY_TIME"
_DATA_COLUMNS = (
    "COLL_NAME, DATA_NAME, DATA_REPL_STATUS, DATA_MODIFY_TIME, DATA_SIZE, DATA_CHECKSUM, DATA_REPL_NUM, "
    "DATA_RESC_HIER"
)

_REPLICA_COLUMNS = _DATA_COLUMNS


def _name_filter(pattern: str | None, regex: str | re.Pattern[str] | None) -> re.Pattern[str] | None:
    if pattern is not None and regex is not None:
        raise IrodsUsageError("give either a glob pattern or a regex, not both")
    if pattern is not None:
        # The provider's one pattern rule over a name; searched, so anchored to the whole name.
        return re.compile(rf"\A(?:{compile_name(pattern).pattern})\Z", re.DOTALL)
    if regex is not None:
        return re.compile(regex) if isinstance(regex, str) else regex
    return None


def _join(collection: str, name: str) -> str:
    return f"{collection.rstrip('/')}/{name}"


class Collections:
    """Collections: stat, create, remove, list and walk, rename, touch, permissions, inheritance.

    Example:

    ```python
    from irods_provider.client import IrodsSession, BasicAuth

    base_url = "https://irods.example.org/irods-http-api/0.7.0"
    with IrodsSession(base_url, auth=BasicAuth("alice", "secret")) as session:
        session.collections.create("/tempZone/home/alice/a/b", intermediates=True, exist_ok=True)
        for entry in session.collections.walk("/tempZone/home/alice", pattern="*.csv"):
            print(entry.path, entry.kind)
    ```
    """

    def __init__(self, session: IrodsSession) -> None:
        self._s = session

    def exists(self, path: str, *, ticket: str | None = None) -> bool:
        """True if ``path`` is a collection visible to this user."""
        if "+" in path and ticket is None:
            return self._s.metadata.is_kind(path, EntryKind.COLLECTION)
        try:
            self._s.execute(ops.coll_stat(path, ticket=ticket))
        except (IrodsNotACollectionError, IrodsNotFoundError):
            return False
        return True

    def stat(self, path: str, *, ticket: str | None = None) -> CollectionStat:
        """Permissions, inheritance flag and mtime of a collection (IrodsNotACollectionError if none)."""
        return self._s.execute(ops.coll_stat(path, ticket=ticket))

    def lookup(self, path: str) -> Entry:
        """The listing entry of ``path`` itself, by GenQuery: a data object (size, mtime and checksum of
        its newest good replica, as ``iterate(with_stat=True)``), else a collection; IrodsNotFoundError
        when neither is visible.

        It works for paths holding ``+``, which no ``stat`` can address: the HTTP API decodes a GET query
        string and then turns every ``+`` into a space (core/src/common.cpp ``to_argument_list``).
        """
        validate_path(path, operation="collections.lookup")
        zone = self._s.query.zone_for(path)
        parent, name = parent_path(path), basename(path)
        coll, _ = match_condition("COLL_NAME", parent)
        data, _ = match_condition("DATA_NAME", name)
        query = f"select {_DATA_COLUMNS} where {coll} and {data}"
        rows = [r for r in self._s.query.genquery(query, zone=zone) if (r[0], r[1]) == (parent, name)]
        if rows:
            return _data_entry(rows)
        cond, _ = match_condition("COLL_NAME", path)
        for row in self._s.query.genquery(f"select {_COLL_COLUMNS} where {cond}", zone=zone):
            if row[0] == path:
                return Entry(path=path, kind=EntryKind.COLLECTION, modified_at=int(row[1] or 0))
        raise IrodsNotFoundError(
            "no collection or data object at this path (or not visible)",
            operation="collections.lookup",
            path=path,
        )

    def create(self, path: str, *, intermediates: bool = False, exist_ok: bool = False) -> bool:
        """Create a collection; True if created, False if it already existed (with ``exist_ok``).

        Only the last level by default (``intermediates=False``, like ``mkdir`` and the API's default);
        :class:`~irods_provider.operators.irods.IrodsCreateCollectionOperator` defaults to creating parents.
        Without ``exist_ok`` a create whose reply was lost is not resent (the error says so): the resend
        would find what the first one created.
        """
        created = self._s.execute(ops.coll_create(path, intermediates=intermediates, exist_ok=exist_ok))
        if created:
            return True
        if exist_ok and self.exists(path):
            return False
        raise IrodsAlreadyExistsError(
            "a collection or data object already exists at this path",
            operation="collections.create",
            path=path,
        )

    def remove(self, path: str, *, recurse: bool = False, no_trash: bool = False) -> None:
        """Remove a collection (to the trash unless ``no_trash``; non-empty ones need ``recurse``).

        A lost reply (the server's whole-request deadline cuts a large tree's removal off while it goes on)
        is read back from the catalog: done once the collection is gone, waited for while the tree shrinks
        (each ``session.outcome_wait.min_seconds`` without progress ends the wait), sent again only when the
        server's handler ended with the tree still there; IrodsOutcomeUnknownError names what is left.
        A success answer is checked too: the server answers 0 even when its removal stopped part-way (an
        object being written stays, with its collections): IrodsRemoveIncompleteError says what is left.
        """
        op = ops.coll_remove(path, recurse=recurse, no_trash=no_trash)
        try:
            self._s.execute(op)
        except IrodsError as exc:
            if not reply_lost(exc):
                raise
            remove_outcome(self._s, path, exc, resend=lambda: self._s.execute(op))
            return
        removal_confirmed(self._s, path)

    def list(
        self, path: str, *, recurse: bool = False, ticket: str | None = None
    ) -> builtins.list[str]:
        """Absolute paths of the children (all descendants with ``recurse``), in server order."""
        return self._s.execute(ops.coll_list(path, recurse=recurse, ticket=ticket))

    def iterate(
        self,
        path: str,
        *,
        recursive: bool = False,
        pattern: str | None = None,
        regex: str | re.Pattern[str] | None = None,
        kinds: Kinds = Kinds.BOTH,
        with_stat: bool = False,
        include_temporaries: bool = False,
        read_ahead: int = 1,
        modified_after: int | None = None,
        good_replica_only: bool = False,
    ) -> Iterator[Entry]:
        """Lazily yield the entries below ``path`` via GenQuery (collections first, then data objects).

        ``pattern`` (glob) or ``regex`` (``re.search``) filters on entry names; ``with_stat`` fills
        size, mtime and checksum of data objects from the same queries (no per-entry stat). Objects that
        are the transfer engine's in-flight temporaries are left out unless ``include_temporaries``.
        ``read_ahead`` GenQuery pages are requested at once (see ``query.genquery``). A missing path or
        a data object has no entries, in every zone (ask ``exists`` when that difference matters).

        ``modified_after`` (epoch seconds) keeps only entries modified after it, filtered by the catalog
        (``DATA_MODIFY_TIME``/``COLL_MODIFY_TIME > '0...'``), so a listing costs requests in proportion to
        what changed, not to the collection. With ``with_stat`` an entry's mtime is its newest good
        replica's, as without the filter, and its ``replicas`` are the ones modified after the bound;
        without ``with_stat`` an object is listed when any replica was modified after it.

        ``good_replica_only`` leaves out the data objects without a good replica: one another client is
        still writing (its replicas intermediate or write-locked until the write closes) or whose write
        failed (stale), neither of which can be read. The catalog filters (``DATA_REPL_STATUS = '1'``, in
        the same queries), and an entry then describes its good replicas only.

        GenQuery1 has no snapshot: a collection that changes while it is listed may be listed incompletely
        (an entry shifted past a page boundary is missed); an entry is never yielded twice.
        """
        validate_path(path, operation="collections.iterate")
        accept = _name_filter(pattern, regex)
        zone = self._s.query.zone_for(path)
        since = _Since.of(modified_after, good_only=good_replica_only)
        answered, seen = False, FirstSeen()  # a row changed between pages repeats its entry: by path
        if kinds is not Kinds.DATA_OBJECTS:
            for entry in self._collections(path, recursive, zone, read_ahead, since):
                answered = True
                if (accept is None or accept.search(entry.name)) and seen.first(entry.path):
                    yield entry
        if kinds is not Kinds.COLLECTIONS:
            for entry in self._data_objects(
                path, recursive, with_stat, zone, read_ahead=read_ahead, since=since
            ):
                answered = True
                if not include_temporaries and is_temporary_name(entry.name):
                    continue
                if (accept is None or accept.search(entry.name)) and seen.first(entry.path):
                    yield entry
        if zone is not None and not answered:
            self._confirm_empty(path, zone, kinds, filtered=since.filtered)

    def _confirm_empty(self, path: str, zone: str, kinds: Kinds, *, filtered: bool = False) -> None:
        """A federated zone's catalog answered nothing: make sure the collection really is empty.

        A path that is no collection (missing, or a data object) has no entries, as the local zone's
        GenQuery answers; when ``list`` shows entries of the wanted kind that GenQuery did not, the listing
        cannot be trusted and we say so. A ``filtered`` listing may rightly be empty under a full
        collection: there the catalog answering for ``path`` itself is the proof it can be queried.
        """
        if filtered:
            cond, _ = match_condition("COLL_NAME", path)
            for row in self._s.query.genquery(f"select COLL_NAME where {cond}", zone=zone):
                if row[0] == path:
                    return
        try:
            children = self.list(path)
        except (IrodsNotACollectionError, IrodsNotFoundError):
            return
        for child in children:
            if kinds is Kinds.BOTH or (kinds is Kinds.COLLECTIONS) == self.exists(child):
                raise IrodsListingError(
                    f"GenQuery with zone hint {zone!r} saw no entries, but the collection holds {child!r}; "
                    "the server cannot query that zone's catalog",
                    operation="collections.iterate",
                    path=path,
                )

    def walk(
        self,
        path: str,
        *,
        pattern: str | None = None,
        regex: str | re.Pattern[str] | None = None,
        kinds: Kinds = Kinds.BOTH,
        with_stat: bool = False,
        modified_after: int | None = None,
        good_replica_only: bool = False,
    ) -> Iterator[Entry]:
        """Recursive :meth:`iterate`: every descendant of ``path`` (modified after ``modified_after``)."""
        for entry in self.iterate(
            path,
            recursive=True,
            pattern=pattern,
            regex=regex,
            kinds=kinds,
            with_stat=with_stat,
            modified_after=modified_after,
            good_replica_only=good_replica_only,
        ):
            yield entry

    def _collections(
        self, path: str, recursive: bool, zone: str | None, read_ahead: int, since: _Since
    ) -> Iterator[Entry]:
        prefix = "/" if path == "/" else path + "/"
        if recursive:
            query = f"select {_COLL_COLUMNS} where {prefix_condition('COLL_NAME', prefix)}"
        else:
            query = f"select {_COLL_COLUMNS} where {match_condition('COLL_PARENT_NAME', path)[0]}"
        query += since.clause("COLL_MODIFY_TIME")
        for row in self._s.query.genquery(query, zone=zone, read_ahead=read_ahead):
            name = row[0]
            if name == path or not name.startswith(prefix):
                continue
            if not recursive and "/" in name[len(prefix) :]:
                continue
            if since.keeps(int(row[1] or 0)):
                yield Entry(path=name, kind=EntryKind.COLLECTION, modified_at=int(row[1] or 0))

    def _data_objects(
        self, path: str, recursive: bool, with_stat: bool, zone: str | None, *, read_ahead: int, since: _Since
    ) -> Iterator[Entry]:
        columns = _DATA_COLUMNS if with_stat else "COLL_NAME, DATA_NAME"
        exact, _ = match_condition("COLL_NAME", path)
        queries = [f"select {columns} where {exact}"]
        prefix = "/" if path == "/" else path + "/"
        if recursive:
            queries.append(f"select {columns} where {prefix_condition('COLL_NAME', prefix)}")
        queries = [query + since.clause("DATA_MODIFY_TIME") + since.good_clause() for query in queries]
        for index, query in enumerate(queries):
            pending: builtins.list[builtins.list[str]] = []
            for row in self._s.query.genquery(query, zone=zone, read_ahead=read_ahead):
                collection = row[0]
                if index == 0 and collection != path:
                    continue
                if index == 1 and (collection == path or not collection.startswith(prefix)):
                    continue
                if pending and (pending[0][0], pending[0][1]) != (row[0], row[1]):
                    if entry := self._since_entry(pending, since, zone):
                        yield entry
                    pending = []
                pending.append(row)
            if pending and (entry := self._since_entry(pending, since, zone)):
                yield entry

    def _since_entry(
        self, rows: builtins.list[builtins.list[str]], since: _Since, zone: str | None
    ) -> Entry | None:
        """The entry of one object's replica rows, or None when its mtime is not after ``since``.

        Filtered rows hold only the replicas modified after the bound; when none of them is good, the
        object's good replicas (if any) were modified before it, and they decide its mtime: all its
        replicas are then read again (one query, for the objects being written now only; never when only
        good replicas were asked for).
        """
        good = any(r[2] == "1" for r in rows) if len(rows[0]) >= 7 else True
        if since.filtered and not since.good_only and not good:
            coll, _ = match_condition("COLL_NAME", rows[0][0])
            name, _ = match_condition("DATA_NAME", rows[0][1])
            query = f"select {_DATA_COLUMNS} where {coll} and {name}"
            every = [
                row
                for row in self._s.query.genquery(query, zone=zone)
                if (row[0], row[1]) == (rows[0][0], rows[0][1])
            ]
            rows = every or rows
        entry = _data_entry(rows)
        return entry if entry.modified_at is None or since.keeps(entry.modified_at) else None

    def remove_temporaries(
        self, path: str, *, min_age: float, dry_run: bool = False, now: float | None = None
    ) -> TemporaryCleanup:
        """Remove the transfer engine's abandoned temporaries under ``path`` at least ``min_age`` seconds
        old (by mtime), with their resume AVUs, releasing recorded handles; locked ones are reported."""
        return remove_temporaries(self._s, path, min_age=min_age, dry_run=dry_run, now=now)

    def rename(self, old_path: str, new_path: str) -> None:
        """Rename or move a collection."""
        self._s.execute(ops.coll_rename(old_path, new_path))

    def touch(
        self, path: str, *, seconds_since_epoch: int | None = None, reference: str | None = None
    ) -> None:
        """Set a collection's mtime to now, a given time, or another object's mtime (never creates)."""
        self._s.execute(
            ops.coll_touch(path, seconds_since_epoch=seconds_since_epoch, reference=reference)
        )

    def set_permission(self, path: str, entity: str, permission: str, *, admin: bool = False) -> None:
        """Grant ``permission`` (e.g. ``read_object``, ``own``, ``null`` to revoke) to a user or group."""
        self._s.execute(ops.coll_set_permission(path, entity, permission, admin=admin))

    def set_inheritance(self, path: str, enable: bool, *, admin: bool = False) -> None:
        """Switch ACL inheritance for new children on or off."""
        self._s.execute(ops.coll_set_inheritance(path, enable, admin=admin))

    def modify_permissions(
        self, path: str, operations: Iterable[PermissionOperation], *, admin: bool = False
    ) -> None:
        """Apply several ACL changes atomically (local zone only: see ``data_objects.modify_permissions``)."""
        execute_atomic(
            self._s, ops.coll_modify_permissions(path, operations, admin=admin), path, collection=True
        )


@dataclass(frozen=True)
class _Since:
    """An optional ``modified_after`` bound (its catalog condition and its numeric re-check), and whether
    only data objects with a good replica are listed."""

    epoch: int | None
    good_only: bool = False

    @classmethod
    def of(cls, epoch: int | None, *, good_only: bool = False) -> _Since:
        if epoch is not None:
            modified_after_condition("DATA_MODIFY_TIME", epoch)  # refuse a bad bound before any request
        return cls(epoch, good_only)

    def good_clause(self) -> str:
        """`` and DATA_REPL_STATUS = '1'`` when only good replicas are wanted ("" otherwise)."""
        return f" and {GOOD_REPLICA_CONDITION}" if self.good_only else ""

    @property
    def filtered(self) -> bool:
        return self.epoch is not None

    def clause(self, column: str) -> str:
        """`` and COLUMN > '0...'`` to append to a query's conditions ("" without a bound)."""
        return "" if self.epoch is None else f" and {modified_after_condition(column, self.epoch)}"

    def keeps(self, modified_at: int) -> bool:
        """The numeric re-check (a catalog value stored unpadded compares greater as a string)."""
        return self.epoch is None or modified_at > self.epoch


def _data_entry(rows: builtins.list[builtins.list[str]]) -> Entry:
    """One entry from a data object's replica rows: the newest good replica wins."""
    path = _join(rows[0][0], rows[0][1])
    if len(rows[0]) < 7:
        return Entry(path=path, kind=EntryKind.DATA_OBJECT)
    good = [r for r in rows if r[2] == "1"] or rows
    best = max(good, key=lambda r: (int(r[3] or 0), -int(r[6] or 0)))
    replicas = tuple(sorted((_replica(r[2:]) for r in rows if len(r) > 7), key=lambda r: r.number))
    return Entry(
        path=path,
        kind=EntryKind.DATA_OBJECT,
        size=int(best[4] or 0),
        modified_at=int(best[3] or 0),
        checksum=best[5] or None,
        replicas=replicas,
    )


def _replica(row: builtins.list[str]) -> Replica:
    """A replica from ``DATA_REPL_STATUS, DATA_MODIFY_TIME, DATA_SIZE, DATA_CHECKSUM, DATA_REPL_NUM,
    DATA_RESC_HIER`` (the tail of the listing's data columns)."""
    status, mtime, size, checksum, number, hierarchy = row[:6]
    return Replica(
        number=int(number or 0),
        hierarchy=hierarchy,
        status=status,
        size=int(size or 0),
        checksum=checksum or None,
        modified_at=int(mtime or 0),
    )


def _newest_good(replicas: Iterable[Replica]) -> tuple[int, str | None, int]:
    """Size, checksum and mtime of the newest good replica, as the server's ``stat`` reports them."""
    best = max((r for r in replicas if r.good), key=lambda r: (r.modified_at, -r.number))
    return best.size, best.checksum, best.modified_at


class DataObjects(ItiDataObjectsMixin):
    """Data objects: stat, read, small writes, copy/rename/remove, touch/truncate, checksums, ACLs.

    The sync twin also has IT4I's ``parallel_write``, ``open_async_writer``, ``parallel_read`` and
    ``open_async_reader`` (see :mod:`irods_provider.client._compat`).

    Example:

    ```python
    from irods_provider.client import IrodsSession, BasicAuth

    base_url = "https://irods.example.org/irods-http-api/0.7.0"
    with IrodsSession(base_url, auth=BasicAuth("alice", "secret")) as session:
        session.data_objects.write("/tempZone/home/alice/a.txt", b"hello")
        data = session.data_objects.read("/tempZone/home/alice/a.txt")
        checksum = session.data_objects.calculate_checksum("/tempZone/home/alice/a.txt")
    ```
    """

    def __init__(self, session: IrodsSession) -> None:
        self._s = session

    def exists(self, path: str, *, ticket: str | None = None) -> bool:
        """True if ``path`` is a data object visible to this user, readable or not (one another client is
        still writing exists: the server's stat answers SYS_NO_GOOD_REPLICA for it). A path the server's
        stat may miss (``+``, ``'``: :func:`~irods_provider.client._paths.needs_catalog`) is asked of the
        catalog."""
        if needs_catalog(path) and ticket is None:
            return self._s.metadata.is_kind(path, EntryKind.DATA_OBJECT)
        try:
            self._s.execute(ops.do_stat(path, ticket=ticket))
        except (IrodsNotADataObjectError, IrodsNotFoundError):
            return False
        except IrodsResponseError as exc:
            if not is_no_good_replica(exc):
                raise
        return True

    def stat(self, path: str, *, ticket: str | None = None) -> DataObjectStat:
        """Size, checksum, mtime and ACL of the newest good replica (IrodsNotADataObjectError if none).

        An object another client is still writing has no good replica (the server answers
        SYS_NO_GOOD_REPLICA): that raises IrodsLockedError, told apart from an object whose replicas are all
        stale by one catalog query, made only then. A path holding ``'`` that an HTTP API built with iRODS
        4.3 cannot find (its stat answers SYS_NO_GOOD_REPLICA for a fine object: ``needs_catalog``) is
        answered from the catalog when that query finds a good replica.
        """
        try:
            return self._s.execute(ops.do_stat(path, ticket=ticket))
        except IrodsResponseError as exc:
            if ticket is not None or not is_no_good_replica(exc):
                raise
            try:
                replicas = self.replicas(path)
            except IrodsError:
                raise exc from None
            if needs_catalog(path) and any(r.good for r in replicas):
                return DataObjectStat(path, *_newest_good(replicas), tuple(self.permissions(path)))
            locked = writing_error(path, replicas, cause=exc)
            if locked is None:
                raise
            raise locked from exc

    def read(
        self,
        path: str,
        *,
        offset: int = 0,
        count: int | None = None,
        resource: str | None = None,
        replica_number: int | None = None,
        ticket: str | None = None,
        timeout: TimeoutTypes | UseDefault = _DEFAULT,
        retry: RetryPolicy | bool | None = None,
    ) -> bytes:
        """Read ``count`` bytes from ``offset`` (to the end when None) into memory.

        ``retry`` overrides the session's retry policy for this call (``False``: one attempt).
        """
        if offset < 0 or (count is not None and count < 0):
            raise IrodsUsageError("offset and count must be >= 0", operation="data_objects.read", path=path)
        op = ops.do_read(
            path, offset=offset, count=count, resource=resource, replica_number=replica_number, ticket=ticket
        )
        try:
            return self._s.execute(op, timeout=timeout, retry=retry)
        except IrodsBadRequestError as exc:
            if ticket is None or not lost_ticket(exc, ticket=ticket, count=count):
                raise
        pieces = ticket_pieces(
            self._s,
            path,
            offset=offset,
            count=count,
            ticket=ticket,
            resource=resource,
            replica_number=replica_number,
            timeout=timeout,
            retry=retry,
        )
        return b"".join([piece for piece in pieces])

    def read_into(
        self,
        path: str,
        buffer: bytearray | memoryview,
        *,
        offset: int = 0,
        resource: str | None = None,
        replica_number: int | None = None,
        ticket: str | None = None,
        timeout: TimeoutTypes | UseDefault = _DEFAULT,
        retry: RetryPolicy | bool | None = None,
    ) -> int:
        """Read up to ``len(buffer)`` bytes from ``offset`` into ``buffer``; the number of bytes read.

        Each network piece is copied in as it arrives: no ``bytes`` of the whole range is built, so a caller
        that reuses its buffers keeps the heap flat over any number of reads. A reply longer than asked is an
        :class:`IrodsProtocolError`.
        """
        view = memoryview(buffer).cast("B")
        if offset < 0:
            raise IrodsUsageError("offset must be >= 0", operation="data_objects.read", path=path)
        if not view:
            return 0
        count = len(view)
        op = ops.do_read(
            path, offset=offset, count=count, resource=resource, replica_number=replica_number, ticket=ticket
        )
        try:
            return _fill(view, self._s.stream(op, chunk_size=None, timeout=timeout, retry=retry), path)
        except IrodsBadRequestError as exc:
            if ticket is None or not lost_ticket(exc, ticket=ticket, count=count):
                raise
        pieces = ticket_pieces(
            self._s,
            path,
            offset=offset,
            count=count,
            ticket=ticket,
            resource=resource,
            replica_number=replica_number,
            timeout=timeout,
            retry=retry,
        )
        return _fill(view, pieces, path)

    def iter_read(
        self,
        path: str,
        *,
        offset: int = 0,
        count: int | None = None,
        chunk_size: int = 1024 * 1024,
        resource: str | None = None,
        replica_number: int | None = None,
        ticket: str | None = None,
        timeout: TimeoutTypes | UseDefault = _DEFAULT,
        retry: RetryPolicy | bool | None = None,
    ) -> Iterator[bytes]:
        """Stream a read in chunks of at most ``chunk_size`` bytes without holding it all in memory."""
        if offset < 0 or (count is not None and count < 0) or chunk_size <= 0:
            raise IrodsUsageError(
                "invalid offset, count or chunk_size", operation="data_objects.read", path=path
            )
        op = ops.do_read(
            path, offset=offset, count=count, resource=resource, replica_number=replica_number, ticket=ticket
        )
        yielded = False
        try:
            for chunk in self._s.stream(op, chunk_size=chunk_size, timeout=timeout, retry=retry):
                yielded = True
                yield chunk
            return
        except IrodsBadRequestError as exc:
            if yielded or ticket is None or not lost_ticket(exc, ticket=ticket, count=count):
                raise
        pieces = ticket_pieces(
            self._s,
            path,
            offset=offset,
            count=count,
            ticket=ticket,
            resource=resource,
            replica_number=replica_number,
            timeout=timeout,
            retry=retry,
        )
        for piece in pieces:
            for start in range(0, len(piece), chunk_size):
                yield piece[start : start + chunk_size]

    def write(
        self,
        path: str | None,
        data: bytes,
        *,
        offset: int = 0,
        truncate: bool = True,
        append: bool = False,
        resource: str | None = None,
        replica_number: int | None = None,
        parallel_write_handle: str | None = None,
        stream_index: int | None = None,
        ticket: str | None = None,
        timeout: TimeoutTypes | UseDefault = _DEFAULT,
        retry: RetryPolicy | bool | None = None,
        hold: Callable[[], None] | None = None,
    ) -> None:
        """Write ``data`` in one request (at most the server's body limit; bigger → the transfer engine).

        Default: create or truncate then write at ``offset``. ``truncate=False`` writes into an
        existing object; ``append`` appends (never retried). With ``parallel_write_handle`` the
        path is ignored and ``stream_index``/``offset`` select where the bytes go. ``retry``
        overrides the session's retry policy for this call (``False``: one attempt). ``hold`` (sync
        session only) sends the bytes as a form whose last bytes wait until ``hold()`` returns: the server
        writes nothing before it has the whole form, so a stream's next write can cross the link while
        its previous one is still being answered.
        """
        limits = self._s.get_limits()
        limit = limits.max_write_payload_bytes
        if len(data) > limit:
            framing = "" if limit == limits.max_request_body_bytes else " less multipart framing"
            raise IrodsUsageError(
                f"{len(data)} bytes exceed the server's request body limit of "
                f"{limits.max_request_body_bytes}{framing} ({limit} data bytes); "
                "use the transfer engine or offset writes",
                operation="data_objects.write",
                path=path,
            )
        op = ops.do_write(
            path,
            data,
            offset=offset,
            truncate=truncate,
            append=append,
            resource=resource,
            replica_number=replica_number,
            parallel_write_handle=parallel_write_handle,
            stream_index=stream_index,
            ticket=ticket,
            header_form=(self._s.get_api()).header_form_writes,
            hold=hold,
        )
        try:
            self._s.execute(op, timeout=timeout, retry=retry)
        except IrodsResponseError as exc:
            if path is None or parallel_write_handle is not None or exc.irods_code != _INVALID_HANDLE:
                raise
            cause = self._write_refusal_cause(path, exc)
            if cause is None:
                raise
            raise cause from exc

    def _write_refusal_cause(self, path: str, exc: IrodsResponseError) -> IrodsResponseError | None:
        """Name why opening ``path`` for writing failed, which every server release reports only as
        INVALID_HANDLE (the library's error is dropped: data_objects main.cpp:1197-1212 at 0.7.0): another
        client is writing it (IrodsLockedError naming its replica statuses), the resources of all its
        replicas are marked down (IrodsReplicaUnavailableError naming them), the path is a collection, or
        its collection is missing. None when none of these (or unknown)."""
        parent = parent_path(path)
        try:
            replicas = replicas_or_none(self._s, path)
            if replicas and (locked := writing_error(path, replicas, cause=exc)) is not None:
                return locked
            if replicas:
                return self._all_down(path, replicas, exc)
            if replicas is not None:
                return None
            if not self._s.collections.exists(parent):
                kind: type[IrodsResponseError] = IrodsNotFoundError
                missing = f"collection {parent} does not exist (or is hidden from this user)"
                message = f"cannot write {path}: {missing}"
            elif self._s.collections.exists(path):
                kind, message = IrodsNotADataObjectError, f"cannot write {path}: it is a collection"
            else:
                return None
        except IrodsError:
            return None
        return exc.retold(message, kind=kind, path=path)

    def _all_down(
        self, path: str, replicas: Sequence[Replica], exc: IrodsResponseError
    ) -> IrodsResponseError | None:
        """IrodsReplicaUnavailableError when the resource of every replica is marked down (iRODS refuses the
        open: no resource votes for it), else None."""
        names = sorted({name for r in replicas for name in r.hierarchy.split(";")})
        down = self._s.down_resources(names)
        if not all(set(r.hierarchy.split(";")) & down for r in replicas):
            return None
        return unavailable_error(exc, [(path, replicas)], down)

    def parallel_write_init(
        self,
        path: str,
        *,
        stream_count: int,
        truncate: bool = True,
        append: bool = False,
        resource: str | None = None,
        replica_number: int | None = None,
        ticket: str | None = None,
        retry: RetryPolicy | bool | None = None,
    ) -> str:
        """Open a parallel-write handle with ``stream_count`` streams; always shut it down in ``finally``.

        On 0.4.0/0.5.0, where an init that cannot open its object crashes the server (#402, see
        ``ApiVersion.init_open_failure_crashes``), the object is first opened the same way by an empty
        ``write``: its refusal is raised (named as :meth:`write` names it) and no init is sent.
        """
        op = ops.do_parallel_write_init(
            path,
            stream_count=stream_count,
            truncate=truncate,
            append=append,
            resource=resource,
            replica_number=replica_number,
            ticket=ticket,
        )
        api = self._s.get_api()
        if api.init_open_failure_crashes:
            api.check(op)  # a refused init sends nothing, not even the probe
            self.write(path, b"", truncate=truncate, append=append, ticket=ticket, retry=retry)
        return self._s.execute(op, retry=retry)

    def replicas(self, path: str) -> builtins.list[Replica]:
        """Every replica of a data object, by number (IrodsNotADataObjectError when there is none)."""
        validate_path(path, operation="data_objects.replicas")
        coll, recheck_coll = match_condition("COLL_NAME", parent_path(path))
        name, recheck_name = match_condition("DATA_NAME", basename(path))
        query = f"select {_REPLICA_COLUMNS} where {coll} and {name}"
        zone = self._s.query.zone_for(path)  # a federated zone's catalog is asked only when named
        rows = [
            row
            for row in self._s.query.genquery(query, zone=zone)
            if not (recheck_coll or recheck_name) or _join(row[0], row[1]) == path
        ]
        if not rows:
            raise IrodsNotADataObjectError(
                "no such data object (or not visible)", operation="data_objects.replicas", path=path
            )
        return sorted((_replica(r[2:]) for r in rows), key=lambda r: r.number)

    def identify(self, path: str) -> tuple[Entry, str] | None:
        """The listing entry of the data object ``path`` (as :meth:`Collections.lookup` gives it: its
        newest good replica's size, mtime and checksum, every replica) and its catalog id (``DATA_ID``:
        another object renamed onto the path brings its own, an in-place write keeps it), from one GenQuery;
        None when there is no such (visible) data object."""
        validate_path(path, operation="data_objects.identify")
        parent, name = parent_path(path), basename(path)
        coll, _ = match_condition("COLL_NAME", parent)
        data, _ = match_condition("DATA_NAME", name)
        query = f"select {_DATA_COLUMNS}, DATA_ID where {coll} and {data}"
        zone = self._s.query.zone_for(path)
        rows = [r for r in self._s.query.genquery(query, zone=zone) if (r[0], r[1]) == (parent, name)]
        if not rows:
            return None
        return _data_entry(rows), str(rows[0][-1])

    def permissions(self, path: str) -> builtins.list[Permission]:
        """The access-control list of the data object ``path``, from the catalog: unlike ``stat``, it answers
        for an object without a good replica too (its write failed: its grants are still worth keeping).

        The query iRODS's own ``ils -A`` asks (irods 4.3.4 lib/core/src/miscUtil.cpp ``queryDataObjAcl``),
        by name; IrodsNotADataObjectError when there is no such (visible) object."""
        validate_path(path, operation="data_objects.permissions")
        coll, recheck_coll = match_condition("COLL_NAME", parent_path(path))
        name, recheck_name = match_condition("DATA_NAME", basename(path))
        query = (
            "select COLL_NAME, DATA_NAME, USER_NAME, USER_ZONE, USER_TYPE, DATA_ACCESS_NAME "
            f"where {coll} and {name} and DATA_TOKEN_NAMESPACE = 'access_type'"
        )
        found: dict[tuple[str, str], Permission] = {}
        for row in self._s.query.genquery(query, zone=self._s.query.zone_for(path)):
            if (recheck_coll or recheck_name) and _join(row[0], row[1]) != path:
                continue
            found.setdefault((row[2], row[3]), Permission(name=row[2], zone=row[3], type=row[4], perm=row[5]))
        if not found:
            raise IrodsNotADataObjectError(
                "no such data object (or not visible)", operation="data_objects.permissions", path=path
            )
        return sorted(found.values(), key=lambda p: (p.name, p.zone))

    def replicate(
        self,
        path: str,
        dst_resource: str,
        *,
        src_resource: str | None = None,
        src_replica_number: int | None = None,
        admin: bool = False,
        timeout: TimeoutTypes | UseDefault = _DEFAULT,
    ) -> None:
        """Make a good replica on ``dst_resource`` (a root resource) from the newest good or a chosen one.

        A lost reply (the server's whole-request deadline cuts a large object's replication off while it goes
        on) is read back from the catalog, waited for within ``session.outcome_wait`` and sent again only when
        there is no trace of it; IrodsOutcomeUnknownError when it never shows.
        Unknown resources raise IrodsNotFoundError (SYS_RESC_DOES_NOT_EXIST); a child resource of a
        hierarchy raises IrodsResponseError (DIRECT_CHILD_ACCESS).
        """
        op = ops.do_replicate(
            path, dst_resource, src_resource=src_resource, src_replica_number=src_replica_number, admin=admin
        )
        try:
            self._s.execute(op, timeout=timeout)
        except IrodsError as exc:
            if not reply_lost(exc):
                raise
            replicate_outcome(
                self._s, path, dst_resource, exc, resend=lambda: self._s.execute(op, timeout=timeout)
            )

    def trim(
        self, path: str, replica_number: int, *, catalog_only: bool = False, admin: bool = False
    ) -> None:
        """Remove one replica (``catalog_only``: unregister it); iRODS refuses to trim the last good one.

        An object with a single replica is left alone and the call succeeds: the HTTP API asks iRODS to keep
        at least one replica, so there is nothing to trim (no error). Check ``replicas()`` when it matters.
        A lost reply (the server's deadline cut off a slow unlink) is read back: done once the replica is
        gone, waited for within ``session.outcome_wait`` while it is listed; IrodsOutcomeUnknownError then.
        """
        op = ops.do_trim(path, replica_number, catalog_only=catalog_only, admin=admin)
        try:
            self._s.execute(op)
        except IrodsError as exc:
            if not reply_lost(exc):
                raise
            trim_outcome(self._s, path, replica_number, exc, resend=lambda: self._s.execute(op))

    def modify_replica(
        self,
        path: str,
        changes: dict[str, str | int],
        *,
        replica_number: int | None = None,
        resource_hierarchy: str | None = None,
    ) -> None:
        """Change catalog properties of one replica (rodsadmin only), e.g. ``{"replica_status": 1}``.

        ``expiry_time`` goes under the server release's name (``new-data-expiry`` before 0.7.0).
        """
        op = ops.do_modify_replica(
            path,
            changes,
            replica_number=replica_number,
            resource_hierarchy=resource_hierarchy,
            expiry_param=(self._s.get_api()).modify_replica_expiry_param,
        )
        self._s.execute(op)

    def register(
        self,
        path: str,
        physical_path: str,
        resource: str,
        *,
        as_additional_replica: bool = False,
        data_size: int | None = None,
        checksum: bool = False,
        force: bool = False,
    ) -> None:
        """Register a file that already exists on ``resource``'s host as a data object or extra replica."""
        op = ops.do_register(
            path,
            physical_path,
            resource,
            as_additional_replica=as_additional_replica,
            data_size=data_size,
            checksum=checksum,
            force=force,
        )
        self._s.execute(op)

    def parallel_write_shutdown(self, handle: str) -> None:
        """Close a parallel-write handle: the object's size, status and mtime are committed."""
        self._s.execute(ops.do_parallel_write_shutdown(handle))

    def remove(
        self, path: str, *, no_trash: bool = False, catalog_only: bool = False, admin: bool = False
    ) -> None:
        """Remove a data object (to the trash unless ``no_trash``)."""
        self._s.execute(ops.do_remove(path, catalog_only=catalog_only, no_trash=no_trash, admin=admin))

    def rename(self, old_path: str, new_path: str) -> None:
        """Rename or move a data object."""
        self._s.execute(ops.do_rename(old_path, new_path))

    def copy(
        self,
        src: str,
        dst: str,
        *,
        overwrite: bool = False,
        src_resource: str | None = None,
        dst_resource: str | None = None,
        timeout: TimeoutTypes | UseDefault = _DEFAULT,
        replicas_before: Sequence[Replica] | None = None,
    ) -> None:
        """Server-side copy (IrodsAlreadyExistsError if ``dst`` exists and not ``overwrite``).

        Overwriting with ``dst_resource`` needs a replica of ``dst`` in that resource already: a copy never
        adds a replica (iRODS answers HIERARCHY_ERROR, raised here as an IrodsReplicaUnavailableError that
        says so, not as a lock). A lost reply (the server's whole-request deadline cuts a large object's
        copy off while it goes on) is read back: ``dst`` changed into a good replica of ``src``'s size is
        done, intermediate is waited for within ``session.outcome_wait``, untouched is sent once more;
        IrodsOutcomeUnknownError when it never shows. So ``dst``'s replicas are asked for first (one query),
        unless the caller passes them as ``replicas_before`` (empty: ``dst`` does not exist).
        """
        op = ops.do_copy(src, dst, overwrite=overwrite, src_resource=src_resource, dst_resource=dst_resource)
        # What a copy whose reply is lost must have changed (an empty ``replicas_before``: dst is absent).
        known, before = (True, replicas_before or None)
        if replicas_before is None:
            known, before = snapshot(self._s, dst)
        try:
            self._s.execute(op, timeout=timeout)
        except IrodsError as exc:
            if reply_lost(exc) and known:
                resend = lambda: self._s.execute(op, timeout=timeout)  # noqa: E731
                copy_outcome(self._s, src, dst, exc, before=before, overwrite=overwrite, resend=resend)
                return
            if not isinstance(exc, IrodsResponseError):
                raise
            self._copy_refused(dst, exc, overwrite=overwrite, dst_resource=dst_resource)

    def _copy_refused(
        self, dst: str, exc: IrodsResponseError, *, overwrite: bool, dst_resource: str | None
    ) -> None:
        """Raise ``exc``, or for an overwrite on a resource without a replica of ``dst`` (HIERARCHY_ERROR,
        which otherwise means a lock) an error that says a copy never adds a replica."""
        if not (overwrite and dst_resource and exc.irods_code == _HIERARCHY_ERROR):
            raise exc
        if any(r.root == dst_resource for r in self.replicas(dst)):
            raise exc  # a replica is there: a real lock
        raise exc.retold(
            f"cannot overwrite {dst} on {dst_resource}: it has no replica there and a copy never adds "
            "one (replicate it there first, or copy without dst_resource)",
            kind=IrodsReplicaUnavailableError,
            path=dst,
        ) from exc

    def touch(
        self,
        path: str,
        *,
        no_create: bool = False,
        replica_number: int | None = None,
        leaf_resource: str | None = None,
        seconds_since_epoch: int | None = None,
        reference: str | None = None,
    ) -> None:
        """Update a data object's mtime, creating an empty one unless ``no_create``.

        iRODS finds the replica to touch with a GenQuery string holding the path unescaped, which it misreads
        for some names (a quote on 4.3: :func:`~irods_provider.client._paths.pasted_query_may_miss`); when the
        catalog lists a good replica all the same, the error says so.
        """
        op = ops.do_touch(
            path,
            no_create=no_create,
            replica_number=replica_number,
            leaf_resource=leaf_resource,
            seconds_since_epoch=seconds_since_epoch,
            reference=reference,
        )
        try:
            self._s.execute(op)
        except IrodsResponseError as exc:
            missed = exc.irods_code in ops.TOUCH_LOOKUP_MISSED and pasted_query_may_miss(path)
            if not missed or leaf_resource is not None:
                raise
            try:
                good = [r.number for r in self.replicas(path) if r.good]
            except IrodsError:
                raise exc from None
            if not good or (replica_number is not None and replica_number not in good):
                raise
            raise ops.touch_lookup_missed(exc, path) from exc

    def truncate(
        self,
        path: str,
        size: int,
        *,
        resource: str | None = None,
        replica_number: int | None = None,
        admin: bool = False,
    ) -> None:
        """Grow (with zeros) or shrink a data object to ``size`` bytes."""
        if size < 0:
            raise IrodsUsageError("size must be >= 0", operation="data_objects.truncate", path=path)
        op = ops.do_truncate(path, size, resource=resource, replica_number=replica_number, admin=admin)
        self._s.execute(op)

    def calculate_checksum(
        self,
        path: str,
        *,
        force: bool = False,
        all_replicas: bool = False,
        resource: str | None = None,
        replica_number: int | None = None,
        admin: bool = False,
        timeout: TimeoutTypes | UseDefault = _DEFAULT,
        replicas_before: Sequence[Replica] | None = None,
    ) -> str:
        """Compute (or, without ``force``, return the stored) checksum: ``sha2:<base64 sha256>``.

        ``all_replicas`` only where the good replicas are known to agree: when they differ, iRODS returns
        success with no checksum, which the HTTP API answers with HTTP 500 (a libstdc++ build) or by
        crashing (the libc++ build made against iRODS 4.3). To check each replica, pass ``replica_number``.

        A lost reply is never resent (the server hashes on; a resend would start over, and a forced one on a
        large object would never finish within the server's 30 s request deadline): the replica's checksum is
        read from the catalog once registered, within ``session.outcome_wait``, the replica's size, mtime and
        status unchanged (else IrodsSourceChangedError). ``force`` asks the catalog for the replicas first
        (one query; ``replicas_before``, the caller's listing taken just before, saves it): a checksum that
        appeared or changed is the answer; the same one as before is proven by reading the replica's bytes
        back and hashing them. IrodsOutcomeUnknownError when none of that shows.
        """
        op = ops.do_calculate_checksum(
            path,
            force=force,
            all_replicas=all_replicas,
            resource=resource,
            replica_number=replica_number,
            admin=admin,
        )
        # What a forced checksum whose reply is lost must have changed (one query); all=1 is resent as before.
        before = replicas_before
        if before is None and force and not all_replicas:
            before = (snapshot(self._s, path))[1]
        try:
            return self._s.execute(op, timeout=timeout)
        except IrodsError as exc:
            if all_replicas or not reply_lost(exc):
                raise
            return checksum_outcome(
                self._s,
                path,
                exc,
                force=force,
                before=before,
                resource=resource,
                replica_number=replica_number,
                resend=lambda: self._s.execute(op, timeout=timeout),
            )

    def verify_checksum(
        self,
        path: str,
        *,
        resource: str | None = None,
        replica_number: int | None = None,
        compute_checksums: bool = True,
        admin: bool = False,
        timeout: TimeoutTypes | UseDefault = _DEFAULT,
    ) -> ChecksumReport:
        """Check replicas against their checksums; findings are returned, not raised.

        The server hashes every checked replica within one request, and its whole-request deadline (30 s by
        default) cuts a large object's verification off, leaving nothing in the catalog to read back: a reply
        lost after at least that deadline (``session.outcome_wait.server_deadline``) raises
        IrodsServerDeadlineError (naming the bytes and the time) instead of hashing them all again. The
        reply is waited for that long (a read timeout below the deadline is raised to it). A reply lost
        sooner is sent again only when the server's handler is known to have ended (a connection closed or
        reset, a gateway's 502); a timeout or a gateway's 504 leaves the server hashing, and a resend would
        hash the object twice: IrodsOutcomeUnknownError.
        """
        op = ops.do_verify_checksum(
            path,
            resource=resource,
            replica_number=replica_number,
            compute_checksums=compute_checksums,
            admin=admin,
        )
        timeout = verification_timeout(self._s, timeout)
        for attempt in range(1, self._s.retry.max_attempts + 1):
            started = time.monotonic()
            try:
                return self._s.execute(op, timeout=timeout)
            except IrodsError as exc:
                if not reply_lost(exc) or attempt == self._s.retry.max_attempts:
                    raise
                elapsed = time.monotonic() - started
                cut = verification_lost(
                    self._s, path, exc, elapsed=elapsed, resource=resource, replica_number=replica_number
                )
                if cut is not None:
                    raise cut from exc
                if not handler_ended(exc):
                    raise verification_unfinished(path, exc, elapsed=elapsed) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def set_permission(self, path: str, entity: str, permission: str, *, admin: bool = False) -> None:
        """Grant ``permission`` on a data object to a user or group (``null`` revokes)."""
        self._s.execute(ops.do_set_permission(path, entity, permission, admin=admin))

    def modify_permissions(
        self, path: str, operations: Iterable[PermissionOperation], *, admin: bool = False
    ) -> None:
        """Apply several ACL changes atomically.

        Local zone only: on a federated zone's path iRODS would apply them to the local catalog (see
        :func:`~irods_provider.client._ops_fs.remote_atomic_refusal`), an IrodsUsageError here; grant there
        with :meth:`set_permission`, which iRODS routes to the path's zone.
        """
        execute_atomic(
            self._s, ops.do_modify_permissions(path, operations, admin=admin), path, collection=False
        )


def _fill(view: memoryview, pieces: Iterator[bytes], path: str) -> int:
    """Copy ``pieces`` into ``view`` as they arrive; the bytes copied (more than fits: a protocol error)."""
    got = 0
    for piece in pieces:
        end = got + len(piece)
        if end > len(view):
            raise IrodsProtocolError(
                f"read returned more than the {len(view)} bytes asked for",
                operation="data_objects.read",
                path=path,
            )
        view[got:end] = piece
        got = end
    return got
