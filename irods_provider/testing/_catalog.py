"""Catalog entities and the shared base of the state model: lookups, ACL checks, visibility."""

from __future__ import annotations

import contextvars
import posixpath
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from irods_provider.testing._config import EmulatorConfig
from irods_provider.testing._errors import IrodsModelError
from irods_provider.testing._hashing import file_checksum

# iRODS 4.3 permission names, weakest first; the index is the strength.
PERMISSIONS: tuple[str, ...] = (
    "null",
    "read_metadata",
    "read_object",
    "create_metadata",
    "modify_metadata",
    "delete_metadata",
    "create_object",
    "modify_object",
    "delete_object",
    "own",
)
PERMISSION_ALIASES = {"read": "read_object", "write": "modify_object"}
READ = PERMISSIONS.index("read_object")
WRITE = PERMISSIONS.index("modify_object")
OWN = PERMISSIONS.index("own")
SEE = PERMISSIONS.index("read_metadata")


#: How far the server's clock is from this machine's, in seconds (``EmulatorConfig.clock_offset_seconds``),
#: set by the HTTP layer for each request it serves: every time the catalog stamps comes from it.
CLOCK_OFFSET: contextvars.ContextVar[float] = contextvars.ContextVar("emulator_clock_offset", default=0.0)


def server_time() -> float:
    """The server's clock, epoch seconds: this machine's shifted by the request's ``CLOCK_OFFSET``."""
    return time.time() + CLOCK_OFFSET.get()


def now() -> int:
    """Current time (the server's clock) in whole epoch seconds, as the catalog stores it."""
    return int(server_time())


def now_millis() -> tuple[int, int]:
    """Current time (the server's clock) as (epoch seconds, milliseconds into that second) from one clock
    reading, as the catalog stamps a resource's modify_ts and modify_ts_millis (irods 4.3.4
    db_plugin.cpp:249-258)."""
    total = (time.time_ns() + int(CLOCK_OFFSET.get() * 1e9)) // 1_000_000
    return total // 1000, total % 1000


def canonical_permission(name: str) -> str | None:
    """Map an input permission name (incl. the ``read``/``write`` aliases) to its 4.3 name."""
    name = PERMISSION_ALIASES.get(name, name)
    return name if name in PERMISSIONS else None


def normalize(path: str) -> str:
    """Collapse duplicate and trailing slashes of a logical path."""
    if not path.startswith("/"):
        return path
    norm = posixpath.normpath(path)
    return "/" if norm in ("/", "//") else norm


@dataclass
class User:
    """A user or group (type ``rodsgroup``)."""

    id: int
    name: str
    type: str
    zone: str
    password: str = ""
    create_time: int = field(default_factory=now)
    modify_time: int = field(default_factory=now)
    groups: set[str] = field(default_factory=set)
    avus: list[Avu] = field(default_factory=list)


@dataclass
class Avu:
    """One metadata triple attached to a collection, data object, user, group or resource."""

    id: int
    attribute: str
    value: str
    units: str
    create_time: int = field(default_factory=now)
    modify_time: int = field(default_factory=now)


@dataclass
class Collection:
    """A collection: owner, ACL (entity name → permission, insertion ordered), inheritance, AVUs."""

    id: int
    path: str
    owner: str
    zone: str
    acl: dict[str, str] = field(default_factory=dict)
    inheritance: bool = False
    create_time: int = field(default_factory=now)
    modify_time: int = field(default_factory=now)
    avus: list[Avu] = field(default_factory=list)


@dataclass
class Replica:
    """One replica; its bytes live in ``spool_file``."""

    number: int
    resource: str
    spool_file: Path
    physical_path: str
    size: int = 0
    checksum: str = ""
    status: str = "1"
    data_status: str = ""
    """``DATA_STATUS``: while the object is locked, ``{"original_status":"1"}`` (see ``_locks``)."""
    create_time: int = field(default_factory=now)
    modify_time: int = field(default_factory=now)
    access_time: int = field(default_factory=now)
    # What the HTTP API's writes register (irods 4.3.4 and 5.0.2 alike): data_version is bound from a zeroed
    # DataObjInfo (""), data_mode is the transport's createMode 0600 ("384": default_transport.hpp:348,
    # rsDataObjOpen.cpp:253), data_expiry_ts "00000000000" (db_plugin.cpp:2847 at 4.3.4, :2639 at 5.0.2).
    version: str = ""
    mode: str = "384"
    expiry: str = "00000000000"


@dataclass
class DataObject:
    """A data object with its replicas, ACL and AVUs."""

    id: int
    path: str
    owner: str
    zone: str
    replicas: list[Replica] = field(default_factory=list)
    acl: dict[str, str] = field(default_factory=dict)
    avus: list[Avu] = field(default_factory=list)
    data_type: str = "generic"
    comments: str = ""
    locked_by: str | None = None

    def good_replica(self) -> Replica | None:
        """The good replica with the latest modify time (what stat reports)."""
        good = [r for r in self.replicas if r.status == "1"]
        if not good:
            return None
        return max(good, key=lambda r: (r.modify_time, -r.number))


@dataclass
class Resource:
    """A storage resource of one zone (``demoResc`` and the configured ones are seeded in every zone)."""

    id: int
    name: str
    type: str = "unixfilesystem"
    host: str = "localhost"
    vault_path: str = "/var/lib/irods/Vault"
    create_time: int = field(default_factory=now)
    modify_time: int = field(default_factory=now)
    # modify_ts_millis (4.3.1+): '000' on rows from before the column (the installer's demoResc gets the
    # default when the schema update adds it: database_upgrade.py:162-166), else the stamp of each change.
    modify_millis: int = 0
    parent: str | None = None
    parent_context: str = ""
    context: str = ""
    class_name: str = "cache"  # resc_class_name: chlRegResc and the installer's demoResc write "cache"
    status: str = ""
    comments: str = ""
    information: str = ""
    free_space: str = ""
    free_space_time: int = 0  # when free_space was last set (0: never, the column is empty)
    avus: list[Avu] = field(default_factory=list)


@dataclass
class RemoteZone:
    """A zone's R_ZONE_MAIN row: the local zone's, or a remote zone a rodsadmin added or federated."""

    id: int
    name: str
    connection_info: str = ""
    comment: str = ""
    create_time: int = field(default_factory=now)
    modify_time: int = field(default_factory=now)


class ModelBase:
    """State shared by the model's mixins, plus the lookups and ACL checks they all use."""

    config: EmulatorConfig
    spool: Path
    lock: threading.RLock
    users: dict[str, User]
    collections: dict[str, Collection]
    data_objects: dict[str, DataObject]
    resources: dict[str, Resource]
    """The local zone's resources (its catalog's R_RESC_MAIN)."""
    zone_resources: dict[str, dict[str, Resource]]
    """Each federated zone's own resources: a zone's catalog knows only its own."""
    zone_users: dict[str, dict[str, User]]
    """Each federated zone's own catalog of users and groups, keyed ``name#zone``."""
    local_zone_row: RemoteZone
    """The local zone's own R_ZONE_MAIN row (its comment and connection info can change)."""
    remote_zones: dict[str, RemoteZone]
    """The remote zones in the local catalog's R_ZONE_MAIN, federated ones included."""
    _next_id: int

    def new_id(self) -> int:
        """Next catalog id (shared by users, collections, data objects, AVUs, tickets)."""
        self._next_id += 1
        return self._next_id

    @property
    def zone(self) -> str:
        """The local zone name."""
        return self.config.zone

    # ---- zones: the local one plus federated ones served by this process --------------------

    def zone_of(self, path: str) -> str:
        """The zone whose catalog holds ``path`` (the first component when it names a federated zone)."""
        parts = path.split("/", 2)
        if len(parts) > 1 and parts[1] in self.zone_users:
            return parts[1]
        return self.zone

    def identity(self, username: str, zone: str) -> str:
        """How a local user is known in ``zone``: by name locally, as ``name#localZone`` in a remote zone."""
        if zone == self.zone or not username or "#" in username:
            return username
        return f"{username}#{self.zone}"

    def refuse_cross_zone_rename(self, caller: str, old: str, new: str) -> None:
        """A rename into another zone: irods::filesystem::rename stats the destination's parent first (a
        routed stat; OBJ_PATH_DOES_NOT_EXIST when it is missing, lib/filesystem/src/filesystem.cpp:1049-1050
        at 4.3.4), then rsDataObjRename refuses the move (server/api/src/rsDataObjRename.cpp:365-366; a
        remote source is forwarded to its zone first, :339-347, and refused there alike)."""
        there = self.zone_of(new)
        if self.zone_of(old) == there:
            return
        parent = posixpath.dirname(new)
        if self.visible_coll(self.identity(caller.partition("#")[0], there), parent) is None:
            raise IrodsModelError("OBJ_PATH_DOES_NOT_EXIST", f"[{parent}] does not exist.")
        raise IrodsModelError("SYS_CROSS_ZONE_MV_NOT_SUPPORTED", "Cross-zone rename is not supported.")

    def find_user(self, name: str) -> User | None:
        """A user or group by key: bare or ``name#localZone`` locally, ``name#zone`` in a remote catalog."""
        bare, _, zone = name.partition("#")
        if not zone or zone == self.zone:
            return self.users.get(bare)
        for catalog in self.zone_users.values():
            if (found := catalog.get(name)) is not None:
                return found
        return None

    def acl_key(self, entity: str, path: str) -> str | None:
        """The ACL key naming ``entity`` on an object at ``path`` (None when that zone does not know it)."""
        zone = self.zone_of(path)
        name, _, entity_zone = entity.partition("#")
        if zone == self.zone:
            return name if name in self.users else None
        key = f"{name}#{entity_zone or zone}"
        return key if key in self.zone_users[zone] else None

    def hash_scheme_of(self, leaf: str, *, zone: str | None = None) -> str:
        """The ``default_hash_scheme`` of the server holding ``leaf`` in ``zone`` (default: the local zone):
        the scheme a replica there is hashed in (rsFileChksum runs on the leaf's host, 4.3.4 :46-57)."""
        cfg = self.config
        if zone is not None and zone != self.zone:
            return cfg.zone_hash_schemes.get(zone, cfg.hash_scheme)
        table, name = self.resources, leaf
        while name not in cfg.resource_hash_schemes and (res := table.get(name)) is not None and res.parent:
            name = res.parent
        return cfg.resource_hash_schemes.get(name, cfg.hash_scheme)

    def replica_checksum(self, obj: DataObject, rep: Replica) -> str:
        """A replica's checksum computed now, in the scheme of the server holding its leaf resource."""
        return self.file_checksum(
            rep.spool_file, self.hash_scheme_of(rep.resource, zone=self.zone_of(obj.path))
        )

    def file_checksum(self, path: Path, scheme: str | None = None) -> str:
        """The checksum of a spool file as a server of ``default_hash_scheme`` ``scheme`` (default: the
        zone's) formats it (see :func:`~irods_provider.testing._hashing.file_checksum`)."""
        return file_checksum(path, scheme or self.config.hash_scheme)

    def user(self, name: str) -> User:
        """The user or group by name (``name#zone`` accepted), or CAT_INVALID_USER."""
        found = self.users.get(name.split("#", 1)[0])
        if found is None:
            raise IrodsModelError("CAT_INVALID_USER", f"User [{name}] does not exist.")
        return found

    def _groups_of(self, username: str) -> set[str]:
        """Groups of a local user, or of a remote identity (``name#zone``) in the federated catalogs."""
        if "#" not in username:
            u = self.users.get(username)
            return set(u.groups) if u else set()
        return {g for c in self.zone_users.values() if username in c for g in c[username].groups}

    def is_admin(self, username: str) -> bool:
        """Whether ``username`` is a rodsadmin."""
        u = self.users.get(username)
        return u is not None and u.type == "rodsadmin"

    def access_level(self, username: str, acl: dict[str, str]) -> int:
        """Strongest permission the user holds through the ACL, directly or through a group."""
        names = {username} | self._groups_of(username)
        return max((PERMISSIONS.index(p) for n, p in acl.items() if n in names), default=0)

    def coll_level(self, username: str, path: str) -> int:
        """Permission level of the user on a collection (admins hold everything)."""
        coll = self.collections.get(path)
        if coll is None:
            return -1
        if self.is_admin(username):
            return OWN
        return self.access_level(username, coll.acl)

    def visible_coll(self, username: str, path: str, *, admin: bool = False) -> Collection | None:
        """The collection if it exists and the user may see it (strict ACLs: invisible = missing)."""
        coll = self.collections.get(path)
        if coll is None:
            return None
        if admin or self.is_admin(username) or self.access_level(username, coll.acl) >= SEE:
            return coll
        return None

    def visible_data(self, username: str, path: str, *, admin: bool = False) -> DataObject | None:
        """The data object if it exists and the user may see it."""
        obj = self.data_objects.get(path)
        if obj is None:
            return None
        if admin or self.is_admin(username) or self.access_level(username, obj.acl) >= SEE:
            return obj
        return None

    def stat_coll(self, username: str, path: str) -> Collection | None:
        """The collection as the HTTP API's ``fs::client::status`` finds it: rsObjStat's collStat GenQuery
        (irods 4.3.4 server/core/src/collection.cpp:271-306) is access-checked (general_query.cpp:1683-1689),
        so anyone but the local rodsadmin needs ``read_object`` on it; ``read_metadata`` alone hides it."""
        coll = self.collections.get(path)
        if coll is None or not (self.is_admin(username) or self.access_level(username, coll.acl) >= READ):
            return None
        return coll

    def stat_data(self, username: str, path: str) -> DataObject | None:
        """The data object as ``fs::client::status`` finds it: dataObjStat's GenQuery names COLL_NAME and
        data columns (rsObjStat.cpp:155-202 at irods 4.3.4), so both checks apply (general_query.cpp:
        1663-1689): ``read_object`` on the object and on its collection, unless the local rodsadmin asks.
        Otherwise rsObjStat answers USER_FILE_DOES_NOT_EXIST (:146-149): not a data object."""
        obj = self.data_objects.get(path)
        if obj is None or self.is_admin(username):
            return obj
        parent = self.stat_coll(username, posixpath.dirname(path))
        return obj if parent is not None and self.access_level(username, obj.acl) >= READ else None

    def data_level(self, username: str, obj: DataObject, *, admin: bool = False) -> int:
        """Permission level of the user on a data object (admin flag of a rodsadmin = own)."""
        if admin and self.is_admin(username):
            return OWN
        return self.access_level(username, obj.acl)

    def require_admin_flag(self, username: str, admin: bool) -> bool:
        """Validate an ``admin=1`` request: only rodsadmins may use it."""
        if admin and not self.is_admin(username):
            raise IrodsModelError("CAT_INSUFFICIENT_PRIVILEGE_LEVEL", "Admin flag requires rodsadmin.")
        return admin

    def inherited_acl(self, parent: Collection | None, creator: str) -> dict[str, str]:
        """ACL of a new child: the creator owns it; inheritance copies the parent's entries."""
        acl = {creator: "own"}
        if parent is not None and parent.inheritance:
            for name, perm in parent.acl.items():
                acl.setdefault(name, perm)
        return acl

    def children_data(self, coll_path: str) -> list[DataObject]:
        """Data objects directly inside a collection, name-sorted."""
        prefix = coll_path.rstrip("/") + "/"
        return sorted(
            (o for p, o in self.data_objects.items() if p.startswith(prefix) and "/" not in p[len(prefix) :]),
            key=lambda o: o.path,
        )

    def children_colls(self, coll_path: str) -> list[Collection]:
        """Collections directly inside a collection, name-sorted."""
        prefix = coll_path.rstrip("/") + "/"
        return sorted(
            (
                c
                for p, c in self.collections.items()
                if p.startswith(prefix) and p != coll_path and "/" not in p[len(prefix) :]
            ),
            key=lambda c: c.path,
        )

    def permissions_json(self, acl: dict[str, str], owner: str) -> list[dict[str, str]]:
        """The ``permissions`` array of stat: owner entry first, then the others."""
        names = sorted(acl, key=lambda n: (n != owner,))
        out = []
        for name in names:
            u = self.find_user(name)
            bare, _, qualified_zone = name.partition("#")
            out.append(
                {
                    "name": bare,
                    "zone": u.zone if u else (qualified_zone or self.zone),
                    "type": u.type if u else "rodsuser",
                    "perm": acl[name],
                }
            )
        return out

    # ---- resource hierarchy -----------------------------------------------------------------

    def resources_in(self, zone: str | None = None) -> dict[str, Resource]:
        """The resource table of ``zone``'s catalog (default: the local zone's)."""
        if zone is None or zone == self.zone:
            return self.resources
        return self.zone_resources.get(zone, {})

    def resources_for(self, path: str) -> dict[str, Resource]:
        """The resources of the zone holding ``path``: an object of zone B lives on zone B's resources."""
        return self.resources_in(self.zone_of(path))

    def root_of(self, leaf: str, *, zone: str | None = None) -> str:
        """The root resource of a (leaf) resource of ``zone`` (default: the local zone)."""
        table, name = self.resources_in(zone), leaf
        while (res := table.get(name)) is not None and res.parent is not None:
            name = res.parent
        return name

    def hierarchy(self, leaf: str, *, zone: str | None = None) -> str:
        """``root;...;leaf`` for a replica's resource in ``zone`` (default: the local zone)."""
        table, chain = self.resources_in(zone), [leaf]
        while (res := table.get(chain[0])) is not None and res.parent is not None:
            chain.insert(0, res.parent)
        return ";".join(chain)

    def leaves_for(self, root: str, *, zone: str | None = None) -> list[str]:
        """Leaves a new object lands on: every leaf under a replication resource, else the first one."""
        table = self.resources_in(zone)
        children = sorted(r.name for r in table.values() if r.parent == root)
        if not children:
            return [root]
        if table[root].type == "replication":
            return [leaf for child in children for leaf in self.leaves_for(child, zone=zone)]
        return self.leaves_for(children[0], zone=zone)

    def check_root(self, resource: str, *, zone: str | None = None) -> None:
        """A resource named by a client must exist in the zone acted in and be a root (no direct child
        access): a request about a path of zone B is served by zone B, which knows only its resources."""
        res = self.resources_in(zone).get(resource)
        if res is None:
            raise IrodsModelError("SYS_RESC_DOES_NOT_EXIST", f"Resource [{resource}] does not exist.")
        if res.parent is not None:
            raise IrodsModelError("DIRECT_CHILD_ACCESS", f"[{resource}] is not a root resource.")

    # Hooks implemented by the mixins (declared here so every mixin can call them).

    def _map_user(self, user: User) -> None:
        """Map a new local user into the federated zones (implemented by the federation mixin)."""

    def seed_resources(self, specs: tuple[str, ...], *, zone: str | None = None) -> None:
        """Create configured resources in ``zone`` (implemented by the resources mixin)."""
        raise NotImplementedError

    def _unmap_user(self, name: str) -> None:
        """Forget a removed user's federated identities (implemented by the federation mixin)."""

    def ticket_grants(self, caller: str, ticket: str | None, path: str, *, write: bool = False) -> bool:
        """Whether an enabled ticket gives ``caller`` access to ``path``."""
        return False

    def drop_data_object(self, path: str) -> None:
        """Forget a data object and unlink its spool files."""
        raise NotImplementedError

    def reference_mtime(self, caller: str, path: str) -> int:
        """The mtime of a reference collection or data object."""
        raise NotImplementedError

    def _trash_path(self, caller: str, path: str) -> str:
        raise NotImplementedError

    def stamp_parents(self, *paths: str) -> None:
        """Set the mtime of each path's parent collection (implemented by the collections mixin)."""
        raise NotImplementedError

    def open_write(
        self,
        caller: str,
        path: str,
        *,
        truncate: bool = True,
        append: bool = False,
        resource: str | None = None,
        replica_number: int | None = None,
        ticket: str | None = None,
        holder: str = "write",
    ) -> Any:
        """Open a replica for writing (implemented by the data-objects mixin)."""
        raise NotImplementedError

    def finish_write(self, target: Any) -> None:
        """Commit a written replica (implemented by the data-objects mixin)."""
        raise NotImplementedError

    def _pick_replica(
        self,
        obj: DataObject,
        resource: str | None,
        replica_number: int | None,
        *,
        stale_votes: bool = False,
    ) -> Replica:
        """The replica an operation acts on (implemented by the data-objects mixin)."""
        raise NotImplementedError

    def replicate_on_close(self, source: Replica, other: Replica) -> None:
        """A replication resource's copy of a closed write (implemented by the checksums mixin)."""
        raise NotImplementedError
