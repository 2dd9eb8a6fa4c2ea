"""Sync API groups for metadata, queries and tickets (GENERATED from ``_async``: do not edit)."""

from __future__ import annotations

import builtins
import datetime
import math
from collections.abc import Iterator, Iterable, Sequence
from typing import TYPE_CHECKING

from irods_provider.client import _ops_misc
from irods_provider.client._bounded import QueryBound
from irods_provider.client._genquery import (
    GENQUERY2_DEFAULT_ROWS,
    check_pageable_genquery2,
    match_condition,
)
from irods_provider.client._locks import GOOD_REPLICA_CONDITION
from irods_provider.client._models import AVU, EntryKind, Kinds, MetadataOperation, TicketInfo, TicketType
from irods_provider.client._operation import Operation
from irods_provider.client._ops_fs import atomic_lookup_missed, modify_metadata, remote_atomic_refusal
from irods_provider.client._paths import basename, parent_path, path_zone, validate_avu, validate_path
from irods_provider.client._readahead import FirstSeen, read_pages
from irods_provider.client._retry import handler_ended, is_unsent
from irods_provider.exceptions import (
    IrodsError,
    IrodsNotFoundError,
    IrodsProtocolError,
    IrodsResponseError,
    IrodsTicketOutcomeUnknownError,
    IrodsUsageError,
)

if TYPE_CHECKING:
    from irods_provider.client._sync._session import IrodsSession

__all__ = ["Metadata", "Query", "Tickets"]

_Rows = builtins.list[builtins.list[str]]
_COLL_META = "META_COLL_ATTR_NAME, META_COLL_ATTR_VALUE, META_COLL_ATTR_UNITS"
_DATA_META = "META_DATA_ATTR_NAME, META_DATA_ATTR_VALUE, META_DATA_ATTR_UNITS"
_ENDPOINT = {EntryKind.COLLECTION: "collections", EntryKind.DATA_OBJECT: "data-objects"}
_TICKET_COLUMNS = (
    "TICKET_ID, TICKET_STRING, TICKET_TYPE, TICKET_OWNER_NAME, TICKET_OWNER_ZONE, TICKET_CREATE_TIME, "
    "TICKET_EXPIRY, TICKET_USES_LIMIT, TICKET_WRITE_FILE_LIMIT, TICKET_WRITE_BYTE_LIMIT"
)
# Selecting a restriction column joins it (general_query_setup.cpp): a ticket without that restriction has
# no row then, so each list is asked for on its own.
_TICKET_RESTRICTIONS = (
    ("users", "TICKET_ALLOWED_USER_NAME"),
    ("groups", "TICKET_ALLOWED_GROUP_NAME"),
    ("hosts", "TICKET_ALLOWED_HOST"),
)


def _ticket_targets(path: str) -> tuple[tuple[tuple[str, str], ...], ...]:
    """The catalog conditions naming ``path`` as a data object's ticket, then as a collection's."""
    return (
        (("TICKET_DATA_COLL_NAME", parent_path(path)), ("TICKET_DATA_NAME", basename(path))),
        (("TICKET_COLL_NAME", path),),
    )


def _ticket_info(row: builtins.list[str], path: str, lists: dict[str, set[str]]) -> TicketInfo:
    """One ``_TICKET_COLUMNS`` row (after its TICKET_ID) and its restriction lists as a TicketInfo."""
    _, string, kind, owner, owner_zone, created, expiry, uses, files, size = row
    if kind not in ("read", "write"):  # adm::ticket::ticket_type (tickets/src/main.cpp:208-220 at 0.7.0)
        raise IrodsProtocolError(
            "a ticket the catalog lists has a type that is neither read nor write",
            operation="tickets.on_path",
            path=path,
        )
    return TicketInfo(
        string=string,
        type=TicketType(kind),
        path=path,
        owner=owner,
        owner_zone=owner_zone,
        created_at=int(created or 0),
        expires_at=int(expiry) if expiry.strip("0") else None,
        use_count=int(uses or 0),
        write_data_object_count=int(files or 0),
        write_byte_count=int(size or 0),
        users=frozenset(lists.get("users", ())),
        groups=frozenset(lists.get("groups", ())),
        hosts=frozenset(lists.get("hosts", ())),
    )


class Query:
    """GenQuery1 (lazy, paged through every row) and GenQuery2 passthrough.

    Example:

    ```python
    from irods_provider.client import IrodsSession, BasicAuth

    base_url = "https://irods.example.org/irods-http-api/0.7.0"
    with IrodsSession(base_url, auth=BasicAuth("alice", "secret")) as session:
        query = "select COLL_NAME, DATA_NAME where DATA_NAME like '%.csv'"
        for coll_name, data_name in session.query.genquery(query, max_rows=1000):
            print(f"{coll_name}/{data_name}")
    ```
    """

    def __init__(self, session: IrodsSession) -> None:
        self._s = session

    def genquery(
        self,
        query: str,
        *,
        case_sensitive: bool = True,
        distinct: bool = True,
        zone: str | None = None,
        page_size: int | None = None,
        max_rows: int | None = None,
        read_ahead: int = 1,
    ) -> Iterator[builtins.list[str]]:
        """Yield every row of a GenQuery1 query, fetching pages of ``page_size`` (≤ server maximum) lazily.

        Literals must be quoted with :func:`genquery_literal` (GenQuery1 has no bind parameters). Paging
        is bounded: more than ``max_rows`` rows (default: the session's ``reply_limits.query_rows``), a
        page longer than asked for or paging past ``reply_limits.query_seconds`` is an IrodsProtocolError.
        ``read_ahead`` pages are requested at once (listings of big collections over a WAN: the server caps
        rows per page, so round trips, not bytes, bound the rate); 1 fetches each page only when needed.

        GenQuery1 pages by offset and has no snapshot: when the catalog changes between page requests a
        row may shift into the next page or past it. With ``distinct`` (no row can legitimately repeat) a
        repeated row is dropped, never yielded twice (see ``FirstSeen`` for the memory this takes); rows
        shifted past a page boundary are missed. A result over data that changes while it is read may thus
        be incomplete.
        """
        maximum = (self._s.get_limits()).max_rows_per_query
        count = maximum if page_size is None else max(1, min(page_size, maximum))
        bound = QueryBound(self._s.reply_limits, max_rows)

        def fetch(offset: int) -> tuple[Operation[_Rows], _Rows]:
            op = _ops_misc.genquery1_page(
                query, offset=offset, count=count, case_sensitive=case_sensitive, distinct=distinct, zone=zone
            )
            return op, self._s.execute(op)

        seen = FirstSeen() if distinct else None
        for op, rows in read_pages(fetch, count, read_ahead):
            bound.page(op, len(rows), count)
            for row in rows:
                if seen is None or seen.first(row):
                    yield row

    def zone_for(self, path: str) -> str | None:
        """The ``zone`` hint a GenQuery about ``path`` needs: its zone when that is not the local one.

        Without the hint the server asks only the local catalog, so a federated zone's entries would
        silently be missing. The local zone is the ``irods_zone`` of ``/info`` (cached per session).
        """
        zone = path_zone(path)
        if zone is None:
            return None
        local = (self._s.get_limits()).irods_zone
        return None if zone == local else zone

    def genquery2(self, query: str, *, zone: str | None = None) -> builtins.list[builtins.list[str]]:
        """Run a GenQuery2 query in one request and return its rows: without ``LIMIT`` the server returns at
        most 256 (its default row count), silently; :meth:`iter_genquery2` pages through all of them."""
        rows: builtins.list[builtins.list[str]] = self._s.execute(_ops_misc.genquery2(query, zone=zone))
        return rows

    def iter_genquery2(
        self,
        query: str,
        *,
        page_size: int = GENQUERY2_DEFAULT_ROWS,
        zone: str | None = None,
        max_rows: int | None = None,
    ) -> Iterator[builtins.list[str]]:
        """Yield every row of a GenQuery2 query, paged with ``LIMIT page_size OFFSET n`` added to it.

        The query needs ``ORDER BY`` (pages of an unordered query may overlap or miss rows: the database
        orders each page afresh) and must not have its own ``LIMIT``/``OFFSET``/``FETCH``. Bounded like
        :meth:`genquery`: more than ``max_rows`` rows (default ``reply_limits.query_rows``) or paging past
        ``reply_limits.query_seconds`` is an IrodsProtocolError.
        """
        check_pageable_genquery2(query, page_size)
        bound = QueryBound(self._s.reply_limits, max_rows)
        offset = 0
        while True:
            op = _ops_misc.genquery2(f"{query.rstrip()} LIMIT {page_size} OFFSET {offset}", zone=zone)
            rows: builtins.list[builtins.list[str]] = self._s.execute(op)
            bound.page(op, len(rows), page_size)
            for row in rows:
                yield row
            if len(rows) < page_size:
                return
            offset += len(rows)

    def genquery2_sql(self, query: str, *, zone: str | None = None) -> str:
        """The SQL the server would run for a GenQuery2 query."""
        sql: str = self._s.execute(_ops_misc.genquery2(query, zone=zone, sql_only=True))
        return sql


class Metadata:
    """AVUs of collections and data objects: list, add/remove/set in one atomic call, find by AVU.

    Example:

    ```python
    from irods_provider.client import AVU, IrodsSession, BasicAuth

    base_url = "https://irods.example.org/irods-http-api/0.7.0"
    with IrodsSession(base_url, auth=BasicAuth("alice", "secret")) as session:
        path = "/tempZone/home/alice/runs/r1"
        session.metadata.add(path, AVU("project", "genomics"), AVU("size", "42", "GiB"))
        avus = session.metadata.list(path, attribute="project")
    ```
    """

    def __init__(self, session: IrodsSession) -> None:
        self._s = session

    def kind_of(self, path: str) -> EntryKind:
        """Whether ``path`` is a collection or a data object (IrodsNotFoundError if neither)."""
        validate_path(path, operation="metadata.kind_of")
        parent, name = parent_path(path), basename(path)
        coll_cond, _ = match_condition("COLL_NAME", parent)
        data_cond, _ = match_condition("DATA_NAME", name)
        zone = self._s.query.zone_for(path)
        for row in self._s.query.genquery(
            f"select COLL_NAME, DATA_NAME where {coll_cond} and {data_cond}", zone=zone
        ):
            if row[0] == parent and row[1] == name:
                return EntryKind.DATA_OBJECT
        cond, _ = match_condition("COLL_NAME", path)
        for row in self._s.query.genquery(f"select COLL_NAME where {cond}", zone=zone):
            if row[0] == path:
                return EntryKind.COLLECTION
        raise IrodsNotFoundError("no collection or data object at this path", operation="metadata", path=path)

    def is_kind(self, path: str, kind: EntryKind) -> bool:
        """True if ``path`` is a visible entry of ``kind`` (a GenQuery test: works for paths with ``+``)."""
        try:
            return self.kind_of(path) is kind
        except IrodsNotFoundError:
            return False

    def list(
        self,
        path: str,
        *,
        kind: EntryKind | None = None,
        attribute: str | None = None,
        good_replica_only: bool = False,
    ) -> builtins.list[AVU]:
        """Every AVU of ``path`` (optionally only those of one attribute), paging through all rows.

        ``good_replica_only``: a data object without a good replica (another client still writing it, or
        its write failed) answers no AVUs, by the same query (``DATA_REPL_STATUS = '1'``).
        """
        kind = kind or self.kind_of(path)
        if kind is EntryKind.COLLECTION:
            cond, _ = match_condition("COLL_NAME", path)
            query = f"select {_COLL_META}, COLL_NAME where {cond}"
            expected: builtins.list[str] = [path]
        else:
            parent, name = parent_path(path), basename(path)
            coll_cond, _ = match_condition("COLL_NAME", parent)
            data_cond, _ = match_condition("DATA_NAME", name)
            query = f"select {_DATA_META}, COLL_NAME, DATA_NAME where {coll_cond} and {data_cond}"
            query += f" and {GOOD_REPLICA_CONDITION}" if good_replica_only else ""
            expected = [parent, name]
        avus: builtins.list[AVU] = []
        for row in self._s.query.genquery(query, zone=self._s.query.zone_for(path)):
            if row[3:] == expected and row[0] and (attribute is None or row[0] == attribute):
                avus.append(AVU(attribute=row[0], value=row[1], units=row[2] or ""))
        return avus

    def apply(
        self,
        path: str,
        operations: Sequence[MetadataOperation],
        *,
        kind: EntryKind | None = None,
        admin: bool = False,
    ) -> None:
        """Apply add/remove operations atomically in ONE ``modify_metadata`` call.

        Local zone only: on a federated zone's path iRODS would apply them to the local catalog (see
        :func:`~irods_provider.client._ops_fs.remote_atomic_refusal`), so that is an IrodsUsageError.
        """
        if not operations:
            return
        _check_operations(path, operations)
        refuse_remote_atomic(self._s, "metadata.apply", path)  # before asking the kind
        kind = kind or self.kind_of(path)
        op = modify_metadata(_ENDPOINT[kind], path, operations, admin=admin)
        execute_atomic(self._s, op, path, collection=kind is EntryKind.COLLECTION)

    def add(self, path: str, *avus: AVU, kind: EntryKind | None = None, admin: bool = False) -> None:
        """Attach AVUs (adding an existing AVU is a no-op)."""
        self.apply(path, [MetadataOperation("add", a) for a in avus], kind=kind, admin=admin)

    def remove(self, path: str, *avus: AVU, kind: EntryKind | None = None, admin: bool = False) -> None:
        """Detach AVUs (removing an absent AVU is a no-op)."""
        self.apply(path, [MetadataOperation("remove", a) for a in avus], kind=kind, admin=admin)

    def set(self, path: str, *avus: AVU, kind: EntryKind | None = None, admin: bool = False) -> None:
        """Make ``avus`` the only values of their attributes (stale removed, new added) atomically."""
        _check_operations(path, [MetadataOperation("add", a) for a in avus])
        kind = kind or self.kind_of(path)
        attributes = {a.attribute for a in avus}
        wanted = set(avus)
        current = [a for a in self.list(path, kind=kind) if a.attribute in attributes]
        operations = [MetadataOperation("remove", a) for a in current if a not in wanted]
        operations += [MetadataOperation("add", a) for a in avus if a not in current]
        self.apply(path, operations, kind=kind, admin=admin)

    def find(
        self,
        attribute: str,
        value: str | None = None,
        *,
        units: str | None = None,
        kinds: Kinds = Kinds.BOTH,
        zone: str | None = None,
        good_replica_only: bool = False,
    ) -> Iterator[tuple[str, EntryKind]]:
        """Yield ``(path, kind)`` of every collection and/or data object carrying the AVU.

        The local zone's catalog answers unless ``zone`` names another (federated) zone.
        ``good_replica_only`` leaves out the data objects without a good replica (another client still
        writing them, or their write failed), by the same query (``DATA_REPL_STATUS = '1'``).
        """
        for field, text in (("attribute", attribute), ("value", value), ("units", units)):
            if text is not None and "\x00" in text:
                raise IrodsUsageError(
                    f"invalid AVU query: its {field} contains a NUL character", operation="metadata.find"
                )
        if kinds is not Kinds.DATA_OBJECTS:
            for row in self._find("COLL", "COLL_NAME", attribute, value, units, zone=zone):
                yield row[0], EntryKind.COLLECTION
        if kinds is not Kinds.COLLECTIONS:
            good = f" and {GOOD_REPLICA_CONDITION}" if good_replica_only else ""
            for row in self._find(
                "DATA", "COLL_NAME, DATA_NAME", attribute, value, units, zone=zone, extra=good
            ):
                yield f"{row[0].rstrip('/')}/{row[1]}", EntryKind.DATA_OBJECT

    def _find(
        self,
        prefix: str,
        columns: str,
        attribute: str,
        value: str | None,
        units: str | None,
        *,
        zone: str | None,
        extra: str = "",
    ) -> Iterator[builtins.list[str]]:
        wanted = [(f"META_{prefix}_ATTR_NAME", attribute), (f"META_{prefix}_ATTR_VALUE", value)]
        wanted.append((f"META_{prefix}_ATTR_UNITS", units))
        checks = [(column, v) for column, v in wanted if v is not None]
        select = ", ".join(column for column, _ in checks)
        where = " and ".join(match_condition(column, v)[0] for column, v in checks) + extra
        width = len(columns.split(","))
        for row in self._s.query.genquery(f"select {columns}, {select} where {where}", zone=zone):
            if all(row[width + i] == v for i, (_, v) in enumerate(checks)):
                yield row[:width]


def _expiry_seconds(path: str, expires_in: float | datetime.timedelta | None) -> int | None:
    """Whole seconds of a ticket lifetime (rounded up), or None; what no integer can be is refused."""
    if expires_in is None:
        return None
    seconds = expires_in.total_seconds() if isinstance(expires_in, datetime.timedelta) else expires_in
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds):
        raise IrodsUsageError(
            f"a ticket's expires_in must be a finite number of seconds or a timedelta, got {expires_in!r}",
            operation="tickets.create",
            path=path,
        )
    return math.ceil(seconds)


def _check_operations(path: str, operations: Iterable[MetadataOperation]) -> None:
    """Refuse, before any request, operations the server cannot apply as given (see validate_avu)."""
    for op in operations:
        if op.operation not in ("add", "remove") or not op.avu.attribute or not op.avu.value:
            raise IrodsUsageError(
                f"invalid metadata operation {op!r}: add/remove with non-empty attribute and value",
                operation="metadata.apply",
                path=path,
            )
        validate_avu(op.avu, operation="metadata.apply", path=path)


class Tickets:
    """Tickets: create with limits, remove; pass ``ticket=`` to reads, stats and lists to use one.

    Example:

    ```python
    from irods_provider.client import IrodsSession, BasicAuth

    base_url = "https://irods.example.org/irods-http-api/0.7.0"
    with IrodsSession(base_url, auth=BasicAuth("alice", "secret")) as session:
        ticket = session.tickets.create("/tempZone/home/alice/results", use_count=10)
        names = session.collections.list("/tempZone/home/alice/results", ticket=ticket)
        session.tickets.remove(ticket)
    ```
    """

    def __init__(self, session: IrodsSession) -> None:
        self._s = session

    def create(
        self,
        path: str,
        *,
        ticket_type: TicketType = TicketType.READ,
        use_count: int | None = None,
        write_data_object_count: int | None = None,
        write_byte_count: int | None = None,
        expires_in: float | datetime.timedelta | None = None,
        users: Iterable[str] = (),
        groups: Iterable[str] = (),
        hosts: Iterable[str] = (),
    ) -> str:
        """Create a ticket on a collection or data object and return its string.

        The server creates the ticket before it sets its limits and adds the allowed users, groups and
        hosts (endpoints/tickets/src/main.cpp:222-305 at HTTP API 0.7.0), so a create naming an unknown one
        fails after the ticket exists, and a lost reply (a timeout, a dropped connection) hides one the
        server made. A ticket nobody knows is a leaked credential, and a create is never resent (a resend
        makes a second one). So the tickets of this type on ``path`` are listed before the call (the
        caller's own: the server lists a non-administrator only those); when the create fails once sent,
        the one ticket that appeared meanwhile is removed and the failure raised (noted on it: nothing the
        call made is left, creating again is safe). When that cannot be settled (several appeared: another
        create of the same user raced this one; none yet while the server may still be at work on a reply
        the client stopped waiting for; the cleanup failed), :class:`IrodsTicketOutcomeUnknownError` is
        raised, its ``possible_tickets`` naming what appeared (never its message). A path of a federated
        zone is refused before anything is sent (IrodsUsageError): iRODS creates tickets in the local catalog.
        """
        users, groups, hosts = builtins.list(users), builtins.list(groups), builtins.list(hosts)
        op = _ops_misc.ticket_create(
            path,
            ticket_type=ticket_type,
            use_count=use_count,
            write_data_object_count=write_data_object_count,
            write_byte_count=write_byte_count,
            seconds_until_expiration=_expiry_seconds(path, expires_in),
            users=users,
            groups=groups,
            hosts=hosts,
        )
        if (zone := self._s.query.zone_for(path)) is not None:
            raise _ops_misc.remote_ticket_refusal(path, zone)
        before = self._on_path(path, ticket_type)
        try:
            ticket = self._s.execute(op)
        except IrodsError as e:
            if not is_unsent(e):  # sent: the server may have made the ticket
                self._settle_failed_create(path, ticket_type, before, e)
            raise
        self._s.note_secrets([ticket])
        return ticket

    def on_path(self, path: str) -> builtins.list[TicketInfo]:
        """The tickets on ``path`` the caller may list, with owner, creation time, limits and restrictions.

        The server lists a rodsuser its own tickets only, a rodsadmin everyone's (filter on ``owner``). A
        path of another zone asks that zone's catalog (the GenQuery ``zone`` hint). Some queries per call:
        one per path kind, and three more (users, groups, hosts) when tickets are found.
        """
        zone = self._s.query.zone_for(path)
        found: builtins.list[TicketInfo] = []
        for checks in _ticket_targets(path):
            where = " and ".join(match_condition(column, value)[0] for column, value in checks)
            columns = ", ".join(column for column, _ in checks)
            width = len(_TICKET_COLUMNS.split(", "))
            rows = [
                row[:width]
                for row in self._s.query.genquery(
                    f"select {_TICKET_COLUMNS}, {columns} where {where}", zone=zone
                )
                if all(row[width + i] == value for i, (_, value) in enumerate(checks))
            ]
            if not rows:
                continue
            self._s.note_secrets(sorted(row[1] for row in rows))
            lists: dict[str, dict[str, set[str]]] = {}
            for name, column in _TICKET_RESTRICTIONS:
                for row in self._s.query.genquery(
                    f"select TICKET_ID, {column} where {where}", zone=zone
                ):
                    lists.setdefault(row[0], {}).setdefault(name, set()).add(row[1])
            found.extend(_ticket_info(row, path, lists.get(row[0], {})) for row in rows)
        return found

    def _on_path(self, path: str, ticket_type: TicketType) -> set[str]:
        """The strings of the ``ticket_type`` tickets on ``path`` the caller may list."""
        zone = self._s.query.zone_for(path)
        found: set[str] = set()
        lookups = (
            (("TICKET_DATA_COLL_NAME", parent_path(path)), ("TICKET_DATA_NAME", basename(path))),
            (("TICKET_COLL_NAME", path),),
        )
        for wanted in lookups:
            checks = [*wanted, ("TICKET_TYPE", ticket_type.value)]
            columns = ", ".join(column for column, _ in checks)
            where = " and ".join(match_condition(column, value)[0] for column, value in checks)
            query = f"select TICKET_STRING, {columns} where {where}"
            for row in self._s.query.genquery(query, zone=zone):
                if all(row[1 + i] == value for i, (_, value) in enumerate(checks)):
                    found.add(row[0])
        self._s.note_secrets(sorted(found))
        return found

    def _settle_failed_create(
        self, path: str, ticket_type: TicketType, before: set[str], error: IrodsError
    ) -> None:
        """Remove the ticket a failed create left on ``path`` (the one of ``ticket_type`` that appeared
        since ``before``) and note it on ``error``, which the caller raises; raise
        :class:`IrodsTicketOutcomeUnknownError` (from ``error``) when that cannot be settled."""
        appeared: set[str] = set()
        try:
            appeared = self._on_path(path, ticket_type) - before
            if len(appeared) == 1:
                self.remove(next(iter(appeared)))
                error.add_note(f"the ticket this failed create made on {path} was found and removed")
                return
        except IrodsError as cleanup:
            why = f"its tickets could not be listed or removed ({type(cleanup).__name__})"
            raise _unsettled(path, error, appeared, why) from error
        answered = isinstance(error, IrodsResponseError | IrodsProtocolError) or handler_ended(error)
        if not appeared and answered:
            return  # the server answered, or is done with the request: it made no ticket
        why = (
            f"{len(appeared)} tickets of this type appeared on it meanwhile (another create raced this one)"
            if appeared
            else "none appeared yet, but the server may still be at work on the request"
        )
        raise _unsettled(path, error, appeared, why) from error

    def remove(self, ticket: str) -> None:
        """Delete a ticket."""
        self._s.note_secrets([ticket])
        self._s.execute(_ops_misc.ticket_remove(ticket))


def refuse_remote_atomic(session: IrodsSession, operation: str, path: str) -> None:
    """Raise IrodsUsageError when ``path`` is in a federated zone: iRODS would apply an atomic metadata or ACL
    call there to the local catalog (see :func:`~irods_provider.client._ops_fs.remote_atomic_refusal`)."""
    if (zone := session.query.zone_for(path)) is not None:
        raise remote_atomic_refusal(operation, path, zone)


def execute_atomic(
    session: IrodsSession,
    op: Operation[None],
    path: str,
    *,
    collection: bool,
) -> None:
    """Send one of iRODS's atomic metadata or ACL calls on ``path`` (refused on a federated zone's path), a
    refusal that iRODS's own lookup of the path explains (``atomic_lookup_missed``) raised as such."""
    refuse_remote_atomic(session, op.name, path)
    try:
        session.execute(op)
    except IrodsResponseError as exc:
        version = (session.get_limits()).irods_server_version
        missed = atomic_lookup_missed(exc, path, collection=collection, server_version=version)
        if missed is None:
            raise
        raise missed from exc


def _unsettled(path: str, error: IrodsError, appeared: set[str], why: str) -> IrodsTicketOutcomeUnknownError:
    """The error of a failed ticket create that may have left a ticket on ``path`` (see
    :meth:`Tickets.create`): ``appeared`` only in ``possible_tickets``, never in the text."""
    return IrodsTicketOutcomeUnknownError(
        f"a ticket create on {path} failed ({type(error).__name__}) and whether it left a ticket there is "
        f"unknown: {why}; see possible_tickets and tickets.on_path",
        possible_tickets=tuple(sorted(appeared)),
        http_status=getattr(error, "http_status", None),
        operation="tickets.create",
        path=path,
    )
