"""Operators over the catalog a data platform runs every day: query, tickets, checksums, permissions, objects.

Each is thin over one client call (or a walk of them), templated on every path-like argument, and returns a
small JSON-able result whose size is bounded (``max_rows`` / ``max_entries``), never unbounded per object.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from irods_provider._error_codes import error_code, error_name
from irods_provider._values import literal_list, parse_avus, rendered_mapping
from irods_provider.client._genquery import GENQUERY2_DEFAULT_ROWS
from irods_provider.exceptions import (
    IrodsError,
    IrodsIntegrityError,
    IrodsLockedError,
    IrodsNotFoundError,
    IrodsResponseError,
    IrodsUsageError,
)
from irods_provider.operators._base import (
    IrodsBaseOperator,
    check_choice,
    check_object_path,
    check_path,
    check_replica_number,
    is_retry,
    path_kind,
    refuse_empty_segment,
)
from irods_provider.operators._bounded import attach_manifest, check_manifest_path
from irods_provider.operators._retry import WantedTicket, earlier_ticket, retry_window_start

if TYPE_CHECKING:
    from airflow.sdk import Context

    from irods_provider.client import IrodsSession

__all__ = [
    "IrodsChecksumOperator",
    "IrodsCreateObjectOperator",
    "IrodsCreateTicketOperator",
    "IrodsQueryOperator",
    "IrodsRemoveTicketOperator",
    "IrodsSetPermissionsOperator",
    "select_columns",
]

_SELECT = re.compile(
    r"^\s*select\s+(?:distinct\s+)?(?P<columns>.+?)(?:\s+where\s|\s+order\s+by\s|\s+limit\s|$)", re.I | re.S
)
_ORDER_BY = re.compile(r"\border\s+by\b", re.I)
_QUOTED = re.compile(r"'(?:[^']|'')*'")
_LIMIT = re.compile(r"\blimit\s+\d+(?:\s+offset\s+\d+)?\s*$", re.I)
#: The iRODS 4.3 permission vocabulary the ACL calls accept (``read`` and ``write`` are aliases).
PERMISSIONS = (
    "null",
    "read_metadata",
    "read_object",
    "read",
    "create_metadata",
    "modify_metadata",
    "delete_metadata",
    "create_object",
    "modify_object",
    "write",
    "delete_object",
    "own",
)
#: Default cap on per-object entries in a result pushed to XCom (counts are always complete).
MAX_ENTRIES = 1000


def select_columns(query: str) -> list[str]:
    """The column names of a GenQuery1/GenQuery2 ``SELECT`` list, used as the keys of each row's dict."""
    match = _SELECT.match(query)
    if match is None:
        raise IrodsUsageError(f"query must start with SELECT, got {query[:60]!r}")
    depth, start, columns = 0, 0, []
    text = match.group("columns")
    for i, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            columns.append(text[start:i].strip())
            start = i + 1
    columns.append(text[start:].strip())
    return [re.sub(r"\s+", "", c) for c in columns]


class IrodsQueryOperator(IrodsBaseOperator):
    """Run a GenQuery1 or GenQuery2 query and push at most ``max_rows`` rows as dicts.

    Returns ``{"columns", "rows", "row_count", "truncated"}``; each row maps the SELECT list's column names to
    its values. More rows than ``max_rows`` fail the task (``on_overflow="fail"``, the default) or are cut at
    ``max_rows`` with ``truncated: true`` (``"truncate"``). GenQuery1 pages through the server's row cap
    lazily and stops after ``max_rows + 1`` rows. GenQuery2 without a LIMIT of its own is paged with
    ``LIMIT``/``OFFSET`` (pages of at most 256 rows, the server's default; the query needs ``ORDER BY`` so
    pages neither overlap nor skip) up to ``max_rows + 1`` rows; one with its own ``LIMIT`` runs once.

    Example:

    ```python
    from irods_provider.operators.catalog import IrodsQueryOperator

    large_files = IrodsQueryOperator(
        task_id="large_files",
        query="select COLL_NAME, DATA_NAME, DATA_SIZE where DATA_SIZE > '1000000000'",
        max_rows=500,
    )
    ```

    :param query: the query text (GenQuery1 literals quoted with single quotes).
    :param max_rows: required cap on the rows pushed to XCom.
    :param parser: ``genquery1`` (default) or ``genquery2``.
    :param zone: the zone to query (a federated zone's catalog), default the local zone.
    :param on_overflow: ``fail`` or ``truncate``.
    :param case_sensitive: GenQuery1 only.
    """

    template_fields: Sequence[str] = ("query", "zone", "irods_conn_id")
    template_fields_renderers = {"query": "sql"}

    def __init__(
        self,
        *,
        query: str,
        max_rows: int,
        parser: str = "genquery1",
        zone: str | None = None,
        on_overflow: str = "fail",
        case_sensitive: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.query = query
        self.max_rows = max_rows
        self.parser = parser
        self.zone = zone
        self.on_overflow = on_overflow
        self.case_sensitive = case_sensitive

    def run(self, session: IrodsSession, context: Context) -> dict[str, Any]:
        parser = check_choice("parser", self.parser, ("genquery1", "genquery2"))
        overflow = check_choice("on_overflow", self.on_overflow, ("fail", "truncate"))
        if isinstance(self.max_rows, bool) or not isinstance(self.max_rows, int) or self.max_rows < 1:
            raise IrodsUsageError(f"max_rows must be a positive integer, got {self.max_rows!r}")
        query = str(self.query).strip()
        columns = select_columns(query)
        zone = self.zone or None
        rows: list[list[str]] = []
        if parser == "genquery1":
            found = session.query.genquery(query, zone=zone, case_sensitive=bool(self.case_sensitive))
        elif _LIMIT.search(query):  # the author's own LIMIT: one page, exactly as asked
            found = iter(session.query.genquery2(query, zone=zone))
        else:
            found = self._genquery2_pages(session, query, zone)
        for row in found:
            rows.append(row)
            if len(rows) > self.max_rows:
                break
        truncated = len(rows) > self.max_rows
        if truncated and overflow == "fail":
            raise IrodsUsageError(
                f"the query returned more than max_rows={self.max_rows} rows; raise max_rows, narrow the "
                'query, or set on_overflow="truncate"'
            )
        rows = rows[: self.max_rows]
        self.log.info("Query returned %d row(s)%s", len(rows), " (truncated)" if truncated else "")
        return {
            "columns": columns,
            "rows": [dict(zip(columns, row, strict=False)) for row in rows],
            "row_count": len(rows),
            "truncated": truncated,
        }

    def _genquery2_pages(self, session: IrodsSession, query: str, zone: str | None) -> Iterator[list[str]]:
        """Page a GenQuery2 query with LIMIT/OFFSET (the server sends 256 rows without a LIMIT) up to
        ``max_rows + 1`` rows; pages are stable only under ORDER BY, so a query without one is refused."""
        page = min(GENQUERY2_DEFAULT_ROWS, self.max_rows + 1)
        if not _ORDER_BY.search(_QUOTED.sub("''", query)):
            raise IrodsUsageError(
                f"a GenQuery2 query without LIMIT is paged with LIMIT {page} OFFSET n, which needs ORDER BY "
                "(e.g. ORDER BY DATA_ID), or pages could overlap or miss rows; add ORDER BY, or give your "
                "own LIMIT to get one page as written"
            )
        # the bound allows the last page to overshoot max_rows + 1: rows past it are never read
        return session.query.iter_genquery2(query, page_size=page, zone=zone, max_rows=self.max_rows + page)


class IrodsCreateTicketOperator(IrodsBaseOperator):
    """Create a read or write ticket on a collection or data object, with every limit the server supports.

    The ticket string is a bearer secret: it is registered with Airflow's secrets masker the moment it exists
    (so it never appears in task logs) and is returned in XCom (``{"ticket", "path", "type"}``) only when
    ``do_xcom_push`` is on (Airflow's default); set ``do_xcom_push=False`` to keep it out of XCom entirely.

    Retries: the server picks the ticket string (tickets ``create`` takes no name), so a try that died after
    the create leaves a ticket nobody knows. A retry first looks for it and returns it (with
    ``"already_created": true``) instead of making a second live ticket: the newest ticket on ``path`` with
    exactly these settings (type, limits, lifetime, users, groups, hosts: the server stores a host as the IPv4
    address it resolves the name to, so a name matches the stored address it resolves to on the worker),
    owned by the connection's user and created since the DAG run started (less 5 minutes of clock skew), and
    not expired (else a new one is made). Two tasks of one run asking for the same ticket on the same path are
    thus indistinguishable: give them different settings. With a static token or client credentials (no user
    name known) the owner is not compared, so run those as a rodsuser.

    Example:

    ```python
    from irods_provider.operators.catalog import IrodsCreateTicketOperator

    share = IrodsCreateTicketOperator(
        task_id="share",
        path="/tempZone/home/alice/results/{{ ds }}",
        ticket_type="read",
        use_count=10,
        expires_in_seconds=7 * 24 * 3600,
    )
    ```

    :param path: the collection or data object; one with an empty segment (a trailing ``/`` or ``//``: a
        template part that rendered empty) is refused, as a ticket on a collection opens all below it.
    :param ticket_type: ``read`` or ``write``.
    :param use_count: how many times it may be used.
    :param write_data_object_count: write tickets: how many objects may be written.
    :param write_byte_count: write tickets: how many bytes may be written.
    :param expires_in_seconds: lifetime (the server honours it from API 0.4.0).
    :param users: users allowed to use it (a list, or the rendered string of one).
    :param groups: groups allowed to use it.
    :param hosts: hosts allowed to use it.
    """

    template_fields: Sequence[str] = ("path", "users", "groups", "hosts", "irods_conn_id")

    def __init__(
        self,
        *,
        path: str,
        ticket_type: str = "read",
        use_count: int | None = None,
        write_data_object_count: int | None = None,
        write_byte_count: int | None = None,
        expires_in_seconds: float | None = None,
        users: Sequence[str] | str = (),
        groups: Sequence[str] | str = (),
        hosts: Sequence[str] | str = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.ticket_type = ticket_type
        self.use_count = use_count
        self.write_data_object_count = write_data_object_count
        self.write_byte_count = write_byte_count
        self.expires_in_seconds = expires_in_seconds
        self.users = users
        self.groups = groups
        self.hosts = hosts

    def _wanted(self) -> WantedTicket:
        """The validated settings of the ticket to create."""
        from irods_provider.client import TicketType

        kind = check_choice("ticket_type", self.ticket_type, ("read", "write"))
        for name in ("use_count", "write_data_object_count", "write_byte_count"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise IrodsUsageError(f"{name} must be a non-negative integer, got {value!r}")
        if kind == "read" and (self.write_data_object_count is not None or self.write_byte_count is not None):
            raise IrodsUsageError("write_data_object_count and write_byte_count apply to write tickets only")
        return WantedTicket(
            type=TicketType(kind),
            use_count=self.use_count or 0,
            write_data_object_count=self.write_data_object_count or 0,
            write_byte_count=self.write_byte_count or 0,
            expires_in=self.expires_in_seconds,
            users=frozenset(_names("users", self.users)),
            groups=frozenset(_names("groups", self.groups)),
            hosts=frozenset(_names("hosts", self.hosts)),
        )

    def _earlier_try_ticket(
        self, session: IrodsSession, path: str, wanted: WantedTicket, context: Context
    ) -> str | None:
        """On a retry, the ticket an earlier try of this task created (see the class docstring), else None."""
        since = retry_window_start(context) if is_retry(context) else None
        if since is None:
            return None
        return earlier_ticket(session, path, wanted, user=self.hook.user_name(), since=since)

    def run(self, session: IrodsSession, context: Context) -> dict[str, Any]:
        from airflow.sdk.log import mask_secret

        path = check_path("path", refuse_empty_segment(self.path, "path"))
        wanted = self._wanted()
        kind = wanted.type.value
        earlier = self._earlier_try_ticket(session, path, wanted, context)
        if earlier is not None:
            mask_secret(earlier)
            self.log.info("Found the %s ticket an earlier try created on %s: returning it", kind, path)
            return {"ticket": earlier, "path": path, "type": kind, "already_created": True}
        ticket = session.tickets.create(
            path,
            ticket_type=wanted.type,
            use_count=self.use_count,
            write_data_object_count=self.write_data_object_count,
            write_byte_count=self.write_byte_count,
            expires_in=self.expires_in_seconds,
            users=sorted(wanted.users),
            groups=sorted(wanted.groups),
            hosts=sorted(wanted.hosts),
        )
        mask_secret(ticket)
        self.log.info("Created a %s ticket on %s", kind, path)
        return {"ticket": ticket, "path": path, "type": kind}


class IrodsRemoveTicketOperator(IrodsBaseOperator):
    """Delete a ticket; returns ``{"removed": true}`` (a retry that finds it gone adds ``already_removed``).

    The ticket string never passes through a template.

    Templated fields are rendered into the UI unmasked, so the ticket is not one: give ``create_task_id``
    (the :class:`IrodsCreateTicketOperator` task whose XCom holds it; read and masked at run time), or
    ``ticket`` as a literal.

    Example:

    ```python
    from irods_provider.operators.catalog import IrodsRemoveTicketOperator

    unshare = IrodsRemoveTicketOperator(task_id="unshare", create_task_id="share")
    ```

    :param create_task_id: task id of the ticket's creator (its XCom ``{"ticket", ...}``).
    :param ticket: the ticket string itself (not templated).
    """

    template_fields: Sequence[str] = ("create_task_id", "irods_conn_id")

    def __init__(
        self, *, create_task_id: str | None = None, ticket: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.create_task_id = create_task_id
        self.ticket = ticket

    def run(self, session: IrodsSession, context: Context) -> dict[str, Any]:
        from airflow.sdk.log import mask_secret

        if (self.ticket is None) == (not self.create_task_id):
            raise IrodsUsageError("give exactly one of create_task_id or ticket")
        ticket = self.ticket
        if self.create_task_id:
            pushed = context["ti"].xcom_pull(task_ids=self.create_task_id)
            ticket = pushed.get("ticket") if isinstance(pushed, dict) else None
            if not ticket:
                raise IrodsUsageError(f"task {self.create_task_id!r} pushed no ticket to XCom")
        if not isinstance(ticket, str) or not ticket.strip():
            raise IrodsUsageError("ticket must be a non-empty ticket string")
        mask_secret(ticket.strip())
        try:
            session.tickets.remove(ticket.strip())
        except IrodsNotFoundError:
            if not is_retry(context):
                raise
            self.log.info("The ticket is gone already: an earlier try removed it")
            return {"removed": True, "already_removed": True}
        self.log.info("Removed the ticket")
        return {"removed": True}


def _names(name: str, value: Any) -> list[str]:
    value = literal_list(name, value)
    items = [value] if isinstance(value, str) else list(value or ())
    if not all(isinstance(v, str) and v.strip() for v in items):
        raise IrodsUsageError(f"{name} must be a name or a list of names, got {value!r}")
    return [v.strip() for v in items]


class IrodsChecksumOperator(IrodsBaseOperator):
    """Compute or verify checksums of a data object or of every object under a collection (``ichksum -r -K``).

    Returns ``{"path", "checked", "mismatches", "mismatch_count", "checksums", "in_progress",
    "in_progress_count", "truncated"}``: ``checksums`` maps at most ``max_entries`` object paths to their
    checksum; ``mismatches`` lists at most ``max_entries`` objects whose replicas disagree with their recorded
    checksums (with the server's findings). Any mismatch fails the task unless ``fail_on_mismatch=False``.
    Under a collection, an object another client is still writing (no good replica: one intermediate or
    locked) is left out as tree copies leave it out, listed in ``in_progress`` (at most ``max_entries``,
    counted in ``in_progress_count``) for a later run; one whose write failed (all replicas stale) still
    fails the task. The engine's own temporaries are never walked. An object whose path holds ``+`` (which
    the server's verify_checksum, a GET, cannot address) is verified replica by replica through server-side
    copies from each replica's resource (:func:`~irods_provider.client.transfer.verify_by_copies`: a read
    and a write of each replica on the server, and its hashing; see README "Paths the API can address later").

    Example:

    ```python
    from irods_provider.operators.catalog import IrodsChecksumOperator

    verify = IrodsChecksumOperator(
        task_id="verify",
        path="/tempZone/home/alice/runs/{{ ds }}",
        verify=True,
    )
    ```

    :param path: a data object or a collection (walked recursively).
    :param verify: verify instead of computing (``ichksum -K``).
    :param force: recompute even when a checksum is recorded (compute mode).
    :param all_replicas: compute for every replica.
    :param resource: the replica on this resource only.
    :param replica_number: the replica with this number only (templated: a rendered number is read).
    :param max_entries: the most object paths the result lists (checksums and mismatches alike).
    :param fail_on_mismatch: fail the task when a verification finds a mismatch (default True).
    :param admin: act as rodsadmin on objects the caller does not own.
    :param manifest_path: an iRODS path where one JSON line per object (``{"path", "checksum"}``, or
        ``{"path", "ok", "findings"}`` when verifying; ``{"path", "in_progress"}`` for one left out) is
        written (atomic, verified, overwritten) when the result lists fewer than all objects; the result
        then names it as ``manifest``. Templated.
    """

    template_fields: Sequence[str] = ("path", "resource", "replica_number", "manifest_path", "irods_conn_id")

    def __init__(
        self,
        *,
        path: str,
        verify: bool = False,
        force: bool = False,
        all_replicas: bool = False,
        resource: str | None = None,
        replica_number: int | str | None = None,
        admin: bool = False,
        fail_on_mismatch: bool = True,
        max_entries: int = MAX_ENTRIES,
        manifest_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.manifest_path = manifest_path
        self.verify = verify
        self.force = force
        self.all_replicas = all_replicas
        self.resource = resource
        self.replica_number = replica_number
        self._replica: int | None = None  # replica_number as read at run time
        self.admin = admin
        self.fail_on_mismatch = fail_on_mismatch
        self.max_entries = max_entries

    def _check(self, session: IrodsSession, obj: str) -> dict[str, Any]:
        """One object's report line: its verification (``ok``, and ``findings`` when not) or its checksum."""
        if self.verify:
            from irods_provider.client.transfer import verify_object  # a '+' path: through copies

            report = verify_object(
                session, obj, resource=self.resource or None, replica_number=self._replica, admin=self.admin
            )
            line = {"path": obj, "ok": report.ok}
            return line if report.ok else {**line, "findings": list(report.results)}
        value = session.data_objects.calculate_checksum(
            obj,
            force=bool(self.force),
            all_replicas=bool(self.all_replicas),
            resource=self.resource or None,
            replica_number=self._replica,
            admin=bool(self.admin),
        )
        return {"path": obj, "checksum": value}

    def _check_in_tree(self, session: IrodsSession, obj: str) -> dict[str, Any]:
        """:meth:`_check` for an object a walk found: one another client is still writing is reported as
        ``{"path", "in_progress": True}`` (see :func:`_being_written`), as tree copies leave it out."""
        try:
            return self._check(session, obj)
        except IrodsResponseError as exc:
            if not _being_written(session, obj, exc):
                raise
            return {"path": obj, "in_progress": True}

    def run(self, session: IrodsSession, context: Context) -> dict[str, Any]:
        from irods_provider.client import Kinds

        path = check_path("path", self.path)
        manifest = check_manifest_path(self.manifest_path)
        self._replica = check_replica_number("replica_number", self.replica_number)
        kind = path_kind(session, path)
        if kind is None:
            raise IrodsNotFoundError(f"{path} does not exist", path=path)
        if kind == "collection":
            walked = (e.path for e in session.collections.walk(path, kinds=Kinds.DATA_OBJECTS))
            lines: Iterator[dict[str, Any]] = (self._check_in_tree(session, obj) for obj in walked)
        else:
            lines = iter([self._check(session, path)])
        tally = _Tally(self.max_entries, keep_all=bool(manifest))
        for line in lines:
            tally.add(line)
        self.log.info(
            "%s %d object(s) under %s: %d mismatch(es)",
            "Verified" if self.verify else "Checksummed",
            tally.checked,
            path,
            tally.mismatch_count,
        )
        if tally.in_progress_count:
            self.log.warning(
                "Left out %d object(s) under %s being written by another client (no good replica until "
                "that write closes), e.g. %s: check them in a later run",
                tally.in_progress_count,
                path,
                tally.in_progress[0],
            )
        if tally.mismatch_count and self.fail_on_mismatch:
            first = tally.mismatches[0]
            raise IrodsIntegrityError(
                f"{tally.mismatch_count} of {tally.checked} object(s) under {path} failed checksum "
                f"verification (first: {first['path']}: {_worst_finding(first['findings'])})",
                path=str(first["path"]),
            )
        result, truncated = tally.result(path)
        return attach_manifest(
            result,
            session=session,
            manifest_path=manifest,
            truncated=truncated,
            entries=tally.every,
            log=self.log,
        )


#: What the server answers a checksum or verification of an object a write holds: no good replica to
#: verify or compute (rsDataObjChksum.cpp:330, :444 at 4.3.4), the replica picked neither good nor stale
#: (SYS_REPLICA_INACCESSIBLE: check_replica_accessibility, :134-147, :285, :419), or the lock's refusal.
_WRITTEN_CODES = frozenset(
    error_code(name) for name in ("SYS_NO_GOOD_REPLICA", "SYS_REPLICA_INACCESSIBLE", "HIERARCHY_ERROR")
)


def _being_written(session: IrodsSession, obj: str, refused: IrodsResponseError) -> bool:
    """Whether ``refused`` (a checksum call on ``obj``) is the refusal of an object another client is still
    writing: one of :data:`_WRITTEN_CODES`, proven by its replicas (one intermediate or locked, the marks
    iRODS 4.2.9+ sets while a write holds it). All stale is a failed write: damage, not in progress."""
    if not isinstance(refused, IrodsLockedError) and refused.irods_code not in _WRITTEN_CODES:
        return False
    try:
        replicas = session.data_objects.replicas(obj)
    except IrodsError:
        return False
    return any(r.locked for r in replicas)


class _Tally:
    """The checksum operator's running counts and its bounded lists (``max_entries`` each)."""

    def __init__(self, max_entries: int, *, keep_all: bool) -> None:
        self.max_entries = max_entries
        self.keep_all = keep_all
        self.checked = self.mismatch_count = self.in_progress_count = 0
        self.checksums: dict[str, str] = {}
        self.mismatches: list[dict[str, Any]] = []
        self.in_progress: list[str] = []
        self.every: list[dict[str, Any]] = []  # the manifest's lines, kept only when one may be written

    def add(self, line: dict[str, Any]) -> None:
        """Count one report line (see :meth:`IrodsChecksumOperator._check_in_tree`)."""
        if self.keep_all:
            self.every.append(line)
        obj = str(line["path"])
        if line.get("in_progress"):
            self.in_progress_count += 1
            if len(self.in_progress) < self.max_entries:
                self.in_progress.append(obj)
            return
        self.checked += 1
        if "checksum" in line:
            if len(self.checksums) < self.max_entries:
                self.checksums[obj] = line["checksum"]
        elif not line["ok"]:
            self.mismatch_count += 1
            if len(self.mismatches) < self.max_entries:
                self.mismatches.append({"path": obj, "findings": line["findings"]})

    def result(self, path: str) -> tuple[dict[str, Any], bool]:
        """The XCom result and whether it lists fewer than all objects."""
        result = {
            "path": path,
            "checked": self.checked,
            "checksums": self.checksums,
            "mismatches": self.mismatches,
            "mismatch_count": self.mismatch_count,
            "in_progress": sorted(self.in_progress),
            "in_progress_count": self.in_progress_count,
            "truncated": self.checked > self.max_entries or self.in_progress_count > len(self.in_progress),
        }
        truncated = bool(result["truncated"]) or self.mismatch_count > len(self.mismatches)
        return result, truncated


def _worst_finding(findings: list[dict[str, Any]]) -> str:
    """The most severe of a verification's findings as ``severity NAME (code)``: an ``error`` (bytes that
    do not match) before a ``warning`` (e.g. a replica with no checksum, which the server does not call
    damage)."""
    rank = {"error": 0, "warning": 1}
    worst = min(findings, key=lambda f: rank.get(str(f.get("severity")), 2), default={})
    code = worst.get("error_code")
    named = f"{error_name(code)} ({code})" if isinstance(code, int) and code else "no error code"
    return f"{worst.get('severity', 'unknown')} {named}"


class IrodsSetPermissionsOperator(IrodsBaseOperator):
    """Set ACLs for users and groups on a collection or data object, optionally recursively and inherited.

    Returns ``{"path", "permissions", "objects", "inheritance"}``. ``permissions`` maps a user or group to
    ``read_object``/``read``, ``modify_object``/``write``, ``own``, ``null`` (revoke) or a finer 4.3 level
    (``read_metadata``, ``create_metadata``, ``modify_metadata``, ``delete_metadata``, ``create_object``,
    ``delete_object``). With ``recursive`` on a collection every sub-collection and data object gets the same
    ACLs.

    Example:

    ```python
    from irods_provider.operators.catalog import IrodsSetPermissionsOperator

    grant = IrodsSetPermissionsOperator(
        task_id="grant",
        path="/tempZone/home/alice/results",
        permissions={"bob": "read_object", "analysts": "modify_object"},
        recursive=True,
        inheritance=True,
    )
    ```

    :param path: the collection or data object (with ``recursive``, one with an empty segment, a trailing
        ``/`` or ``//``, is refused).
    :param permissions: ``{"alice": "read_object", "project_group": "modify_object"}``.
    :param recursive: apply to everything under a collection too.
    :param inheritance: ``True``/``False`` to switch collection inheritance on/off (None: leave).
    :param admin: act as rodsadmin.
    """

    template_fields: Sequence[str] = ("path", "permissions", "irods_conn_id")
    template_fields_renderers = {"permissions": "json"}

    def __init__(
        self,
        *,
        path: str,
        permissions: dict[str, str],
        recursive: bool = False,
        inheritance: bool | None = None,
        admin: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.permissions = permissions
        self.recursive = recursive
        self.inheritance = inheritance
        self.admin = admin

    def run(self, session: IrodsSession, context: Context) -> dict[str, Any]:
        from irods_provider.exceptions import IrodsNotFoundError

        path = check_path("path", refuse_empty_segment(self.path, "path") if self.recursive else self.path)
        acl = _acl(self.permissions)
        kind = path_kind(session, path)
        if kind is None:
            raise IrodsNotFoundError(f"{path} does not exist", path=path)
        if self.inheritance is not None and kind != "collection":  # refused before any ACL changes
            raise IrodsUsageError(f"inheritance applies to collections; {path} is a data object", path=path)
        entries = [(path, kind)]
        if kind == "collection" and self.recursive:
            entries += [(e.path, e.kind.value) for e in session.collections.walk(path)]
        for entry, entry_kind in entries:
            api = session.collections if entry_kind == "collection" else session.data_objects
            for entity, permission in acl.items():
                api.set_permission(entry, entity, permission, admin=bool(self.admin))
        if self.inheritance is not None:
            session.collections.set_inheritance(path, bool(self.inheritance), admin=bool(self.admin))
        self.log.info("Set %d permission(s) on %d entr(ies) under %s", len(acl), len(entries), path)
        return {"path": path, "permissions": acl, "objects": len(entries), "inheritance": self.inheritance}


def _acl(value: Any) -> dict[str, str]:
    value = rendered_mapping("permissions", value)
    if not isinstance(value, dict) or not value:
        raise IrodsUsageError(
            f"permissions must be a non-empty mapping user/group -> permission, got {value!r}"
        )
    for entity, permission in value.items():
        if not isinstance(entity, str) or not entity.strip():
            raise IrodsUsageError(f"permissions: {entity!r} is not a user or group name")
        check_choice(f"permissions[{entity!r}]", permission, PERMISSIONS)
    return {str(k): str(v) for k, v in value.items()}


class IrodsCreateObjectOperator(IrodsBaseOperator):
    """Create a data object from a string, bytes or an XCom value, published atomically and verified.

    The bytes go to a temporary sibling, are checked against the server's checksum, get ``metadata`` and are
    renamed onto ``path``; an existing object is refused unless ``overwrite=True``. It is written to the
    connection's ``default_resource`` (else the server's default). Returns ``{"path", "size", "checksum"}``.

    Example:

    ```python
    from irods_provider.operators.catalog import IrodsCreateObjectOperator

    write_manifest = IrodsCreateObjectOperator(
        task_id="write_manifest",
        path="/tempZone/home/alice/runs/{{ ds }}/manifest.json",
        content="{{ ti.xcom_pull(task_ids='list_csv') | tojson }}",
        overwrite=True,
        metadata={"kind": "manifest"},
    )
    ```

    :param path: the data object to create (parent collections are created); a path ending in ``/`` is
        refused (it names a collection).
    :param content: ``str`` (encoded with ``encoding``) or ``bytes``; a dict/list is refused (serialise it).
    :param encoding: the text encoding for ``str`` content (explicit, default ``utf-8``).
    :param overwrite: replace an existing object. Without it, a retry that finds the same bytes at ``path``
        (its earlier try published them, then died) succeeds with ``"already_created": True``.
    :param metadata: AVUs as :class:`~irods_provider.operators.metadata.IrodsPutMetadataOperator` takes them.
    """

    template_fields: Sequence[str] = ("path", "content", "metadata", "irods_conn_id")

    def __init__(
        self,
        *,
        path: str,
        content: str | bytes,
        encoding: str = "utf-8",
        overwrite: bool = False,
        metadata: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.content = content
        self.encoding = encoding
        self.overwrite = overwrite
        self.metadata = metadata

    def run(self, session: IrodsSession, context: Context) -> dict[str, Any]:
        from irods_provider.client import AVU
        from irods_provider.client.transfer import FileStatus
        from irods_provider.hooks._shortcuts import publish_object

        path = check_object_path("path", self.path)
        if isinstance(self.content, str):
            data = self.content.encode(self.encoding)
        elif isinstance(self.content, bytes | bytearray):
            data = bytes(self.content)
        else:
            raise IrodsUsageError(
                f"content must be str or bytes, got {type(self.content).__name__}; serialise it first "
                "(e.g. json.dumps)"
            )
        avus = [AVU(a, v, u) for a, v, u in parse_avus(self.metadata, allow_empty=True)]
        retry = is_retry(context) and not self.overwrite
        result = publish_object(
            session,
            data,
            path,
            overwrite=bool(self.overwrite),
            metadata=avus,
            skip_identical=retry,
            resource=self.write_resource(),
        )
        if result.status is FileStatus.SKIPPED:
            self.log.info("%s already holds these %d bytes: an earlier try created it", path, len(data))
            checksum = session.data_objects.stat(path).checksum  # the skip compared it: it is there
            return {"path": path, "size": len(data), "checksum": checksum, "already_created": True}
        self.log.info("Created %s (%d bytes)", path, len(data))
        return {"path": path, "size": result.size, "checksum": result.checksum}
