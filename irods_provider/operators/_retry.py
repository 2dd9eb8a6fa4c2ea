"""What a retried operator may take as its earlier try's work: a ticket or a collection that try made.

A try can die after the server acted and before the task reported (a worker killed, a reply lost). The
retry then finds the earlier try's result in the catalog, told apart from anybody else's by who made it, when
(no earlier than the DAG run started, less :data:`CLOCK_SKEW`) and, for a ticket, with which settings; a
ticket that has expired since (a retry after its lifetime, a task cleared in a long-running DAG run) is not
returned: a new one is made.
"""

from __future__ import annotations

import datetime
import math
import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from irods_provider.client import TicketInfo, TicketType
from irods_provider.client._genquery import match_condition

if TYPE_CHECKING:
    from airflow.sdk import Context

    from irods_provider.client import IrodsSession

__all__ = ["CLOCK_SKEW", "WantedTicket", "earlier_collection", "earlier_ticket", "retry_window_start"]

#: Seconds the catalog's clock (the iRODS server's) may lag Airflow's; the window opens that much earlier.
CLOCK_SKEW = 300
#: Seconds between a ticket's creation and its expiry being set in the same create request.
EXPIRY_SLACK = 60


def retry_window_start(context: Context | dict[str, Any]) -> float | None:
    """Epoch seconds no later than the first try started: the DAG run's start (None when unknown)."""
    dag_run = context.get("dag_run")
    start = getattr(dag_run, "start_date", None)
    if not isinstance(start, datetime.datetime):
        return None
    if start.tzinfo is None:
        start = start.replace(tzinfo=datetime.UTC)
    return start.timestamp() - CLOCK_SKEW


@dataclass(frozen=True)
class WantedTicket:
    """The settings an operator asks a ticket for (limits of 0: unlimited)."""

    type: TicketType
    use_count: int
    write_data_object_count: int
    write_byte_count: int
    expires_in: float | None
    users: frozenset[str]
    groups: frozenset[str]
    hosts: frozenset[str]

    def matches(self, ticket: TicketInfo) -> bool:
        """Whether ``ticket`` has exactly these settings (its expiry: this lifetime after its creation)."""
        if ticket.expires_at is None or self.expires_in is None:
            same_expiry = ticket.expires_at is None and self.expires_in is None
        else:
            lifetime = ticket.expires_at - ticket.created_at
            same_expiry = abs(lifetime - math.ceil(self.expires_in)) <= EXPIRY_SLACK
        return (
            same_expiry
            and (
                ticket.type,
                ticket.use_count,
                ticket.write_data_object_count,
                ticket.write_byte_count,
                ticket.users,
                ticket.groups,
            )
            == (
                self.type,
                self.use_count,
                self.write_data_object_count,
                self.write_byte_count,
                self.users,
                self.groups,
            )
            and _same_hosts(ticket.hosts, self.hosts)
        )


def _same_hosts(stored: frozenset[str], wanted: frozenset[str]) -> bool:
    """Whether a ticket's ``stored`` hosts are the ``wanted`` ones. iRODS stores a host as the dotted IPv4
    address the server resolved its name to (convertHostToIp: irods 4.3.2 db_plugin.cpp:1956-1965,
    :14167-14180), so each wanted name must take its own stored address, one of those it resolves to here."""
    if stored == wanted:
        return True
    left = set(stored)
    for host in sorted(wanted):
        taken = sorted(({host} | _ipv4_addresses(host)) & left)
        if not taken:
            return False
        left.discard(taken[0])
    return not left


def _ipv4_addresses(host: str) -> set[str]:
    """The IPv4 addresses ``host`` resolves to (none when it does not)."""
    try:
        return {str(info[4][0]) for info in socket.getaddrinfo(host, None, socket.AF_INET)}
    except (OSError, UnicodeError):
        return set()


def _same_user(owner: str, user: str | None) -> bool:
    """``owner`` (a catalog owner name) is ``user`` (a connection's login, maybe ``name#zone``)."""
    return user is not None and owner == user.partition("#")[0]


def earlier_ticket(
    session: IrodsSession, path: str, wanted: WantedTicket, *, user: str | None, since: float
) -> str | None:
    """The newest unexpired ticket on ``path`` with exactly ``wanted``'s settings, by ``user``, created since
    ``since``.

    With no ``user`` known (a static token, client credentials) the owner is not compared: the server lists
    a rodsuser its own tickets only, a rodsadmin everyone's.
    """
    now = time.time()
    found = [
        t
        for t in session.tickets.on_path(path)
        if t.created_at >= since
        and (t.expires_at is None or t.expires_at > now)
        and (user is None or _same_user(t.owner, user))
        and wanted.matches(t)
    ]
    return max(found, key=lambda t: t.created_at).string if found else None


def earlier_collection(session: IrodsSession, path: str, *, user: str | None, since: float) -> bool:
    """Whether the collection at ``path`` was created by ``user`` at or after ``since`` (catalog columns
    COLL_OWNER_NAME and COLL_CREATE_TIME, asked of the zone holding ``path``)."""
    if user is None:
        return False
    condition, _ = match_condition("COLL_NAME", path)
    query = f"select COLL_NAME, COLL_OWNER_NAME, COLL_CREATE_TIME where {condition}"
    for name, owner, created in session.query.genquery(query, zone=session.query.zone_for(path)):
        if name == path:
            return _same_user(owner, user) and int(created or 0) >= since
    return False
