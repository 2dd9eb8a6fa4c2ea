"""Tickets: creation with limits and restrictions, removal, and enabling on a request."""

from __future__ import annotations

import secrets
import socket
import string
from dataclasses import dataclass, field

from irods_provider.testing._catalog import OWN, ModelBase, normalize, now, server_time
from irods_provider.testing._errors import IrodsModelError

_ALPHABET = string.ascii_letters + string.digits


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
        """Validate and count one use of a ticket for the current request (errors → HTTP 500)."""
        with self.lock:
            t = self.tickets.get(name)
            if t is None:
                raise IrodsModelError("CAT_TICKET_INVALID", "Invalid ticket.")
            if t.expiry and server_time() > t.expiry:
                raise IrodsModelError("CAT_TICKET_EXPIRED", "Ticket expired.")
            if t.uses_limit and t.uses_count >= t.uses_limit:
                raise IrodsModelError("CAT_TICKET_USES_EXCEEDED", "Ticket uses exceeded.")
            if t.users and caller not in t.users:
                raise IrodsModelError("CAT_TICKET_USER_EXCLUDED", "User not allowed by the ticket.")
            u = self.users.get(caller)
            if t.groups and not (u and u.groups & set(t.groups)):
                raise IrodsModelError("CAT_TICKET_GROUP_EXCLUDED", "Group not allowed by the ticket.")
            t.uses_count += 1

    def ticket_grants(self, caller: str, ticket: str | None, path: str, *, write: bool = False) -> bool:
        """Whether the (already enabled) ticket covers ``path`` for reading or writing."""
        if ticket is None:
            return False
        t = self.tickets.get(ticket)
        if t is None or (write and t.type != "write"):
            return False
        return path == t.path or (t.object_type == "collection" and path.startswith(t.path + "/"))

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
