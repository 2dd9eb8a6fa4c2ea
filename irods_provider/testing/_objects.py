"""Data-object operations of the state model; bytes live in spool files, never whole in memory."""

from __future__ import annotations

import base64
import hashlib
import posixpath
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from irods_provider.testing._acl_meta import check_touch_options
from irods_provider.testing._catalog import (
    OWN,
    PERMISSIONS,
    WRITE,
    DataObject,
    ModelBase,
    Replica,
    normalize,
    now,
)
from irods_provider.testing._errors import IrodsModelError
from irods_provider.testing._fslib import asks_catalog, touch_finds_replica
from irods_provider.testing._locks import GOOD, STALE, lock_replicas, original_status, unlock_replicas

DELETE = PERMISSIONS.index("delete_object")
HASH_CHUNK = 1024 * 1024


@dataclass
class WriteTarget:
    """An opened replica: where to put bytes and where a non-offset write starts.

    ``created``: the open created the object or this replica (CREATE_TYPE); ``size_at_open``: the catalog
    size when it was opened; ``written``: bytes written through it so far (None: not counted, the close
    then always makes the replica good).
    """

    path: str
    replica: Replica
    start: int
    created: bool = False
    size_at_open: int = 0
    written: int | None = None


#: A vault file name's limit (Linux NAME_MAX) and the errno a longer one gets.
VAULT_NAME_MAX = 255
ENAMETOOLONG = 36


def _check_vault_name(path: str, name: str, action: str) -> None:
    """Refuse a data object name a unixfilesystem vault cannot hold: the replica's file is the logical path
    under the vault, so Linux refuses a component over 255 bytes with ENAMETOOLONG, which the plugin reports
    as ``UNIX_FILE_CREATE_ERR - errno`` / ``UNIX_FILE_RENAME_ERR - errno`` (irods/irods
    plugins/resources/unixfilesystem/libunixfilesystem.cpp, unix_file_create_plugin / unix_file_rename_plugin;
    codes from rodsErrorTable.h): -511036 / -528036."""
    if len(posixpath.basename(path).encode("utf-8", "surrogateescape")) > VAULT_NAME_MAX:
        raise IrodsModelError(
            name, f"{action} error for the vault file of [{path}]: File name too long", errno=ENAMETOOLONG
        )


def sha2_of_file(path: Path) -> str:
    """``sha2:`` + base64 SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(HASH_CHUNK):
            digest.update(chunk)
    return "sha2:" + base64.b64encode(digest.digest()).decode("ascii")


class DataObjectsMixin(ModelBase):
    """stat, open for read/write, touch, truncate, remove, rename, copy, checksums, replicate checks."""

    def _new_replica(self, data_id: int, number: int, resource: str, path: str) -> Replica:
        # The physical path is the spool file itself, where the bytes really are (register can reuse it).
        spool_file = self.spool / f"{data_id}.{number}"
        spool_file.touch()
        return Replica(number=number, resource=resource, spool_file=spool_file, physical_path=str(spool_file))

    def add_replicas(self, obj: DataObject, root: str, *, source: Replica | None = None) -> list[Replica]:
        """New replicas on the leaves of ``root`` (copies of ``source`` when given)."""
        added = []
        for leaf in self.leaves_for(root, zone=self.zone_of(obj.path)):
            number = max((r.number for r in obj.replicas), default=-1) + 1
            rep = self._new_replica(obj.id, number, leaf, obj.path)
            if source is not None:
                shutil.copyfile(source.spool_file, rep.spool_file)
                rep.size = source.size
            obj.replicas.append(rep)
            added.append(rep)
        return added

    def _readable(self, caller: str, path: str, ticket: str | None) -> DataObject | None:
        obj = self.stat_data(caller, path)  # the read handler asks fs::client::status first
        if obj is not None:
            return obj
        if path in self.data_objects and self.ticket_grants(caller, ticket, path):
            return self.data_objects[path]
        return None

    def stat_data_object(self, caller: str, path: str, *, ticket: str | None = None) -> dict[str, Any]:
        """The data-object ``stat`` body; NOT_A_DATA_OBJECT when missing or invisible."""
        with self.lock:
            path = normalize(path)
            obj = self.stat_data(caller, path)
            if obj is None and path in self.data_objects and self.ticket_grants(caller, ticket, path):
                obj = self.data_objects[path]
            if obj is None:
                raise IrodsModelError("NOT_A_DATA_OBJECT", f"[{path}] is not a data object.")
            rep = obj.good_replica()
            if rep is None:
                raise IrodsModelError("SYS_NO_GOOD_REPLICA", "No good replica.")
            return {
                "type": "data_object",
                "permissions": self.permissions_json(obj.acl, obj.owner),
                "size": rep.size,
                "checksum": rep.checksum,
                "modified_at": rep.modify_time,
            }

    def _pick_replica(
        self,
        obj: DataObject,
        resource: str | None,
        replica_number: int | None,
        *,
        stale_votes: bool = False,
    ) -> Replica:
        """The replica an operation resolves to: on ``resource``, numbered, else the newest good one.

        ``stale_votes``: the operation resolves its hierarchy by voting (a write, a copy's open, a
        checksum), in which a stale replica votes low rather than zero: with no good replica it is used.
        The HTTP API's stat and read ask for a good replica first (SYS_NO_GOOD_REPLICA)."""
        if resource is not None:
            zone = self.zone_of(obj.path)
            self.check_root(resource, zone=zone)
            under = [r for r in obj.replicas if self.root_of(r.resource, zone=zone) == resource]
            if not under:
                raise IrodsModelError("SYS_REPLICA_DOES_NOT_EXIST", f"No replica on [{resource}].")
            return next((r for r in under if r.status == "1"), under[0])
        if replica_number is not None:
            for rep in obj.replicas:
                if rep.number == replica_number:
                    return rep
            raise IrodsModelError("SYS_REPLICA_DOES_NOT_EXIST", f"Replica [{replica_number}] does not exist.")
        voters = self._voters(obj) if stale_votes else obj.replicas
        if not stale_votes and obj.good_replica() is None:
            raise IrodsModelError("SYS_NO_GOOD_REPLICA", "No good replica.")
        # voting.cpp:42-93 (4.3.4): a stale replica votes low for an open or a write, not zero, so it
        # wins when no replica is good; an intermediate or locked one votes zero, and all zero is
        # HIERARCHY_ERROR (irods_resource_redirect.cpp:244-246).
        voted = self._voted(obj, voters)
        if voted is None:
            raise IrodsModelError("HIERARCHY_ERROR", "No valid resource found for data object.")
        return voted

    def _voted(self, obj: DataObject, voters: list[Replica]) -> Replica | None:
        """The replica resolve_hier_for_open_or_write picks (irods 4.3.4 irods_resource_redirect.cpp:175-243):
        each root votes (a std::map, so in name order) and the first with the highest vote wins (``>``);
        a replica votes high when good on this server's host, medium when good elsewhere, low when stale
        (voting.cpp:42-93). A replication root's children are asked in name order alike."""
        zone = self.zone_of(obj.path)
        table = self.resources_in(zone)
        best: tuple[float, Replica] | None = None
        for rep in sorted(voters, key=lambda r: self.hierarchy(r.resource, zone=zone).split(";")):
            vote = _vote(rep, table, self.config.server_hostname)
            if vote > 0 and (best is None or vote > best[0]):
                best = (vote, rep)
        return None if best is None else best[1]

    def _voters(self, obj: DataObject) -> list[Replica]:
        """The replicas that get a vote: one on a leaf resource marked down throws SYS_RESC_IS_DOWN in its
        vote (voting.cpp:21-26, :46 at 4.3.4), which the redirect skips (irods_resource_redirect.cpp:216-218),
        so an object whose every replica is on a down resource has no valid resource: HIERARCHY_ERROR."""
        table = self.resources_in(self.zone_of(obj.path))
        down = {name for name, res in table.items() if res.status == "down"}
        return [r for r in obj.replicas if r.resource not in down] if down else obj.replicas

    def open_read(
        self,
        caller: str,
        path: str,
        *,
        resource: str | None = None,
        replica_number: int | None = None,
        ticket: str | None = None,
    ) -> tuple[Path, int]:
        """Resolve a readable replica: (spool file, stat size). NOT_A_DATA_OBJECT when not readable."""
        with self.lock:
            path = normalize(path)
            obj = self._readable(caller, path, ticket)
            if obj is None:
                raise IrodsModelError("NOT_A_DATA_OBJECT", f"[{path}] is not a readable data object.")
            good = obj.good_replica()
            rep = self._pick_replica(obj, resource, replica_number)
            rep.access_time = now()
            return rep.spool_file, (good.size if good else rep.size)

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
    ) -> WriteTarget:
        """Open (and maybe create) a replica for writing, with the server's open-mode semantics, and lock
        the object as the server does (the replica intermediate, its siblings write-locked: ``_locks``)
        until :meth:`finish_write`; ``holder`` names the lock (a parallel-write handle's id)."""
        with self.lock:
            path = normalize(path)
            zone = self.zone_of(path)
            if resource is not None:
                self.check_root(resource, zone=zone)
            obj = self.data_objects.get(path)
            created = obj is None
            if obj is None:
                obj = self._create_for_write(
                    caller,
                    path,
                    create=append or truncate,
                    resource=resource,
                    replica_number=replica_number,
                    ticket=ticket,
                )
            else:
                created = self._open_existing(caller, obj, resource=resource, ticket=ticket)
            rep = (
                self._pick_replica(obj, resource, replica_number, stale_votes=True) if obj.replicas else None
            )
            if rep is None:
                raise IrodsModelError("SYS_REPLICA_DOES_NOT_EXIST", "No replica.")
            start = 0
            if append:
                start = rep.spool_file.stat().st_size
            elif truncate:
                with rep.spool_file.open("r+b") as f:
                    f.truncate(0)
            lock_replicas(obj, [rep], holder)
            return WriteTarget(path, rep, start, created=created, size_at_open=rep.size, written=0)

    def _open_existing(
        self, caller: str, obj: DataObject, *, resource: str | None, ticket: str | None
    ) -> bool:
        """The checks of a write onto the existing ``obj``; a replica on ``resource`` is created when it
        has none there. Whether a replica was created (the open is then a create)."""
        level = self.access_level(caller, obj.acl)
        if level < WRITE and not self.ticket_grants(caller, ticket, obj.path, write=True):
            raise IrodsModelError("CAT_NO_ACCESS_PERMISSION", f"No write permission on [{obj.path}].")
        if obj.locked_by is not None:
            raise IrodsModelError("HIERARCHY_ERROR", f"[{obj.path}] is locked by an open write.")
        zone = self.zone_of(obj.path)
        roots = {self.root_of(r.resource, zone=zone) for r in obj.replicas}
        if resource is not None and resource not in roots:
            self.add_replicas(obj, resource)
            return True
        return False

    def _create_for_write(
        self,
        caller: str,
        path: str,
        *,
        create: bool,
        resource: str | None,
        replica_number: int | None,
        ticket: str | None,
    ) -> DataObject:
        if path in self.collections:
            raise IrodsModelError("CAT_NAME_EXISTS_AS_COLLECTION", f"[{path}] is a collection.")
        parent_path = posixpath.dirname(path)
        parent = self.collections.get(parent_path)
        if parent is None:
            raise IrodsModelError("OBJ_PATH_DOES_NOT_EXIST", f"[{parent_path}] does not exist.")
        if self.coll_level(caller, parent_path) < WRITE and not self.ticket_grants(
            caller, ticket, parent_path, write=True
        ):
            raise IrodsModelError("CAT_NO_ACCESS_PERMISSION", f"No write permission on [{parent_path}].")
        if not create or replica_number is not None:
            raise IrodsModelError("OBJ_PATH_DOES_NOT_EXIST", f"[{path}] does not exist.")
        return self.create_data_object(caller, path, resource=resource)

    def create_data_object(self, caller: str, path: str, *, resource: str | None = None) -> DataObject:
        """Register a new empty data object with one good replica (caller must hold the lock)."""
        _check_vault_name(path, "UNIX_FILE_CREATE_ERR", "create")
        data_id = self.new_id()
        parent = self.collections.get(posixpath.dirname(path))
        obj = DataObject(
            id=data_id, path=path, owner=caller, zone=self.zone, acl=self.inherited_acl(parent, caller)
        )
        self.data_objects[path] = obj
        self.add_replicas(obj, resource or self.default_resource_for(path))
        if parent is not None:
            # rsDataObjOpen sets the parent collection's mtime once it has created an object (irods 4.3.4
            # server/api/src/rsDataObjOpen.cpp:1262-1281, the same at 4.3.0-5.0.2): write, parallel-write
            # init, touch and a copy's destination all open with O_CREAT; "/" too (for "/a.txt").
            parent.modify_time = now()
        return obj

    def default_resource_for(self, path: str) -> str:
        """The resource a new object at ``path`` lands on when the client names none (the site's
        ``acSetRescSchemeForCreate``: :attr:`EmulatorConfig.default_resources`, deepest collection first)."""
        matches = [
            (len(collection), resource)
            for collection, resource in self.config.default_resources
            if path.startswith(collection.rstrip("/") + "/")
        ]
        return max(matches)[1] if matches else "demoResc"

    def finish_write(self, target: WriteTarget) -> None:
        """Close a written replica: size from the spool file, new mtime, checksum cleared, good, its
        siblings stale (a replication resource's copied), the object unlocked (``finalize_data_object``).

        A close that changed nothing (an existing replica, no byte written, the size as opened) keeps the
        replica's status from before the open, its mtime and checksum, as the HTTP API's streams close
        (irods 4.3.4 plugins/api/src/replica_close.cpp:246-253); its siblings still go stale (:257)."""
        with self.lock:
            rep = target.replica
            size = rep.spool_file.stat().st_size if rep.spool_file.exists() else 0
            obj = self.data_objects.get(target.path)
            if obj is not None and not target.created and target.written == 0 and size == target.size_at_open:
                rep.status = original_status(rep)
                for other in (r for r in obj.replicas if r is not rep):
                    other.status = STALE
                unlock_replicas(obj, restore=())
                return
            rep.size = size
            rep.modify_time = now()
            rep.checksum = ""
            rep.status = GOOD
            if obj is None:
                return
            zone, table = self.zone_of(obj.path), self.resources_for(obj.path)
            root = self.root_of(rep.resource, zone=zone)
            replicating = table[root].type == "replication" if root in table else False
            for other in obj.replicas:
                if other is rep:
                    continue
                if replicating and self.root_of(other.resource, zone=zone) == root:
                    self.replicate_on_close(rep, other)
                else:
                    other.status = STALE
            unlock_replicas(obj, restore=())

    def touch_data_object(
        self,
        caller: str,
        path: str,
        *,
        no_create: bool = False,
        replica_number: int | None = None,
        leaf_resource: str | None = None,
        seconds: int | None = None,
        reference: str | None = None,
    ) -> None:
        """Update a replica's mtime, creating an empty object when missing (unless ``no_create``).

        In rs_touch's order (plugins/api/src/touch.cpp at irods 4.3.4): the options (lines 211-253), then a
        missing object is created (276-330: a coordinating ``leaf_resource`` is USER_INVALID_RESC_INPUT; the
        odstream that creates it fails silently, so a refused creation surfaces at line 456 as
        CAT_NOT_A_DATAOBJ_AND_NOT_A_COLLECTION), then the replica's mtime is set.
        """
        with self.lock:
            path = normalize(path)
            if self.stat_coll(caller, path) is not None:  # data_objects/src/main.cpp:2484-2490 (0.7.0)
                raise IrodsModelError("NOT_A_DATA_OBJECT", f"[{path}] is a collection.")
            check_touch_options(
                replica_number=replica_number,
                leaf_resource=leaf_resource,
                seconds=seconds,
                reference=reference,
            )
            # rs_touch asks exists(), rsObjStat as the caller (touch.cpp:281-293): an object it may not read
            # (stat_data) is missing to it; creating it then fails (it exists), silently until :452-457.
            obj = self.stat_data(caller, path)
            if obj is None:
                if no_create:
                    return
                obj = self._touch_create(caller, path, replica=replica_number, leaf=leaf_resource)
            if self.access_level(caller, obj.acl) < WRITE:
                raise IrodsModelError("CAT_NO_ACCESS_PERMISSION", f"No write permission on [{path}].")
            if leaf_resource is None and asks_catalog(path):  # touch.cpp's own query (see _fslib)
                self._touch_lookup(caller, path, replica_number)
            newest = obj.good_replica()  # touch.cpp:362-398 (4.3.4): the latest good replica, no vote
            if leaf_resource is None and replica_number is None and newest is not None:
                rep = newest
            elif leaf_resource is None:
                rep = self._pick_replica(obj, None, replica_number)
            else:  # touch.cpp:350-359: the replica on that leaf (to_replica_number), any place in a hierarchy
                found = [r for r in obj.replicas if r.resource == leaf_resource]
                if not found:
                    raise IrodsModelError("SYS_REPLICA_DOES_NOT_EXIST", "Replica does not exist in resource.")
                rep = found[0]
            when = seconds
            if reference is not None:
                when = self.reference_mtime(caller, normalize(reference))
            rep.modify_time = now() if when is None else when

    def _touch_lookup(self, caller: str, path: str, replica_number: int | None) -> None:
        """The replica rs_touch's own query finds (touch.cpp:366-398, replica.hpp:827-850 at 4.3.4), or its
        error: SYS_NO_GOOD_REPLICA for the newest good one, SYS_REPLICA_DOES_NOT_EXIST for a number."""
        if touch_finds_replica(self, caller, path, replica_number, self.config.irods_release):
            return
        if replica_number is None:
            raise IrodsModelError("SYS_NO_GOOD_REPLICA", "No good replicas found.")
        raise IrodsModelError(
            "SYS_REPLICA_DOES_NOT_EXIST", "Replica does not exist matching that replica number."
        )

    def _touch_create(self, caller: str, path: str, *, replica: int | None, leaf: str | None) -> DataObject:
        """create_data_object_if_necessary (plugins/api/src/touch.cpp:276-330 at irods 4.3.4); the new
        object's mtime is then set like an existing one's (lines 452-486)."""
        if replica is not None:
            raise IrodsModelError("OBJ_PATH_DOES_NOT_EXIST", f"[{path}] does not exist.")
        if leaf is not None:
            table = self.resources_for(path)
            if leaf not in table:
                raise IrodsModelError("SYS_RESC_DOES_NOT_EXIST", f"[{leaf}] does not exist.")
            if any(r.parent == leaf for r in table.values()):
                raise IrodsModelError("USER_INVALID_RESC_INPUT", f"[{leaf}] is not a leaf resource.")
        try:
            if path in self.data_objects or path in self.collections:  # there, but not for this caller
                raise IrodsModelError("CAT_NAME_EXISTS_AS_DATAOBJ", f"[{path}] exists.")
            return self._create_for_write(
                caller, path, create=True, resource=leaf, replica_number=None, ticket=None
            )
        except IrodsModelError:
            raise IrodsModelError(
                "CAT_NOT_A_DATAOBJ_AND_NOT_A_COLLECTION",
                "Logical path does not point to a collection or data object.",
            ) from None

    def truncate_data_object(
        self,
        caller: str,
        path: str,
        *,
        size: int,
        resource: str | None = None,
        replica_number: int | None = None,
        admin: bool = False,
    ) -> dict[str, Any]:
        """Grow (zero-filled) or shrink a replica; returns the ``additional_info`` body."""
        with self.lock:
            self.require_admin_flag(caller, admin)
            path = normalize(path)
            if resource is not None and replica_number is not None:
                raise IrodsModelError("SYS_INVALID_INPUT_PARAM", "Incompatible resource and replica number.")
            # resolve_resource_hierarchy's getDataObjInfo finds no row without read_object on the object and
            # its collection, and CAT_NO_ROWS_FOUND is told as OBJ_PATH_DOES_NOT_EXIST (irods 4.3.4
            # rs_replica_truncate.cpp:78-91).
            obj = self.stat_data(caller, path)
            if obj is None:
                raise IrodsModelError("OBJ_PATH_DOES_NOT_EXIST", f"[{path}] does not exist.")
            if self.data_level(caller, obj, admin=admin) < WRITE:
                raise IrodsModelError("CAT_NO_ACCESS_PERMISSION", f"No write permission on [{path}].")
            if size < 0:
                raise IrodsModelError("SYS_INVALID_INPUT_PARAM", "Negative size.")
            if obj.locked_by is not None:  # rs_replica_truncate.cpp:81 (4.3.4): no replica votes for it
                raise IrodsModelError("HIERARCHY_ERROR", f"[{path}] is locked by an open write.")
            rep = self._pick_replica(obj, resource, replica_number)
            with rep.spool_file.open("r+b") as f:
                f.truncate(size)
        target = WriteTarget(path=path, replica=rep, start=0)
        self.finish_write(target)
        return {"resource_hierarchy": rep.resource, "replica_number": rep.number, "message": ""}

    def remove_data_object(
        self, caller: str, path: str, *, catalog_only: bool, no_trash: bool = False, admin: bool = False
    ) -> None:
        """Unregister (catalog only), delete, or move a data object to the trash."""
        with self.lock:
            self.require_admin_flag(caller, admin)
            path = normalize(path)
            # rsDataObjUnlink's lookups (getDataObjInfo, irods 4.3.4 dataObjOpr.cpp:130-149) are GenQueries
            # the caller's access filters (general_query.cpp:1663-1689): without read_object on the object
            # and its collection they find no row, as for a missing one.
            obj = self.stat_data(caller, path)
            if obj is None:
                raise IrodsModelError("CAT_NO_ROWS_FOUND", f"[{path}] does not exist.")
            if catalog_only and not self.is_admin(caller):
                raise IrodsModelError("CAT_INSUFFICIENT_PRIVILEGE_LEVEL", "Unregistering requires rodsadmin.")
            if self.data_level(caller, obj, admin=admin) < DELETE and not (
                catalog_only and self.is_admin(caller)
            ):
                raise IrodsModelError("CAT_NO_ACCESS_PERMISSION", f"No permission to remove [{path}].")
            if obj.locked_by is not None:
                raise IrodsModelError("LOCKED_DATA_OBJECT_ACCESS", f"[{path}] is locked.")
            if catalog_only:
                del self.data_objects[path]  # unregister: the physical files stay where they are
            elif no_trash or path.startswith(f"/{self.zone_of(path)}/trash/"):
                self.drop_data_object(path)
            else:
                new = self._trash_path(caller, path)
                del self.data_objects[path]
                obj.path = new
                self.data_objects[new] = obj
                _stamp_moved(obj)  # rsMvDataObjToTrash is a rename (rsDataObjUnlink.cpp:208 at 4.3.4)
                self.stamp_parents(new)
            self.stamp_parents(path)

    def rename_data_object(self, caller: str, old: str, new: str) -> None:
        """Rename/move a data object."""
        with self.lock:
            old, new = normalize(old), normalize(new)
            obj = self.stat_data(caller, old)  # is_data_object, i.e. rsObjStat (data_objects:2262 at 0.7.0)
            if obj is None:
                raise IrodsModelError("NOT_A_DATA_OBJECT", f"[{old}] is not a data object.")
            if old == new:
                return
            self.refuse_cross_zone_rename(caller, old, new)
            new_parent = posixpath.dirname(new)
            if self.visible_coll(caller, new_parent) is None:
                raise IrodsModelError("OBJ_PATH_DOES_NOT_EXIST", f"[{new_parent}] does not exist.")
            if new in self.collections:
                raise IrodsModelError("INVALID_OBJECT_TYPE", f"[{new}] is a collection.")
            # rsDataObjRename (4.3.4:139-156): the object is looked up for delete_object access, then an
            # object another client is writing is refused (logical locking) before the catalog rename.
            if self.access_level(caller, obj.acl) < DELETE:
                raise IrodsModelError("CAT_NO_ACCESS_PERMISSION", "Insufficient permissions for rename.")
            if obj.locked_by is not None:
                raise IrodsModelError("LOCKED_DATA_OBJECT_ACCESS", f"[{old}] is locked by an open write.")
            if new in self.data_objects:
                raise IrodsModelError("CAT_NAME_EXISTS_AS_DATAOBJ", f"[{new}] already exists.")
            # chlRenameObject (same collection) and chlMoveObject both want ``own`` on the object (irods
            # 4.3.2 db_plugin.cpp:10793, :11170); a move also ``modify_object`` on the new collection
            # (:11131), a rename in place nothing of it. A data object without own → :11033 / :11151.
            moving = posixpath.dirname(old) != new_parent
            if self.access_level(caller, obj.acl) < OWN or (
                moving and self.coll_level(caller, new_parent) < WRITE
            ):
                raise IrodsModelError("CAT_NO_ACCESS_PERMISSION", "Insufficient permissions for rename.")
            _check_vault_name(new, "UNIX_FILE_RENAME_ERR", "rename")
            del self.data_objects[old]
            obj.path = new
            self.data_objects[new] = obj
            if moving:
                _stamp_moved(obj)
            self.stamp_parents(old, new)


def _stamp_moved(obj: DataObject) -> None:
    """chlMoveObject sets every replica's modify_ts when an object changes collection; a rename in place
    (chlRenameObject) leaves it (irods 4.3.4 plugins/database/src/db_plugin.cpp:11186-11193 vs
    :10806-10813; the same at 4.3.0 and 5.0.2)."""
    when = now()
    for rep in obj.replicas:
        rep.modify_time = when


def _vote(rep: Replica, table: dict[str, Any], local_host: str) -> float:
    """A leaf's vote for opening or writing ``rep`` (irods 4.3.4 voting.cpp:42-93, voting.hpp:13-16)."""
    if rep.status == STALE:
        return 0.25
    if rep.status != GOOD:
        return 0.0
    res = table.get(rep.resource)
    return 1.0 if res is None or res.host == local_host else 0.5
