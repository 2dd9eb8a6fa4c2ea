"""Pure request builders and decoders for ``/authenticate``, ``/info``, ``/query`` and ``/tickets``."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from typing import Any

from irods_provider.client._models import ServerLimits, TicketType
from irods_provider.client._operation import Body, Operation, token_problem
from irods_provider.client._paths import check_query_value, validate_path
from irods_provider.client._replies import ReplyShapeError, rows, text
from irods_provider.client._versions import OPENID_CLIENT_MODE_LOGIN, LoginScheme, api_version_facts
from irods_provider.exceptions import IrodsProtocolError, IrodsUsageError

__all__ = [
    "authenticate",
    "decode_limits",
    "genquery1_page",
    "genquery2",
    "info",
    "ticket_create",
    "ticket_remove",
]

# /info key names: 0.7 first, then the names older servers used.
_LIMIT_KEYS: dict[str, tuple[str, ...]] = {
    "max_request_body_bytes": ("max_size_of_request_body_in_bytes", "max_request_body_size_in_bytes"),
    "max_streams_per_handle": (
        "max_number_of_streams_per_parallel_write_handle",
        "max_number_of_parallel_write_streams",
    ),
    "max_rows_per_query": ("max_number_of_rows_per_catalog_query", "max_rows_per_catalog_query"),
}


def decode_limits(data: dict[str, Any]) -> ServerLimits:
    """Read the server limits from an ``/info`` body, with 0.7.0 defaults for absent keys."""
    defaults = ServerLimits()
    version = text(data, "api_version", default=defaults.api_version)
    # The per-handle stream cap's key per the version table (0.7.0 re-purposed the old name as a
    # server-wide cap, so it is read only from servers where it still means "per handle").
    facts = api_version_facts(version)
    per_handle = facts.info_streams_per_handle_key
    keys_by_attr = {**_LIMIT_KEYS, "max_streams_per_handle": (per_handle,)}
    values: dict[str, Any] = {}
    for attr, keys in keys_by_attr.items():
        found = next((data[k] for k in keys if isinstance(data.get(k), int) and data[k] > 0), None)
        values[attr] = found if found is not None else getattr(defaults, attr)
    return ServerLimits(
        **values,
        api_version=version,
        max_write_payload_bytes=facts.write_payload_limit(values["max_request_body_bytes"]),
        irods_zone=text(data, "irods_zone") if data.get("irods_zone") is not None else None,
        openid_connect_enabled=bool(data.get("openid_connect_enabled", False)),
        irods_server_version=(
            text(data, "irods_server_version") if data.get("irods_server_version") is not None else None
        ),
        raw=dict(data),
    )


def info() -> Operation[ServerLimits]:
    """GET /info (no authentication needed)."""
    return Operation(
        name="info", method="GET", endpoint="info", decode=decode_limits, authenticated=False, enveloped=False
    )


def authenticate(username: str, password: str, *, scheme: LoginScheme = "Basic") -> Operation[str]:
    """POST /authenticate with HTTP Basic → bearer token (text/plain).

    ``scheme="iRODS"``: the same credentials for the OpenID provider of a 0.4.0/0.5.0 server in OpenID
    client mode, which runs the password grant itself and answers with its own token
    (endpoints/authentication/src/main.cpp:557-656 at 0.5.0).
    """
    credentials = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")

    def decode(text: str) -> str:
        token = text.strip()
        problem = token_problem(token)
        if problem is not None:  # never quoted: it is a credential, whatever else is wrong with it
            raise IrodsProtocolError(
                "the login answer is not a bearer token HTTP can carry back (not an iRODS HTTP API, or "
                f"the wrong version?): {problem}",
                operation="authenticate",
            )
        return token

    return Operation(
        name="authenticate" if scheme == "Basic" else OPENID_CLIENT_MODE_LOGIN,
        method="POST",
        endpoint="authenticate",
        headers=(("Authorization", f"{scheme} {credentials}"),),
        content=b"",
        decode=decode,
        body=Body.TEXT,
        authenticated=False,
    )


def _rows(data: dict[str, Any]) -> list[list[str]]:
    return rows(data)


# Catalog columns holding decimal integers (sizes, times as epoch seconds, ids, replica numbers, ticket
# counts), which the API groups read with int(): a reply holding anything else there is not the catalog's.
_INTEGER_COLUMNS = frozenset(
    {
        "DATA_SIZE",
        "DATA_REPL_NUM",
        "DATA_MODIFY_TIME",
        "DATA_CREATE_TIME",
        "DATA_ID",
        "COLL_ID",
        "COLL_MODIFY_TIME",
        "COLL_CREATE_TIME",
        "TICKET_ID",
        "TICKET_CREATE_TIME",
        "TICKET_EXPIRY",
        "TICKET_USES_LIMIT",
        "TICKET_USES_COUNT",
        "TICKET_WRITE_FILE_LIMIT",
        "TICKET_WRITE_FILE_COUNT",
        "TICKET_WRITE_BYTE_LIMIT",
        "TICKET_WRITE_BYTE_COUNT",
    }
)
_INTEGER = re.compile(r"-?[0-9]*")
_SELECT_ITEM = re.compile(r"(?:(\w+)\(\s*)?(\w+)\s*\)?")


def select_columns(query: str) -> list[str] | None:
    """The select list of a GenQuery1 string as iRODS 4.3 cuts it (rcMisc.cpp:3214-3262 at 4.3.4: from 7
    characters after the first ``select``, else ``SELECT``, to the first ``where``, else ``WHERE``, after it;
    items split at every comma), one entry per column each row holds; None without a ``select``."""
    start = query.find("select")
    start = start if start >= 0 else query.find("SELECT")
    if start < 0:
        return None
    end = query.find("where", start)
    end = end if end >= 0 else query.find("WHERE", start)
    return [item.strip() for item in query[start + 7 : end if end >= 0 else None].split(",")]


def _integer_at(columns: list[str]) -> list[int]:
    """Indexes of the select items whose values are integers: a number column, or count/sum/min/max of one."""
    found = []
    for index, item in enumerate(columns):
        match = _SELECT_ITEM.fullmatch(item)
        if match is None:
            continue
        function, column = (match.group(1) or "").lower(), match.group(2)
        if function == "count" or (function in ("", "sum", "min", "max") and column in _INTEGER_COLUMNS):
            found.append(index)
    return found


def _checked_rows(query: str) -> Any:
    """A decoder of ``query``'s rows that refuses rows no catalog sends: a width other than the select
    list's (GenQuery1 answers one value per selected column) or text in a number column."""
    columns = select_columns(query)
    names = columns or []
    numbers = _integer_at(names)

    def decode(data: dict[str, Any]) -> list[list[str]]:
        found = rows(data)
        for row in found:
            if columns is not None and len(row) != len(columns):
                raise ReplyShapeError(f"a row of {len(row)} values answers a query of {len(columns)} columns")
            for index in numbers:
                if _INTEGER.fullmatch(row[index]) is None:
                    raise ReplyShapeError(f"the value of {names[index]!r} is not an integer")
        return found

    return decode


def genquery1_page(
    query: str,
    *,
    offset: int,
    count: int,
    case_sensitive: bool = True,
    distinct: bool = True,
    zone: str | None = None,
) -> Operation[list[list[str]]]:
    """GET query execute_genquery: one page of at most ``count`` rows starting at ``offset``."""
    fields: list[tuple[str, str | bytes]] = [
        ("op", "execute_genquery"),
        ("query", query),
        ("offset", str(offset)),
        ("count", str(count)),
    ]
    if not case_sensitive:
        fields.append(("case-sensitive", "0"))
    if not distinct:
        fields.append(("distinct", "0"))
    if zone:
        fields.append(("zone", zone))
    check_query_value(query, name="query", operation="query.genquery")
    return Operation(
        name="query.genquery",
        method="GET",
        endpoint="query",
        fields=tuple(fields),
        decode=_checked_rows(query),
    )


def genquery2(query: str, *, zone: str | None = None, sql_only: bool = False) -> Operation[Any]:
    """GET query execute_genquery (parser=genquery2): rows, or the generated SQL with ``sql_only``."""
    check_query_value(query, name="query", operation="query.genquery2")
    fields: list[tuple[str, str | bytes]] = [
        ("op", "execute_genquery"),
        ("parser", "genquery2"),
        ("query", query),
    ]
    if zone:
        fields.append(("zone", zone))
    if sql_only:
        fields.append(("sql-only", "1"))

    def decode(data: dict[str, Any]) -> Any:
        return text(data, "sql") if sql_only else _rows(data)

    return Operation(
        name="query.genquery2", method="GET", endpoint="query", fields=tuple(fields), decode=decode
    )


#: The largest count ``std::stoi`` reads (a larger one fails the request after the ticket exists).
_INT32_MAX = 2**31 - 1
#: The longest ticket lifetime in seconds: the server adds it to ``system_clock::now()``, 64-bit nanoseconds
#: in libstdc++ (tickets/src/main.cpp:243-246 at 0.7.0), which overflow past 2^63 ns (year 2262); the bound
#: keeps room for clocks up to 2^32 s (year 2106) and is about 156 years.
MAX_TICKET_SECONDS = (2**63 - 1) // 10**9 - 2**32


def _csv(values: Iterable[str], what: str) -> str | None:
    items = list(values)
    for item in items:
        if "," in item or not item:
            raise IrodsUsageError(f"ticket {what} entries must be non-empty and contain no comma: {item!r}")
    return ",".join(items) or None


def remote_ticket_refusal(path: str, zone: str) -> IrodsUsageError:
    """The error for a ticket on ``path`` in the federated zone ``zone``: the HTTP API's ``create_ticket``
    reaches rsTicketAdmin, which writes the ticket in the LOCAL zone's catalog (getAndConnRcatHost with no
    zone hint, irods 4.3.4 rsTicketAdmin.cpp:14), where chlModTicket finds no such path and answers
    CAT_UNKNOWN_COLLECTION (db_plugin.cpp:14547-14562): a "not found" for an object that exists."""
    return IrodsUsageError(
        f"a ticket on a path of zone {zone!r} cannot be created through this server: iRODS creates tickets "
        "in the local zone's catalog, which does not hold the path; create it with a client of that zone",
        operation="tickets.create",
        path=path,
    )


def ticket_create(
    path: str,
    *,
    ticket_type: TicketType = TicketType.READ,
    use_count: int | None = None,
    write_data_object_count: int | None = None,
    write_byte_count: int | None = None,
    seconds_until_expiration: int | None = None,
    users: Iterable[str] = (),
    groups: Iterable[str] = (),
    hosts: Iterable[str] = (),
) -> Operation[str]:
    """POST tickets create → the ticket string."""
    validate_path(path, operation="tickets.create")
    # The server creates the ticket, then reads each count with std::stoi and the expiry with std::stoll,
    # a failure being HTTP 500 with the new ticket left behind, unknown to the caller
    # (tickets/src/main.cpp:222-253 at 0.7.0): anything those would refuse or misread is refused here.
    for name, count, low, high in (
        ("use_count", use_count, 0, _INT32_MAX),
        ("write_data_object_count", write_data_object_count, 0, _INT32_MAX),
        ("write_byte_count", write_byte_count, 0, _INT32_MAX),
        ("expiry in seconds", seconds_until_expiration, 1, MAX_TICKET_SECONDS),
    ):
        if count is not None and (
            isinstance(count, bool) or not isinstance(count, int) or not low <= count <= high
        ):
            raise IrodsUsageError(
                f"a ticket's {name} must be an integer from {low} to {high}, got {count!r}",
                operation="tickets.create",
                path=path,
            )
    optional = {
        "use-count": use_count,
        "write-data-object-count": write_data_object_count,
        "write-byte-count": write_byte_count,
        "seconds-until-expiration": seconds_until_expiration,
        "users": _csv(users, "users"),
        "groups": _csv(groups, "groups"),
        "hosts": _csv(hosts, "hosts"),
    }
    fields: tuple[tuple[str, str | bytes], ...] = (
        ("op", "create"),
        ("lpath", path),
        ("type", ticket_type.value),
        *((k, str(v)) for k, v in optional.items() if v is not None),
    )

    def decode(data: dict[str, Any]) -> str:
        return text(data, "ticket", empty=False)

    return Operation(
        name="tickets.create",
        method="POST",
        endpoint="tickets",
        fields=fields,
        path=path,
        idempotent=False,
        decode=decode,
    )


def ticket_remove(ticket: str) -> Operation[None]:
    """POST tickets remove."""

    def decode(data: dict[str, Any]) -> None:
        return None

    return Operation(
        name="tickets.remove",
        method="POST",
        endpoint="tickets",
        fields=(("op", "remove"), ("name", ticket)),
        idempotent=False,
        decode=decode,
    )
