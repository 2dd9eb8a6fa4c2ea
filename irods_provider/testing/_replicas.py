"""Replica-level operations: register a local file, trim a replica, modify replica properties (admin)."""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

from irods_provider.testing._catalog import WRITE, DataObject, ModelBase, Replica, normalize
from irods_provider.testing._errors import IrodsModelError
from irods_provider.testing._params import to_int
from irods_provider.testing._security import register_allowed, register_roots

# modify_replica property → (Replica attribute, is integer)
REPLICA_PROPERTIES: dict[str, tuple[str, bool]] = {
    "checksum": ("checksum", False),
    "modify-time": ("modify_time", True),
    "create-time": ("create_time", True),
    "access-time": ("access_time", True),
    "path": ("physical_path", False),
    "replica-number": ("number", True),
    "replica-status": ("status", False),
    "size": ("size", True),
}
OTHER_PROPERTIES = ("comments", "expiry-time", "mode", "resource-id", "status", "type-name", "version")
# Of those, the per-replica R_DATA_MAIN text columns: data_expiry_ts, data_mode, data_version.
_REPLICA_TEXT = {"expiry-time": "expiry", "mode": "mode", "version": "version"}


def _registered_columns(rep: Replica, existing: list[Replica]) -> None:
    """data_version/data_mode/data_expiry_ts of a registered replica (irods 4.3.4 register_physical_path.cpp).

    A new object's info comes from the HTTP API's zeroed DataObjInp (createMode 0: data_objects:2072 at
    0.7.0) through initDataObjInfoWithInp (:306; objDesc.cpp:378): mode "0". An additional replica copies
    an existing replica's info (:233) and db_reg_replica_op its row (db_plugin.cpp:3012-3035, mode :3144).
    """
    if existing:
        rep.version, rep.mode, rep.expiry = existing[0].version, existing[0].mode, existing[0].expiry
    else:
        rep.mode = "0"


class ReplicasMixin(ModelBase):
    """register / trim / modify_replica."""

    def register(
        self,
        caller: str,
        path: str,
        *,
        physical_path: str,
        resource: str,
        additional_replica: bool = False,
        data_size: int | None = None,
        checksum: bool = False,
        force: bool = False,
    ) -> None:
        """Register a file of the emulator's own storage as a data object (or an additional replica).

        Only files under the spool or the configured ``register_root`` (symlinks resolved) qualify; any
        other path is PATH_REG_NOT_ALLOWED, as a server whose path-registration policy forbids it says,
        before the path is looked at (so the error does not tell whether a host file exists).
        """
        path = normalize(path)
        source = Path(physical_path)
        with self.lock:
            if not self.is_admin(caller):
                raise IrodsModelError("CAT_INSUFFICIENT_PRIVILEGE_LEVEL", "Registration requires rodsadmin.")
            if not register_allowed(physical_path, register_roots(self.config, self.spool)):
                raise IrodsModelError(
                    "PATH_REG_NOT_ALLOWED", f"[{physical_path}] is outside the emulator's register root."
                )
            source = Path(os.path.realpath(physical_path))
            if resource not in self.resources_for(path):
                raise IrodsModelError("SYS_RESC_DOES_NOT_EXIST", f"Resource [{resource}] does not exist.")
            if not source.is_file():
                raise IrodsModelError("USER_FILE_DOES_NOT_EXIST", f"[{physical_path}] is not a file.")
            if posixpath.dirname(path) not in self.collections:
                raise IrodsModelError(
                    "OBJ_PATH_DOES_NOT_EXIST", f"[{posixpath.dirname(path)}] does not exist."
                )
            obj = self.data_objects.get(path)
            if obj is not None and not additional_replica and not force:
                raise IrodsModelError("OVERWRITE_WITHOUT_FORCE_FLAG", f"[{path}] exists.")
            if obj is None or not additional_replica:
                if obj is not None:
                    self.drop_data_object(path)
                obj = DataObject(
                    id=self.new_id(), path=path, owner=caller, zone=self.zone, acl={caller: "own"}
                )
                self.data_objects[path] = obj
            number = max((r.number for r in obj.replicas), default=-1) + 1
            # A registered replica IS the file (as in iRODS): writes change it, removal deletes it.
            rep = Replica(number=number, resource=resource, spool_file=source, physical_path=physical_path)
            _registered_columns(rep, obj.replicas)
            rep.size = data_size if data_size is not None else rep.spool_file.stat().st_size
            if checksum:
                rep.checksum = self.replica_checksum(obj, rep)
            for other in obj.replicas:
                other.status = "0"
            obj.replicas.append(rep)

    def trim_unlinks(self, path: str, replica: str, *, catalog_only: bool) -> bool:
        """Whether a trim of ``replica`` would unlink a file now (the object has another replica, that one
        exists, nothing holds the object): then :attr:`EmulatorConfig.server_unlink_seconds` applies."""
        with self.lock:
            obj = self.data_objects.get(normalize(path))
            number = to_int(replica, bits=32)
            if catalog_only or obj is None or len(obj.replicas) <= 1 or obj.locked_by is not None:
                return False
            return any(r.number == number for r in obj.replicas)

    def trim(
        self, caller: str, path: str, *, replica: str, catalog_only: bool = False, admin: bool = False
    ) -> None:
        """Remove (or just unregister) one replica, as rsDataObjTrim does with the HTTP API's COPIES_KW "1".

        irods 4.3.4 server/api/src/rsDataObjTrim.cpp:156-222: an object with at most one replica is left alone
        and the call succeeds (the minimum count is met) before ``replica-number`` is even parsed; then
        std::stoi (USER_INVALID_REPLICA_INPUT), the replica (SYS_REPLICA_DOES_NOT_EXIST), the lock
        (LOCKED_DATA_OBJECT_ACCESS) and the last good replica (USER_INCOMPATIBLE_PARAMS).
        """
        with self.lock:
            self.require_admin_flag(caller, admin)
            # file_object_factory's getDataObjInfo (rsDataObjTrim.cpp:136-147 at irods 4.3.4) is a GenQuery
            # the caller's access filters: read_object on the object and its collection, else no row.
            obj = self.stat_data(caller, normalize(path))
            if obj is None:
                raise IrodsModelError("CAT_NO_ROWS_FOUND", f"[{path}] does not exist.")
            if self.data_level(caller, obj, admin=admin) < WRITE:
                raise IrodsModelError("CAT_NO_ACCESS_PERMISSION", "No permission to trim.")
            if len(obj.replicas) <= 1:
                return
            number = to_int(replica, bits=32)
            if number is None:
                raise IrodsModelError("USER_INVALID_REPLICA_INPUT", f"Invalid replica number [{replica}].")
            rep = next((r for r in obj.replicas if r.number == number), None)
            if rep is None:
                raise IrodsModelError("SYS_REPLICA_DOES_NOT_EXIST", "target replica does not exist")
            if obj.locked_by is not None:
                raise IrodsModelError("LOCKED_DATA_OBJECT_ACCESS", f"[{path}] is locked.")
            good = sum(1 for r in obj.replicas if r.status == "1")
            if good <= 1 and rep.status == "1":
                raise IrodsModelError("USER_INCOMPATIBLE_PARAMS", "cannot remove the last good replica")
            obj.replicas.remove(rep)
            if not catalog_only:
                rep.spool_file.unlink(missing_ok=True)

    def modify_replica(
        self,
        caller: str,
        path: str,
        *,
        replica_number: int | None,
        hierarchy: str | None,
        changes: dict[str, str],
    ) -> None:
        """Change catalog properties of one replica (rodsadmin only, like the server's ADMIN flag)."""
        with self.lock:
            if not self.is_admin(caller):
                raise IrodsModelError(
                    "CAT_INSUFFICIENT_PRIVILEGE_LEVEL", "modify_replica requires rodsadmin."
                )
            obj = self.data_objects.get(normalize(path))
            if obj is None:
                raise IrodsModelError("CAT_NO_ROWS_FOUND", f"[{path}] does not exist.")
            if replica_number is not None:
                rep = next((r for r in obj.replicas if r.number == replica_number), None)
            else:
                leaf = (hierarchy or "").split(";")[-1]
                rep = next((r for r in obj.replicas if r.resource == leaf), None)
            if rep is None:
                raise IrodsModelError("SYS_REPLICA_DOES_NOT_EXIST", "Replica does not exist.")
            staged: list[tuple[str, object]] = []
            for prop, value in changes.items():
                if prop in OTHER_PROPERTIES:
                    if prop == "comments":
                        obj.comments = value
                    elif prop == "type-name":
                        obj.data_type = value
                    elif prop in _REPLICA_TEXT:  # catalog text columns, stored as sent
                        staged.append((_REPLICA_TEXT[prop], value))
                    continue
                attr, is_int = REPLICA_PROPERTIES[prop]
                try:
                    staged.append((attr, int(value) if is_int else value))
                except ValueError:
                    raise IrodsModelError("SYS_INVALID_INPUT_PARAM", f"Invalid value for [{prop}].") from None
            for attr, parsed in staged:
                setattr(rep, attr, parsed)
