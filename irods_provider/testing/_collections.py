"""Collection operations of the state model."""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from typing import Any

from irods_provider.testing._acl_meta import check_touch_options
from irods_provider.testing._catalog import (
    PERMISSIONS,
    SEE,
    WRITE,
    Collection,
    DataObject,
    ModelBase,
    normalize,
    now,
)
from irods_provider.testing._errors import IrodsModelError
from irods_provider.testing._locks import INTERMEDIATE, WRITE_LOCKED

DELETE = PERMISSIONS.index("delete_object")


class CollectionsMixin(ModelBase):
    """create, remove, stat, list, rename, touch and the shared trash/move helpers."""

    def create_collection(self, caller: str, path: str, *, intermediates: bool = False) -> bool:
        """Create a collection; returns False when something already exists at the path."""
        with self.lock:
            path = normalize(path)
            if path in self.collections or path in self.data_objects:
                return False
            self._refuse_outside_zones(path)
            parent_path = posixpath.dirname(path)
            if not intermediates:
                parent = self.visible_coll(caller, parent_path)
                if parent is None:
                    raise IrodsModelError(
                        "OBJ_PATH_DOES_NOT_EXIST", f"Parent [{parent_path}] does not exist."
                    )
                if self.coll_level(caller, parent_path) < WRITE:
                    raise IrodsModelError(
                        "CAT_NO_ACCESS_PERMISSION", f"No write permission on [{parent_path}]."
                    )
                self._new_collection(caller, path)
                return True
            missing = [path]
            ancestor = parent_path
            while ancestor not in self.collections:
                if ancestor in ("/", "") or ancestor in self.data_objects:
                    raise IrodsModelError("SYS_INVALID_INPUT_PARAM", f"Cannot create [{path}].")
                missing.append(ancestor)
                ancestor = posixpath.dirname(ancestor)
            if self.visible_coll(caller, ancestor) is None or self.coll_level(caller, ancestor) < WRITE:
                raise IrodsModelError("SYS_INVALID_INPUT_PARAM", f"Cannot create [{path}].")
            for p in reversed(missing):
                self._new_collection(caller, p)
            return True

    def _refuse_outside_zones(self, path: str) -> None:
        """rsCollCreate refuses a path that does not start with ``/<zone>`` of a known zone, as a plain
        string prefix, with or without intermediates (irods 4.3.4 server/api/src/rsCollCreate.cpp:70-79,
        server/core/src/dataObjOpr.cpp:45-70: validate_logical_path, SYS_INVALID_INPUT_PARAM)."""
        zones = [self.zone, *self.zone_users, *self.remote_zones]  # ZoneInfoHead: every known zone
        if not any(path.startswith(f"/{zone}") for zone in zones):
            raise IrodsModelError(
                "SYS_INVALID_INPUT_PARAM",
                f"a valid zone name does not appear at the root of the object path [{path}]",
            )

    def _new_collection(self, caller: str, path: str) -> Collection:
        parent = self.collections.get(posixpath.dirname(path))
        coll = Collection(
            id=self.new_id(),
            path=path,
            owner=caller,
            zone=self.zone_of(path),
            acl=self.inherited_acl(parent, caller),
            inheritance=bool(parent and parent.inheritance),
        )
        self.collections[path] = coll
        if parent is not None:
            parent.modify_time = now()
        return coll

    def stat_collection(self, caller: str, path: str, *, ticket: str | None = None) -> dict[str, Any]:
        """The collection ``stat`` body; NOT_A_COLLECTION when missing, invisible or a data object."""
        with self.lock:
            path = normalize(path)
            coll = self.stat_coll(caller, path)
            if coll is None and self.ticket_grants(caller, ticket, path):
                coll = self.collections.get(path)
            if coll is None:
                raise IrodsModelError("NOT_A_COLLECTION", f"[{path}] is not a collection.")
            return {
                "type": "collection",
                "inheritance_enabled": coll.inheritance,
                "permissions": self.permissions_json(coll.acl, coll.owner),
                "registered": True,
                "modified_at": coll.modify_time,
            }

    def list_collection(
        self, caller: str, path: str, *, recurse: bool = False, ticket: str | None = None
    ) -> list[str]:
        """Absolute paths of the visible children: sub-collections first, each followed by its own entries
        when recursing (pre-order), then data objects; each group name-sorted.

        The HTTP API walks fs::client::(recursive_)collection_iterator (collections/src/main.cpp:158-170,
        0.7.0), which reads with rclOpenCollection(flags 0): readCollection queries sub-collections before
        data objects (irods 4.3.4 lib/core/src/miscUtil.cpp:1119-1190), GenQuery orders each by COLL_NAME /
        DATA_NAME (general_query.cpp:2051-2057), and the recursive iterator descends into a collection as
        soon as it is listed (recursive_collection_iterator.cpp operator++). Those GenQueries are
        access-checked: the listed collection, each child collection and each object need ``read_object``
        (see ``stat_coll``/``stat_data``), unless the local rodsadmin lists.
        """
        with self.lock:
            path = normalize(path)
            via_ticket = self.stat_coll(caller, path) is None and self.ticket_grants(caller, ticket, path)
            if path not in self.collections or (self.stat_coll(caller, path) is None and not via_ticket):
                raise IrodsModelError("NOT_A_COLLECTION", f"[{path}] is not a collection.")
            out: list[str] = []
            self._walk(caller, path, recurse=recurse, everything=via_ticket, out=out)
            return out

    def _walk(self, caller: str, path: str, *, recurse: bool, everything: bool, out: list[str]) -> None:
        for coll in self.children_colls(path):
            if everything or self.stat_coll(caller, coll.path) is not None:
                out.append(coll.path)
                if recurse:
                    self._walk(caller, coll.path, recurse=True, everything=everything, out=out)
        for obj in self.children_data(path):
            if everything or self.stat_data(caller, obj.path) is not None:
                out.append(obj.path)

    def remove_collection(
        self,
        caller: str,
        path: str,
        *,
        recurse: bool = False,
        no_trash: bool = False,
        admin: bool = False,
        unlink: Callable[[], None] | None = None,
    ) -> None:
        """Remove a collection, to the trash unless ``no_trash``. ``unlink`` (called outside the model's
        lock) is the time one object's removal takes: removed for good, objects leave one by one."""
        if self._remove_checked(caller, path, recurse=recurse, no_trash=no_trash, admin=admin):
            path = normalize(path)
            with self.lock:
                objects = sorted(p for p in self.data_objects if p.startswith(path + "/"))
            kept: set[str] = set()
            for obj_path in objects:
                if unlink is not None:
                    unlink()
                with self.lock:
                    obj = self.data_objects.get(obj_path)
                    if obj is not None and _locked(obj):
                        kept.add(obj_path)  # rsDataObjUnlink refuses it: LOCKED_DATA_OBJECT_ACCESS
                    elif obj is not None:
                        self.drop_data_object(obj_path)
                        self.stamp_parents(obj_path)  # rsDataObjUnlink.cpp:471-480
            with self.lock:
                if not kept:
                    self._delete_tree(path)
                    self.stamp_parents(path)
                else:
                    self._delete_around(path, kept)

    def _delete_around(self, path: str, kept: set[str]) -> None:
        """What _rsPhyRmColl leaves when some objects' unlinks fail (irods 4.3.4 rsRmColl.cpp:352-440): the
        walk goes on past each failure, every collection it empties is unregistered, the ones still
        holding an object (and their ancestors up to ``path``) stay, non-empty (CAT_COLLECTION_NOT_EMPTY),
        and rsRmColl returns the last error without stamping the parent (:120-145)."""
        holding = {path}
        for obj_path in kept:
            parent = posixpath.dirname(obj_path)
            while parent != path and parent.startswith(path + "/"):
                holding.add(parent)
                parent = posixpath.dirname(parent)
        emptied = [p for p in self.collections if p.startswith(path + "/") and p not in holding]
        for p in emptied:
            del self.collections[p]

    def _remove_checked(self, caller: str, path: str, *, recurse: bool, no_trash: bool, admin: bool) -> bool:
        """Check a remove; move the tree to the trash, or True when it is to be removed for good."""
        with self.lock:
            self.require_admin_flag(caller, admin)
            path = normalize(path)
            coll = self.stat_coll(caller, path)  # is_collection as the caller (collections:426 at 0.7.0)
            if coll is None:
                raise IrodsModelError("NOT_A_COLLECTION", f"[{path}] is not a collection.")
            if not recurse and (self.children_data(path) or self.children_colls(path)):
                raise IrodsModelError("SYS_COLLECTION_NOT_EMPTY", f"Collection [{path}] is not empty.")
            if not admin and self.coll_level(caller, path) < DELETE:
                raise IrodsModelError("CAT_NO_ACCESS_PERMISSION", f"No permission to remove [{path}].")
            zone = self.zone_of(path)
            home_root = f"/{zone}/home"
            if path.count("/") <= 3 and path.startswith(f"/{zone}/") and not path.startswith(home_root + "/"):
                raise IrodsModelError("SYS_INVALID_INPUT_PARAM", f"Cannot remove [{path}].")
            trash_root = f"/{zone}/trash"
            if no_trash or path.startswith(trash_root + "/"):
                return True
            trash = self._trash_path(caller, path)
            self._move_tree(path, trash)
            # rsMvCollToTrash renames the tree (chlMoveObject stamps the moved collection, irods 4.3.4
            # db_plugin.cpp:11323-11334); rsDataObjRename then rsRmColl stamp the parents.
            self.collections[trash].modify_time = now()
            self.stamp_parents(path, trash)
            return False

    def _trash_path(self, caller: str, path: str) -> str:
        zone = self.zone_of(path)
        base = f"/{zone}/trash/home/{caller}"
        if base not in self.collections:
            self.collections[base] = Collection(
                id=self.new_id(), path=base, owner=caller, zone=zone, acl={caller: "own"}
            )
        home = f"/{zone}/home/{caller}/"
        rel = path[len(home) :] if path.startswith(home) else posixpath.basename(path)
        target = f"{base}/{rel}"
        parent = posixpath.dirname(target)
        if parent not in self.collections:
            for p in self._ancestors_below(base, parent):
                self._new_collection(caller, p)
        candidate, n = target, 0
        while candidate in self.collections or candidate in self.data_objects:
            n += 1
            candidate = f"{target}.{n}"
        return candidate

    @staticmethod
    def _ancestors_below(base: str, path: str) -> list[str]:
        chain: list[str] = []
        while path != base and path.startswith(base + "/"):
            chain.append(path)
            path = posixpath.dirname(path)
        return list(reversed(chain))

    def stamp_parents(self, *paths: str) -> None:
        """Set the mtime of each path's parent collection, when registered: rsDataObjUnlink, rsRmColl and
        rsDataObjRename (data objects and collections) do it after a success (irods 4.3.4
        server/api/src/rsDataObjUnlink.cpp:471-480, rsRmColl.cpp:127-141, rsDataObjRename.cpp:446-466;
        the same 4.3.0-5.0.2). A trash move is such a rename (rsDataObjUnlink.cpp:208, rsRmColl.cpp:757)."""
        when = now()
        for path in paths:
            parent = self.collections.get(posixpath.dirname(path))
            if parent is not None:
                parent.modify_time = when

    def _delete_tree(self, path: str) -> None:
        prefix = path + "/"
        for p in [p for p in self.data_objects if p.startswith(prefix)]:
            self.drop_data_object(p)
        for p in [p for p in self.collections if p == path or p.startswith(prefix)]:
            del self.collections[p]

    def drop_data_object(self, path: str) -> None:
        """Forget a data object and unlink its spool files."""
        obj = self.data_objects.pop(path)
        for rep in obj.replicas:
            rep.spool_file.unlink(missing_ok=True)

    def _move_tree(self, old: str, new: str) -> None:
        prefix = old + "/"
        for p in sorted(p for p in self.collections if p == old or p.startswith(prefix)):
            coll = self.collections.pop(p)
            coll.path = new + p[len(old) :]
            self.collections[coll.path] = coll
        for p in [p for p in self.data_objects if p.startswith(prefix)]:
            obj = self.data_objects.pop(p)
            obj.path = new + p[len(old) :]
            self.data_objects[obj.path] = obj

    def rename_collection(self, caller: str, old: str, new: str) -> None:
        """Rename/move a collection and everything below it."""
        with self.lock:
            old, new = normalize(old), normalize(new)
            if self.stat_coll(caller, old) is None:  # is_collection (collections:502 at 0.7.0)
                raise IrodsModelError("NOT_A_COLLECTION", f"[{old}] is not a collection.")
            if old == new:
                return
            # irods::filesystem::rename (4.3.4 lib/filesystem/src/filesystem.cpp:1028-1030; has_prefix,
            # :420-434, compares whole components): "/" is an ancestor of every other path, so it never moves.
            if old == "/" or new.startswith(old + "/"):
                message = "old path cannot be an ancestor of the new path"
                raise IrodsModelError("SYS_INVALID_INPUT_PARAM", message)
            self.refuse_cross_zone_rename(caller, old, new)
            new_parent = posixpath.dirname(new)
            if self.visible_coll(caller, new_parent) is None:
                raise IrodsModelError("OBJ_PATH_DOES_NOT_EXIST", f"[{new_parent}] does not exist.")
            if new in self.data_objects:
                raise IrodsModelError("INVALID_OBJECT_TYPE", f"[{new}] is a data object.")
            if new in self.collections:
                raise IrodsModelError("CAT_NAME_EXISTS_AS_COLLECTION", f"[{new}] already exists.")
            if self.coll_level(caller, old) < DELETE or self.coll_level(caller, new_parent) < WRITE:
                raise IrodsModelError("CAT_NO_ACCESS_PERMISSION", "Insufficient permissions for rename.")
            self._move_tree(old, new)
            self.collections[new].modify_time = now()
            self.stamp_parents(old, new)

    def touch_collection(
        self, caller: str, path: str, *, seconds: int | None = None, reference: str | None = None
    ) -> None:
        """Update a collection's mtime; a missing path is a silent no-op, a data object an error."""
        with self.lock:
            path = normalize(path)
            # Both the handler's status() (collections/src/main.cpp:794-801 at 0.7.0) and rs_touch's exists()
            # (touch.cpp:281-293 at irods 4.3.4) are rsObjStat as the caller: without read_object the path
            # is missing, and no_create makes that a silent success.
            if self.stat_data(caller, path) is not None:
                raise IrodsModelError("NOT_A_COLLECTION", f"[{path}] is not a collection.")
            check_touch_options(seconds=seconds, reference=reference)
            coll = self.stat_coll(caller, path)
            if coll is None:
                return
            if self.coll_level(caller, path) < WRITE:
                raise IrodsModelError("CAT_NO_ACCESS_PERMISSION", f"No permission on [{path}].")
            when = seconds
            if reference is not None:
                when = self.reference_mtime(caller, normalize(reference))
            coll.modify_time = now() if when is None else when

    def reference_mtime(self, caller: str, path: str) -> int:
        """The mtime of a reference collection or data object."""
        coll = self.visible_coll(caller, path)
        if coll is not None:
            return coll.modify_time
        obj = self.visible_data(caller, path)
        rep = obj.good_replica() if obj else None
        if rep is None:
            raise IrodsModelError("OBJ_PATH_DOES_NOT_EXIST", f"Reference [{path}] does not exist.")
        return rep.modify_time

    def set_inheritance(self, caller: str, path: str, *, enable: bool, admin: bool = False) -> None:
        """Turn ACL inheritance on or off for a collection."""
        with self.lock:
            coll = self.stat_coll(caller, normalize(path))  # is_collection first (collections:682 at 0.7.0)
            if coll is None:
                raise IrodsModelError("NOT_A_COLLECTION", f"[{path}] is not a collection.")
            self.require_admin_flag(caller, admin)
            if not admin and self.coll_level(caller, coll.path) < PERMISSIONS.index("own"):
                raise IrodsModelError("CAT_NO_ACCESS_PERMISSION", "Caller does not own the collection.")
            coll.inheritance = enable

    def can_see(self, caller: str, path: str) -> bool:
        """Whether a collection at ``path`` exists and is visible to the caller."""
        return self.coll_level(caller, path) >= SEE


def _locked(obj: DataObject) -> bool:
    """Whether ``try_lock`` refuses the object's unlink: a replica intermediate or write-locked (irods 4.3.4
    server/core/src/logical_locking.cpp:286-314, rsDataObjUnlink.cpp:283-290)."""
    return obj.locked_by is not None or any(r.status in (INTERMEDIATE, WRITE_LOCKED) for r in obj.replicas)
