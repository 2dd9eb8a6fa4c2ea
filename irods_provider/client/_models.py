"""Small immutable result types returned by the client's API groups."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AVU",
    "ChecksumReport",
    "CollectionStat",
    "DataObjectStat",
    "Entry",
    "EntryKind",
    "Kinds",
    "MetadataOperation",
    "Permission",
    "PermissionOperation",
    "Replica",
    "ServerLimits",
    "TicketInfo",
    "TicketType",
]


class EntryKind(enum.Enum):
    """What a logical path names."""

    COLLECTION = "collection"
    DATA_OBJECT = "data_object"


class Kinds(enum.Enum):
    """Which kinds of entries a listing yields."""

    COLLECTIONS = "collections"
    DATA_OBJECTS = "data_objects"
    BOTH = "both"


class TicketType(enum.Enum):
    """Access granted by a ticket."""

    READ = "read"
    WRITE = "write"


@dataclass(frozen=True, slots=True)
class TicketInfo:
    """A ticket as the catalog lists it (GenQuery ``TICKET_*``); ``string`` is a bearer secret.

    Limits of 0 mean "unlimited"; ``expires_at`` is None for a ticket that never expires. Times are epoch
    seconds of the server's clock.
    """

    string: str = field(repr=False)
    type: TicketType
    path: str
    owner: str
    owner_zone: str
    created_at: int
    expires_at: int | None
    use_count: int
    write_data_object_count: int
    write_byte_count: int
    users: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    hosts: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Permission:
    """One access-control entry: who (user or group, with zone and type) holds which permission."""

    name: str
    zone: str
    type: str
    perm: str


@dataclass(frozen=True, slots=True)
class CollectionStat:
    """The ``stat`` of a collection."""

    path: str
    inheritance_enabled: bool
    permissions: tuple[Permission, ...]
    registered: bool
    modified_at: int


@dataclass(frozen=True, slots=True)
class DataObjectStat:
    """The ``stat`` of a data object (size, checksum and mtime of its newest good replica)."""

    path: str
    size: int
    checksum: str | None
    modified_at: int
    permissions: tuple[Permission, ...]


#: ``DATA_REPL_STATUS`` values of a replica while a write holds its object (irods ``objInfo.h``:
#: INTERMEDIATE_REPLICA, READ_LOCKED, WRITE_LOCKED; 0 is stale, 1 good).
LOCKED_STATUSES = frozenset({"2", "3", "4"})


@dataclass(frozen=True, slots=True)
class Replica:
    """One replica of a data object as the catalog lists it (GenQuery ``DATA_REPL_*``/``DATA_RESC_HIER``).

    ``resource`` is the leaf resource holding the bytes, ``root`` the resource clients target;
    ``status`` is the catalog's ``DATA_REPL_STATUS`` (``"1"`` good, ``"0"`` stale, others locked).
    """

    number: int
    hierarchy: str
    status: str
    size: int
    checksum: str | None
    modified_at: int

    @property
    def resource(self) -> str:
        """The leaf resource (last element of the hierarchy)."""
        return self.hierarchy.rsplit(";", 1)[-1]

    @property
    def root(self) -> str:
        """The root resource (first element of the hierarchy), the name writes and reads target."""
        return self.hierarchy.split(";", 1)[0]

    @property
    def good(self) -> bool:
        """True when the catalog marks the replica good (up to date)."""
        return self.status == "1"

    @property
    def locked(self) -> bool:
        """True while a write holds the object: this replica intermediate (2, being written) or locked
        (3 read-locked, 4 write-locked: a sibling of one being written)."""
        return self.status in LOCKED_STATUSES


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry of a listing; ``size``/``modified_at``/``checksum`` are filled when known.

    ``replicas`` lists every replica (by number) when the listing was asked ``with_stat``.
    """

    path: str
    kind: EntryKind
    size: int | None = None
    modified_at: int | None = None
    checksum: str | None = None
    replicas: tuple[Replica, ...] = ()

    @property
    def name(self) -> str:
        """The last path component."""
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True, order=True)
class AVU:
    """A metadata triple; ``units`` is ``""`` when absent."""

    attribute: str
    value: str
    units: str = ""


@dataclass(frozen=True, slots=True)
class MetadataOperation:
    """One step of an atomic ``modify_metadata`` call: ``add`` or ``remove`` an AVU."""

    operation: str
    avu: AVU

    def to_json(self) -> dict[str, str]:
        """The JSON object the server expects."""
        data = {"operation": self.operation, "attribute": self.avu.attribute, "value": self.avu.value}
        if self.avu.units:
            data["units"] = self.avu.units
        return data


@dataclass(frozen=True, slots=True)
class PermissionOperation:
    """One step of an atomic ``modify_permissions`` call.

    ``acl`` is any iRODS 4.3 access level (``read_metadata`` … ``modify_object``, ``delete_object``,
    ``own``), the ``read``/``write`` aliases, or ``null`` to remove the entry.
    """

    entity_name: str
    acl: str

    def to_json(self) -> dict[str, str]:
        """The JSON object the server expects."""
        return {"entity_name": self.entity_name, "acl": self.acl}


@dataclass(frozen=True, slots=True)
class ChecksumReport:
    """Outcome of ``verify_checksum``: ``ok`` is False when the server reported a warning or an error;
    ``results`` holds every finding, the ``info`` note of skipped stale replicas too."""

    ok: bool
    results: tuple[dict[str, Any], ...] = ()


_DEFAULT_BODY = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """Server limits from ``/info`` (defaults are the 0.7.0 server defaults when a key is absent)."""

    max_request_body_bytes: int = _DEFAULT_BODY
    max_streams_per_handle: int = 3
    max_rows_per_query: int = 15
    api_version: str = "0.7.0"
    irods_zone: str | None = None
    openid_connect_enabled: bool = False
    irods_server_version: str | None = None
    #: Data bytes one write request may carry (the body limit minus multipart framing before 0.6.0).
    max_write_payload_bytes: int = _DEFAULT_BODY
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
