"""Tickets: creation with limits and restrictions, removal, and enabling on a request."""

from __future__ import annotations

import secrets
import socket
import string
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from irods_provider.testing._catalog import OWN, ModelBase, normalize, now, server_time
from irods_provider.testing._errors import IrodsModelError

_ALPHABET = string.ascii_letters + string.digits
# The pooled connection (its index) the current request holds; None outside a request (a fresh agent).
_AGENT: ContextVar[int | None] = ContextVar("irods_emulator_agent", default=None)


@dataclass
class Ticket:
    """A read or write ticket on a collection or data object."""

    id: int
    string: str
    type: str
    owner: str
    path: str
    object_type: str
    uses_limit: int = 0
    uses_count: int = 0
    write_file_limit: int = 0
    write_file_count: int = 0
    write_byte_limit: int = 0
    write_byte_count: int = 0
    expiry: int = 0
    users: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    create_time: int = field(default_factory=now)


class TicketsMixin(ModelBase):
    """create/remove tickets, enable one for a request, and grant access through it."""

    tickets: dict[str, Ticket]
    # Per pooled connection of the HTTP API: the data id its agent counted a ticket use for last
    # (static previousDataId2, irods 4.3.4 mid_level_routines.cpp:1431, 1612, 1646), and which are taken.
    _agent_last: list[int]
    _agents_busy: set[int]
    _agent_retrievals: list[int]

    @contextmanager
    def pooled_connection(self) -> Iterator[int]:
        """Hold one pooled connection for a request: the first free one, as connection_pool::get_connection
        does (irods 4.3.4 lib/core/src/connection_pool.cpp:390-408). The server waits when all are taken;
        the emulator cannot block its event loop, so it shares the first one then. A connection taken
        ``connection_pool_max_retrievals`` times is reconnected first: a new agent, nothing counted."""
        with self.lock:
            free = [i for i in range(len(self._agent_last)) if i not in self._agents_busy]
            index = free[0] if free else 0
            self._agents_busy.add(index)
            limit = self.config.connection_pool_max_retrievals
            if limit > 0 and self._agent_retrievals[index] >= limit:
                self._agent_last[index], self._agent_retrievals[index] = 0, 0
            self._agent_retrievals[index] += 1
        token = _AGENT.set(index)
        try:
            yield index
        finally:
            _AGENT.reset(token)
            with self.lock:
                self._agents_busy.discard(index)

    def _count_ticket_use(self, t: Ticket, data_id: int) -> bool:
        """checkObjIdByTicket's use count (irods 4.3.4 mid_level_routines.cpp:1604-1646; 4.3.2 :1600-1606):
        only with a limit; skipped when this agent counted this data id last; refused at count >= limit
        (4.3.4) inside that skip, at count > limit before it up to 4.3.3. False when refused."""
        if t.uses_limit <= 0:
            return True
        agent = _AGENT.get()
        same = agent is not None and self._agent_last[agent] == data_id
        if self.config.irods_release < (4, 3, 4):
            if t.uses_count > t.uses_limit:
                return False
        elif not same and t.uses_count >= t.uses_limit:
            return False
        if not same:
            t.uses_count += 1
        if agent is not None:
            self._agent_last[agent] = data_id
        return True

    def create_ticket(
        self,
        caller: str,
        path: str,
        *,
        ticket_type: str = "read",
        use_count: int = 0,
        write_data_object_count: int = 0,
        write_byte_count: int = 0,
        seconds_until_expiration: int | None = None,
        users: list[str] | None = None,
        groups: list[str] | None = None,
        hosts: list[str] | None = None,
    ) -> str:
        """Create a ticket, then add its allowed users, groups and hosts one by one, as the server does.

        The catalog asks for ``own`` on the target with no rodsadmin bypass, whatever the ticket type
        (db_mod_ticket_op "create", server/db_plugin/src/db_plugin.cpp:14531-14563 at irods 4.3.4): the data
        object check fails for anyone who does not own it, the collection check then answers for the same
        path, so a data object without ``own`` or a missing path is CAT_UNKNOWN_COLLECTION (cmlCheckDir,
        server/icat/src/mid_level_routines.cpp:843-912) and a collection without ``own`` is
        CAT_NO_ACCESS_PERMISSION. Users, groups and then hosts are added after the ticket exists
        (endpoints/tickets/src/main.cpp:289-314 at HTTP API 0.7.0): an unknown one fails the request with
        CAT_INVALID_USER / CAT_INVALID_GROUP (icatGetTicketUserId/GroupId, db_plugin.cpp:1822-1912) and
        leaves the ticket in the catalog with what was added before it. A host is stored as the dotted IPv4
        address its name resolves to, CAT_HOSTNAME_INVALID when it does not (convertHostToIp,
        db_plugin.cpp:1956-1965 and :14167-14180 at irods 4.3.2).
        """
        with self.lock:
            path = normalize(path)
            object_type = self._ticket_target(caller, path)
            text = "".join(secrets.choice(_ALPHABET) for _ in range(15))
            expiry = now() + seconds_until_expiration if seconds_until_expiration else 0
            ticket = Ticket(
                id=self.new_id(),
                string=text,
                type=ticket_type,
                owner=caller,
                path=path,
                object_type=object_type,
                uses_limit=use_count,
                write_file_limit=write_data_object_count,
                write_byte_limit=write_byte_count,
                expiry=expiry,
            )
            self.tickets[text] = ticket
            for u in users or []:
                found = self.users.get(u.split("#", 1)[0])
                if found is None or found.type == "rodsgroup":
                    raise IrodsModelError("CAT_INVALID_USER", "icatGetTicketUserId failed")
                ticket.users.append(u.split("#", 1)[0])
            for g in groups or []:
                found = self.users.get(g)
                if found is None or found.type != "rodsgroup":
                    raise IrodsModelError("CAT_INVALID_GROUP", "icatGetTicketGroupId failed")
                ticket.groups.append(g)
            for h in hosts or []:
                ticket.hosts.append(_ipv4_address(h))
            return text

    def _ticket_target(self, caller: str, path: str) -> str:
        """``"data"`` or ``"collection"`` when the caller owns ``path`` (directly or through a group).

        Tickets live in the local catalog (rsTicketAdmin connects to the local zone's provider, no zone
        hint: server/api/src/rsTicketAdmin.cpp at irods 4.3.4), which holds no federated zone's paths.
        """
        if self.zone_of(path) != self.zone:
            raise IrodsModelError("CAT_UNKNOWN_COLLECTION", "cmlCheckDir failed")
        obj = self.data_objects.get(path)
        if obj is not None and self.access_level(caller, obj.acl) >= OWN:
            return "data"
        coll = self.collections.get(path)
        if coll is None:
            raise IrodsModelError("CAT_UNKNOWN_COLLECTION", "cmlCheckDir failed")
        if self.access_level(caller, coll.acl) < OWN:
            raise IrodsModelError("CAT_NO_ACCESS_PERMISSION", "cmlCheckDir failed")
        return "collection"

    def remove_ticket(self, caller: str, name: str) -> None:
        """Delete a ticket (its owner or a rodsadmin)."""
        with self.lock:
            t = self.tickets.get(name)
            if t is None or (t.owner != caller and not self.is_admin(caller)):
                raise IrodsModelError("CAT_TICKET_INVALID", "Invalid ticket.")
            del self.tickets[name]

    def enable_ticket(self, caller: str, name: str) -> None:
        """Validate a ticket for the current request (errors → HTTP 500). Enabling counts nothing
        (irods 4.3.2 db_plugin.cpp:14519-14538): a use is counted at the open (:meth:`ticket_grants`)."""
        with self.lock:
            t = self.tickets.get(name)
            if t is None:
                raise IrodsModelError("CAT_TICKET_INVALID", "Invalid ticket.")
            if t.expiry and server_time() > t.expiry:
                raise IrodsModelError("CAT_TICKET_EXPIRED", "Ticket expired.")
            if t.users and caller not in t.users:
                raise IrodsModelError("CAT_TICKET_USER_EXCLUDED", "User not allowed by the ticket.")
            u = self.users.get(caller)
            if t.groups and not (u and u.groups & set(t.groups)):
                raise IrodsModelError("CAT_TICKET_GROUP_EXCLUDED", "Group not allowed by the ticket.")

    def ticket_grants(self, caller: str, ticket: str | None, path: str, *, write: bool = False) -> bool:
        """Whether the (already enabled) ticket covers ``path`` for reading or writing; meeting a data
        object through it counts a use, as the access-checked lookup of the open does."""
        if ticket is None:
            return False
        t = self.tickets.get(ticket)
        if t is None or (write and t.type != "write"):
            return False
        if not (path == t.path or (t.object_type == "collection" and path.startswith(t.path + "/"))):
            return False
        obj = self.data_objects.get(path)
        return obj is None or self._count_ticket_use(t, obj.id)

    def visible_tickets(self, caller: str) -> list[Ticket]:
        """Tickets a user may see in queries: their own (all for rodsadmins)."""
        with self.lock:
            admin = self.is_admin(caller)
            return [t for t in self.tickets.values() if admin or t.owner == caller]


def _ipv4_address(host: str) -> str:
    """The dotted IPv4 address the server stores for a ticket's allowed ``host`` (its first one)."""
    try:
        return str(socket.getaddrinfo(host, None, socket.AF_INET)[0][4][0])
    except (OSError, UnicodeError, IndexError) as exc:
        raise IrodsModelError("CAT_HOSTNAME_INVALID", host) from exc
