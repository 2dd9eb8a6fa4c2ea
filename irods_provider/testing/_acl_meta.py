"""ACL and metadata operations: ACLs of collections and data objects, AVUs of those and of users/resources."""

from __future__ import annotations

from typing import Any

from irods_provider.testing._catalog import (
    OWN,
    PERMISSIONS,
    Avu,
    Collection,
    DataObject,
    ModelBase,
    Resource,
    User,
    canonical_permission,
    now,
)
from irods_provider.testing._errors import IrodsModelError

MODIFY_META = PERMISSIONS.index("modify_metadata")

MetaTarget = Collection | DataObject | User | Resource
"""Anything AVUs attach to."""


class AtomicOperationError(IrodsModelError):
    """A failed atomic batch: which operation failed and why (rendered as ``failed_operation``)."""

    def __init__(self, name: str, message: str, *, index: int, operation: Any) -> None:
        super().__init__(name, message)
        self.operation_index = index
        self.operation = operation


class AclMetaMixin(ModelBase):
    """set_permission / modify_permissions on collections and data objects; modify_metadata on all."""

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
            name = self.acl_key(entity, target.path)
            if name is None:
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
                name = self.acl_key(str(op["entity_name"]), target.path)
                if acl not in ("read", "write", "own", "null") or name is None:
                    raise AtomicOperationError(
                        "SYS_INVALID_INPUT_PARAM", "Invalid entity or acl.", index=i, operation=op
                    )
                perm = canonical_permission(acl)
                assert perm is not None
                staged.append((name, perm))
            for name, perm in staged:
                self._apply_acl(target, name, perm)

    def modify_metadata(
        self, caller: str, name: str, *, kind: str, operations: list[Any], admin: bool = False
    ) -> None:
        """Add/remove AVUs all-or-nothing on the ``kind`` entity called ``name`` (no type pre-check).

        As the server: look the entity up, then check the admin flag and the right to modify (users
        and resources: rodsadmins only), then apply the operations in order.
        """
        with self.lock:
            admin_ok = admin and self.is_admin(caller)
            target = self._meta_target(caller, name, kind, admin=admin_ok)
            if target is None:
                raise AtomicOperationError(
                    "SYS_INVALID_INPUT_PARAM", f"Entity [{name}] does not exist.", index=0, operation=None
                )
            if admin and not admin_ok:
                raise AtomicOperationError(
                    "CAT_INSUFFICIENT_PRIVILEGE_LEVEL",
                    "User is not an administrator.",
                    index=0,
                    operation=None,
                )
            if not self._may_modify_metadata(caller, target, admin=admin_ok):
                raise AtomicOperationError(
                    "CAT_NO_ACCESS_PERMISSION",
                    "User not allowed to modify metadata.",
                    index=0,
                    operation=None,
                )
            avus = list(target.avus)
            for i, op in enumerate(operations):
                avus = self._meta_step(avus, i, op)
            target.avus = avus

    def _meta_target(self, caller: str, name: str, kind: str, *, admin: bool) -> MetaTarget | None:
        if kind == "user":
            return self.users.get(name)
        if kind == "resource":
            return self.resources.get(name)
        return self._entity(caller, name, kind, admin=admin)

    def _may_modify_metadata(self, caller: str, target: MetaTarget, *, admin: bool) -> bool:
        if isinstance(target, User | Resource):
            return self.is_admin(caller)
        return self._level(caller, target, admin=admin) >= MODIFY_META

    def _meta_step(self, avus: list[Avu], i: int, op: Any) -> list[Avu]:
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
