"""ACL and metadata operations shared by collections and data objects (atomic batches included)."""

from __future__ import annotations

from typing import Any

from irods_provider.testing._catalog import (
    OWN,
    PERMISSIONS,
    Avu,
    Collection,
    DataObject,
    ModelBase,
    canonical_permission,
    now,
)
from irods_provider.testing._errors import IrodsModelError

MODIFY_META = PERMISSIONS.index("modify_metadata")


class AtomicOperationError(IrodsModelError):
    """A failed atomic batch: which operation failed and why (rendered as ``failed_operation``)."""

    def __init__(self, name: str, message: str, *, index: int, operation: Any) -> None:
        super().__init__(name, message)
        self.operation_index = index
        self.operation = operation


class AclMetaMixin(ModelBase):
    """set_permission / modify_permissions / modify_metadata on a collection or a data object."""

    def _entity(self, caller: str, path: str, kind: str, *, admin: bool) -> Collection | DataObject | None:
        if kind == "collection":
            return self.visible_coll(caller, path, admin=admin)
        return self.visible_data(caller, path, admin=admin)

    def _level(self, caller: str, target: Collection | DataObject, *, admin: bool) -> int:
        if admin and self.is_admin(caller):
            return OWN
        return self.access_level(caller, target.acl)

    def set_permission(
        self, caller: str, path: str, *, kind: str, entity: str, permission: str, admin: bool = False
    ) -> None:
        """Grant ``permission`` (4.3 name or alias; ``null`` removes) to a user or group."""
        with self.lock:
            self.require_admin_flag(caller, admin)
            target = self._entity(caller, path, kind, admin=admin)
            if target is None:
                raise IrodsModelError("NOT_A_COLLECTION" if kind == "collection" else "NOT_A_DATA_OBJECT")
            perm = canonical_permission(permission)
            if perm is None:
                raise IrodsModelError("SYS_INVALID_INPUT_PARAM", f"Invalid permission [{permission}].")
            name = entity.split("#", 1)[0]
            if name not in self.users:
                raise IrodsModelError("CAT_INVALID_USER", f"Entity [{entity}] does not exist.")
            if self._level(caller, target, admin=admin) < OWN:
                raise IrodsModelError("CAT_NO_ACCESS_PERMISSION", "Caller does not own the object.")
            self._apply_acl(target, name, perm)

    @staticmethod
    def _apply_acl(target: Collection | DataObject, name: str, perm: str) -> None:
        if perm == "null":
            target.acl.pop(name, None)
        else:
            target.acl[name] = perm

    def modify_permissions(
        self, caller: str, path: str, *, kind: str, operations: list[Any], admin: bool = False
    ) -> None:
        """Apply ACL operations all-or-nothing (``acl`` ∈ read, write, own, null)."""
        with self.lock:
            self.require_admin_flag(caller, admin)
            target = self._entity(caller, path, kind, admin=admin)
            if target is None:
                raise IrodsModelError("NOT_A_COLLECTION" if kind == "collection" else "NOT_A_DATA_OBJECT")
            staged: list[tuple[str, str]] = []
            for i, op in enumerate(operations):
                if not isinstance(op, dict) or "entity_name" not in op or "acl" not in op:
                    raise AtomicOperationError(
                        "JSON_VALIDATION_ERROR", "Missing entity_name or acl.", index=i, operation=op
                    )
                if self._level(caller, target, admin=admin) < OWN:
                    raise AtomicOperationError(
                        "CAT_NO_ACCESS_PERMISSION", "Caller does not own the object.", index=i, operation=op
                    )
                acl = str(op["acl"])
                name = str(op["entity_name"]).split("#", 1)[0]
                if acl not in ("read", "write", "own", "null") or name not in self.users:
                    raise AtomicOperationError(
                        "SYS_INVALID_INPUT_PARAM", "Invalid entity or acl.", index=i, operation=op
                    )
                perm = canonical_permission(acl)
                assert perm is not None
                staged.append((name, perm))
            for name, perm in staged:
                self._apply_acl(target, name, perm)

    def modify_metadata(
        self, caller: str, path: str, *, kind: str, operations: list[Any], admin: bool = False
    ) -> None:
        """Add/remove AVUs all-or-nothing; the target is looked up as ``kind`` (no type pre-check)."""
        with self.lock:
            self.require_admin_flag(caller, admin)
            target = self._entity(caller, path, kind, admin=admin)
            if target is None:
                raise AtomicOperationError(
                    "SYS_INVALID_INPUT_PARAM", f"Entity [{path}] does not exist.", index=0, operation=None
                )
            avus = list(target.avus)
            for i, op in enumerate(operations):
                avus = self._meta_step(caller, target, avus, i, op, admin=admin)
            target.avus = avus

    def _meta_step(
        self, caller: str, target: Collection | DataObject, avus: list[Avu], i: int, op: Any, *, admin: bool
    ) -> list[Avu]:
        if not isinstance(op, dict) or not {"operation", "attribute", "value"} <= set(op):
            raise AtomicOperationError("JSON_VALIDATION_ERROR", "Missing keys.", index=i, operation=op)
        kind = op["operation"]
        if kind not in ("add", "remove"):
            raise AtomicOperationError(
                "INVALID_OPERATION", f"Invalid operation [{kind}].", index=i, operation=op
            )
        attr, value, units = str(op["attribute"]), str(op["value"]), str(op.get("units", ""))
        if not attr or not value:
            raise AtomicOperationError(
                "SYS_INVALID_INPUT_PARAM", "Empty attribute or value.", index=i, operation=op
            )
        if self._level(caller, target, admin=admin) < MODIFY_META:
            raise AtomicOperationError(
                "CAT_NO_ACCESS_PERMISSION", "No permission to modify metadata.", index=i, operation=op
            )
        same = [a for a in avus if (a.attribute, a.value, a.units) == (attr, value, units)]
        if kind == "add" and not same:
            return [*avus, Avu(id=self.new_id(), attribute=attr, value=value, units=units)]
        if kind == "remove":
            return [a for a in avus if a not in same]
        return avus

    def touch_time(self, target: Collection | DataObject, when: int | None) -> None:
        """Set the modify time of a collection or of a data object's good replica."""
        t = now() if when is None else when
        if isinstance(target, Collection):
            target.modify_time = t
        else:
            rep = target.good_replica() or (target.replicas[0] if target.replicas else None)
            if rep is not None:
                rep.modify_time = t
