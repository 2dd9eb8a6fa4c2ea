"""Server-side copies of data objects: ``copy`` onto another object, ``replicate`` onto another resource.

Each opens its destination for writing, which locks the object (``_locks``), then copies the bytes and
closes it; in between it waits while a test holds the path (``hold_writes``), and its bytes take the time
``EmulatorConfig.server_io_bytes_per_second`` gives them. The HTTP layer runs them in a worker thread: the
wait, and the copy of a big file, never stall the event loop.
"""

from __future__ import annotations

import posixpath
import re
import shutil
from dataclasses import dataclass

from irods_provider.testing._catalog import READ, DataObject, Replica, normalize, now
from irods_provider.testing._deadline import server_work_blocking
from irods_provider.testing._errors import IrodsModelError
from irods_provider.testing._locks import (
    GOOD,
    WriteHoldsMixin,
    lock_replicas,
    original_status,
    unlock_replicas,
)
from irods_provider.testing._objects import DataObjectsMixin, WriteTarget


@dataclass
class Replication:
    """An opened replicate: the object, its source replica and the locked destination replicas."""

    obj: DataObject
    source: Replica
    targets: list[Replica]


class CopiesMixin(DataObjectsMixin, WriteHoldsMixin):
    """copy (open, then finish) and replicate (open, then finish)."""

    def copy_data_object(
        self,
        caller: str,
        src: str,
        dst: str,
        *,
        src_resource: str | None = None,
        dst_resource: str | None = None,
        overwrite: bool = False,
    ) -> None:
        """Copy a data object's good replica to a new (or, with ``overwrite``, existing) object."""
        source, target = self.copy_open(
            caller, src, dst, src_resource=src_resource, dst_resource=dst_resource, overwrite=overwrite
        )
        server_work_blocking(self.config, source.size)
        self.wait_if_held(target.path, "copy")
        self.copy_finish(source, target)

    def copy_open(
        self,
        caller: str,
        src: str,
        dst: str,
        *,
        src_resource: str | None = None,
        dst_resource: str | None = None,
        overwrite: bool = False,
    ) -> tuple[Replica, WriteTarget]:
        """The checks of a copy, then its destination opened (and locked): (source replica, target)."""
        with self.lock:
            src, dst = normalize(src), normalize(dst)
            reader, caller = self._copy_callers(caller, src, dst)
            obj = self.stat_data(reader, src)  # is_data_object (data_objects:2359 at 0.7.0): rsObjStat
            if obj is None:
                raise IrodsModelError("NOT_A_DATA_OBJECT", f"[{src}] is not a data object.")
            self._copy_overwrite_checks(caller, dst, dst_resource=dst_resource, overwrite=overwrite)
            for res, where in ((src_resource, src), (dst_resource, dst)):
                if res is not None and res not in self.resources_for(where):
                    raise IrodsModelError("SYS_RESC_DOES_NOT_EXIST", f"Resource [{res}] does not exist.")
            if self.access_level(reader, obj.acl) < READ:
                raise IrodsModelError("CAT_NO_ACCESS_PERMISSION", f"No read permission on [{src}].")
            dst_parent = posixpath.dirname(dst)
            if self.visible_coll(caller, dst_parent) is None:
                code = (
                    "CAT_NO_ACCESS_PERMISSION"
                    if dst_parent in self.collections
                    else "OBJ_PATH_DOES_NOT_EXIST"
                )
                raise IrodsModelError(code, f"Cannot access [{dst_parent}].")
            if dst in self.collections:
                raise IrodsModelError("CAT_NAME_EXISTS_AS_COLLECTION", f"[{dst}] is a collection.")
            if src == dst:
                raise IrodsModelError("SAME_SRC_DEST_PATHS_ERR", "Source and destination are the same.")
            if obj.locked_by is not None:  # opening the source for read: no replica votes for it
                raise IrodsModelError("HIERARCHY_ERROR", f"[{src}] is locked by an open write.")
            # Its source is opened for read by voting (rsDataObjCopy.cpp:92-96): a stale one votes low.
            source = self._pick_replica(obj, src_resource, None, stale_votes=True)
            target = self.open_write(caller, dst, truncate=True, resource=dst_resource, holder="copy")
            if target.created:  # a new object: version "" and expiry as a create registers them
                target.replica.mode = _copy_create_mode(source.mode)
            return source, target

    def _copy_callers(self, caller: str, src: str, dst: str) -> tuple[str, str]:
        """Who reads the source and who writes the destination: the request's user as each path's zone knows
        it (``user#localZone`` in a remote one). A copy with either side in the local zone runs there and
        reaches the other side through the federation as the proxied user (irods 4.3.4
        rsDataObjCopy.cpp:45-90); ``caller`` is the identity in the source's zone."""
        bare = caller.removesuffix(f"#{self.zone}")
        return self.identity(bare, self.zone_of(src)), self.identity(bare, self.zone_of(dst))

    def copy_finish(self, source: Replica, target: WriteTarget) -> None:
        """Copy the bytes into the opened destination and close it (good, unlocked).

        A copy of an empty object onto an existing replica writes no byte: rsDataObjClose then gives that
        replica its status from before and restores its siblings' (``finalize_data_object``, irods 4.3.4
        rsDataObjClose.cpp:361-380; rsDataObjCopy.cpp:206 reports the source's size as bytes written), the
        size becomes the vault's (0) and the checksum is cleared, the mtime kept."""
        with self.lock:
            shutil.copyfile(source.spool_file, target.replica.spool_file)
            obj = self.data_objects.get(target.path)
            if source.size == 0 and not target.created and obj is not None:
                rep = target.replica
                rep.size, rep.checksum, rep.status = 0, "", original_status(rep)
                unlock_replicas(obj, restore=[r for r in obj.replicas if r is not rep])
                return
            target.written = None
        self.finish_write(target)

    def _copy_overwrite_checks(
        self, caller: str, dst: str, *, dst_resource: str | None, overwrite: bool
    ) -> None:
        """rsDataObjCopy's first checks on an existing destination (irods 4.3.4 rsDataObjCopy.cpp:233-275).

        Without the force flag → OVERWRITE_WITHOUT_FORCE_FLAG; with it and ``dst-resource``, the object must
        already have a replica in that resource's hierarchy (copy never adds a replica) → HIERARCHY_ERROR.
        Both come before any other check of the resources or the paths.
        """
        existing = self.stat_data(caller, dst)  # fs::server::is_data_object (rsDataObjCopy.cpp:235-236)
        if existing is None:
            return
        if not overwrite:
            raise IrodsModelError("OVERWRITE_WITHOUT_FORCE_FLAG", f"[{dst}] exists.")
        if dst_resource is not None and not any(
            self.root_of(r.resource, zone=self.zone_of(dst)) == dst_resource for r in existing.replicas
        ):
            raise IrodsModelError("HIERARCHY_ERROR", f"[{dst}] has no replica on [{dst_resource}].")

    def replicate(
        self,
        caller: str,
        path: str,
        *,
        dst_resource: str,
        src_resource: str | None,
        src_replica: str | None,
        admin: bool = False,
    ) -> None:
        """Copy the source replica to the leaves of ``dst_resource`` (new or stale replicas become good)."""
        plan = self.replicate_open(
            caller,
            path,
            dst_resource=dst_resource,
            src_resource=src_resource,
            src_replica=src_replica,
            admin=admin,
        )
        if plan is not None:
            server_work_blocking(self.config, plan.source.size * len(plan.targets))
            self.wait_if_held(plan.obj.path, "replicate")
            self.replicate_finish(plan)

    def replicate_open(
        self,
        caller: str,
        path: str,
        *,
        dst_resource: str,
        src_resource: str | None,
        src_replica: str | None,
        admin: bool = False,
    ) -> Replication | None:
        """The checks of a replicate, then its destination replicas opened: new ones registered, the object
        locked (destinations intermediate, the others write-locked); None when every leaf holds a good one."""
        with self.lock:
            self.require_admin_flag(caller, admin)
            number = _source_number(src_replica)
            zone = self.zone_of(normalize(path))
            for res in (src_resource, dst_resource):
                if res is not None and res not in self.resources_in(zone):
                    raise IrodsModelError("SYS_RESC_DOES_NOT_EXIST", f"Resource [{res}] does not exist.")
            self.check_root(dst_resource, zone=zone)
            # resolve_resource_hierarchy → file_object_factory → getDataObjInfo (rsDataObjRepl.cpp:404, irods
            # 4.3.4) is a GenQuery filtered by the caller's read_object on the object and its collection.
            obj = self.stat_data(caller, normalize(path))
            if obj is None:
                raise IrodsModelError("CAT_NO_ROWS_FOUND", f"[{path}] does not exist.")
            if self.data_level(caller, obj, admin=admin) < READ:
                raise IrodsModelError("CAT_NO_ACCESS_PERMISSION", "No read permission.")
            if obj.locked_by is not None:
                raise IrodsModelError("HIERARCHY_ERROR", f"[{path}] is locked by an open write.")
            source = self._pick_replica(obj, src_resource, number)
            existing = {r.resource: r for r in obj.replicas}
            targets: list[Replica] = []
            for leaf in self.leaves_for(dst_resource, zone=zone):
                target = existing.get(leaf)
                if target is None:
                    target = self.add_replicas(obj, leaf)[0]
                    _registered_like(target, source)
                elif target is source or target.status == GOOD:
                    continue
                targets.append(target)
            if not targets:
                return None
            lock_replicas(obj, targets, "replicate")
            return Replication(obj, source, targets)

    def replicate_finish(self, plan: Replication) -> None:
        """Copy the source's bytes into each destination and close them: each takes the source's status
        from before the lock, the other replicas get theirs back (``finalize_destination_replica_for_
        replication``, rsDataObjClose.cpp:263-330 at 4.3.4). A source with a checksum, not stale, gives
        each destination a registered checksum computed over its bytes in the source's scheme
        (rsDataObjRepl.cpp:106-153 ``calculate_checksum`` at 4.3.4, the same at 5.0.2): the source's, as
        the bytes are copied faithfully (a damaged source is not caught here as USER_CHKSUM_MISMATCH)."""
        with self.lock:
            status = original_status(plan.source)
            checksum = plan.source.checksum if plan.source.checksum and status != "0" else ""
            for target in plan.targets:
                shutil.copyfile(plan.source.spool_file, target.spool_file)
                target.size, target.status, target.checksum = plan.source.size, status, checksum
                target.modify_time = now()
            unlock_replicas(plan.obj, restore=[r for r in plan.obj.replicas if r not in plan.targets])


def _copy_create_mode(source_mode: str) -> str:
    """A copy's data_mode: the source's when it is a mode (``atoi`` of it >= 0100), else the zeroed input's
    createMode 0 (irods 4.3.4 rsDataObjCopy.cpp:319-322; HTTP API 0.7.0 data_objects main.cpp:2332)."""
    digits = re.match(r"\s*[+-]?\d+", source_mode)
    mode = int(digits.group()) if digits else 0
    return str(mode) if mode >= 0o100 else "0"


def _registered_like(new: Replica, source: Replica) -> None:
    """A replica replicate adds: registered from the source replica's catalog info and row, so it has its
    data_version, data_mode and data_expiry_ts (irods 4.3.4 register_physical_path.cpp:233-241,
    db_plugin.cpp:3012-3035 and :3144, rsDataObjOpen.cpp:419-425)."""
    new.version, new.mode, new.expiry = source.version, source.mode, source.expiry


def _source_number(src_replica: str | None) -> int | None:
    """``src-replica-number`` as replicate reads it: not an integer, or negative, is refused."""
    if src_replica is None:
        return None
    try:
        number = int(src_replica)
    except ValueError:
        raise IrodsModelError("USER_INVALID_REPLICA_INPUT", "Invalid replica number.") from None
    if number < 0:
        raise IrodsModelError("SYS_REPLICA_INACCESSIBLE", "Negative replica number.")
    return number
