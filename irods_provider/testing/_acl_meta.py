"""ACL and metadata operations: ACLs of collections and data objects, AVUs of those and of users/resources."""

from __future__ import annotations

from typing import Any

from irods_provider.testing._catalog import (
    OWN,
    WRITE,
    Avu,
    Collection,
    DataObject,
    ModelBase,
    Resource,
    User,
    canonical_permission,
    now,
)
from irods_provider.testing._error_table import error_code
from irods_provider.testing._errors import IrodsModelError
from irods_provider.testing._fslib import asks_catalog, plugin_object_id

MetaTarget = Collection | DataObject | User | Resource
"""Anything AVUs attach to."""


class AtomicOperationError(IrodsModelError):
    """A failed atomic batch: which operation failed and why (rendered as ``failed_operation``)."""

    def __init__(self, name: str, message: str, *, index: int, operation: Any) -> None:
        super().__init__(name, message)
        self.operation_index = index
        self.operation = operation


def json_type(value: Any) -> str:
    """nlohmann::json's ``type_name()`` of a decoded JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def operation_list(operations: Any) -> list[Any]:
    """The operations the plugins' loop visits: ``operations.size()`` elements read by ``operations[i]``.

    A list is itself; null and ``{}`` have size 0; any other value has elements, and indexing a non-array
    throws json type_error 305, which both plugins catch as SYS_INTERNAL_ERR with ``operation: null``
    (atomic_apply_acl_operations.cpp:546-573, atomic_apply_metadata_operations.cpp:531-558, irods 4.3.4).
    """
    if isinstance(operations, list):
        return operations
    if operations is None or operations == {}:
        return []
    message = (
        "[json.exception.type_error.305] cannot use operator[] with a numeric argument with "
        + json_type(operations)
    )
    raise AtomicOperationError("SYS_INTERNAL_ERR", message, index=0, operation=None)


def json_string(op: Any, key: str, index: int, error: str) -> str:
    """``op.at(key).get<std::string>()``: a missing key, a non-object or a non-string raise ``error``
    with nlohmann's message (out_of_range 403, type_error 304 / 302)."""
    if not isinstance(op, dict):
        message = f"[json.exception.type_error.304] cannot use at() with {json_type(op)}"
    elif key not in op:
        message = f"[json.exception.out_of_range.403] key '{key}' not found"
    elif not isinstance(op[key], str):
        message = f"[json.exception.type_error.302] type must be string, but is {json_type(op[key])}"
    else:
        return str(op[key])
    raise AtomicOperationError(error, message, index=index, operation=op)


def check_touch_options(
    *,
    replica_number: int | None = None,
    leaf_resource: str | None = None,
    seconds: int | None = None,
    reference: str | None = None,
) -> None:
    """rs_touch's option checks, in order (throw_if_input_is_invalid, plugins/api/src/touch.cpp:232-251
    at irods 4.3.4): incompatible pairs, then a negative replica number, an empty leaf resource, an empty
    reference and negative seconds are INPUT_ARG_NOT_WELL_FORMED_ERR."""
    if (replica_number is not None and leaf_resource is not None) or (
        seconds is not None and reference is not None
    ):
        raise IrodsModelError("USER_INCOMPATIBLE_PARAMS", "Incompatible parameters.")
    if (
        (replica_number is not None and replica_number < 0)
        or leaf_resource == ""
        or reference == ""
        or (seconds is not None and seconds < 0)
    ):
        raise IrodsModelError("INPUT_ARG_NOT_WELL_FORMED_ERR", "Touch option not well formed.")


class AclMetaMixin(ModelBase):
    """set_permission / modify_permissions on collections and data objects; modify_metadata on all."""

    def _entity(self, caller: str, path: str, kind: str) -> Collection | DataObject | None:
        """The entity as the caller's own GenQuery or ``status()`` finds it, ``admin=1`` or not: the
        HTTP API's kind pre-check (rsObjStat) and the plugins' ``get_object_id`` query are access-checked
        (general_query.cpp:1663-1689 at irods 4.3.4), so a rodsuser needs ``read_object`` on it (and on
        its collection, for a data object); ``read_metadata`` alone finds nothing."""
        if kind == "collection":
            return self.stat_coll(caller, path)
        return self.stat_data(caller, path)

    def _plugin_object(
        self, caller: str, path: str, kind: str
    ) -> tuple[int, Collection | DataObject | None] | None:
        """``get_object_id`` of the atomic plugins, then the object of that id in the LOCAL catalog.

        The plugins run on the local zone's catalog provider (atomic_apply_metadata_operations.cpp:445-456,
        atomic_apply_acl_operations.cpp:437-448 at irods 4.3.4) and find the id by a GenQuery1 on
        ``COLL_NAME``, which rsGenQuery sends to the path's zone (rsGenQuery.cpp:667-690,
        ``getZoneHintForGenQuery`` miscUtil.cpp:1835-1863); rights are checked and changes written in the
        local database by that id. So a remote-zone path gives its remote id and the local object holding
        it, if any (none here: ids are unique across the emulator's zones). None: the query finds nothing.
        """
        found = self._entity(caller, path, kind)
        if found is None:
            return None
        object_id = found.id
        if asks_catalog(path):  # the query string may read otherwise than meant (see _fslib)
            looked_up = plugin_object_id(self, caller, path, kind, self.config.irods_release)
            if looked_up is None:
                return None
            object_id = looked_up
        if self.zone_of(path) == self.zone and object_id == found.id:
            return found.id, found
        entities: list[Collection | DataObject] = [*self.collections.values(), *self.data_objects.values()]
        local = [e for e in entities if e.id == object_id and self.zone_of(e.path) == self.zone]
        return object_id, (local[0] if local else None)

    def local_name(self, caller: str) -> str:
        """The local user behind ``caller`` (``alice`` for ``alice#localZone``, her name in a remote zone)."""
        return caller.removesuffix(f"#{self.zone}")

    def _level(self, caller: str, target: Collection | DataObject, *, admin: bool) -> int:
        if admin and self.is_admin(caller):
            return OWN
        return self.access_level(caller, target.acl)

    def set_permission(
        self, caller: str, path: str, *, kind: str, entity: str, permission: str, admin: bool = False
    ) -> None:
        """Grant ``permission`` (4.3 name or alias; ``null`` removes) to a user or group."""
        with self.lock:
            # is_collection / is_data_object as the caller first (collections:580, data_objects:1837, 0.7.0)
            target = self._entity(caller, path, kind)
            if target is None:
                raise IrodsModelError("NOT_A_COLLECTION" if kind == "collection" else "NOT_A_DATA_OBJECT")
            self.require_admin_flag(caller, admin)
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
        self, caller: str, path: str, *, kind: str, operations: Any, admin: bool = False
    ) -> None:
        """Apply ACL operations all-or-nothing, as atomic_apply_acl_operations.cpp (irods 4.3.4) does.

        The admin flag, then ``own`` (lines 516-542), are checked before any operation, so a caller without
        ``own`` fails with ``operation: null`` even for an empty list. ``operations`` is any JSON value:
        null and ``{}`` hold no operation; another non-list fails at its first element (lines 546-573).
        """
        with self.lock:
            if self._entity(caller, path, kind) is None:
                raise IrodsModelError("NOT_A_COLLECTION" if kind == "collection" else "NOT_A_DATA_OBJECT")
            looked_up = self._plugin_object(caller, path, kind)
            if looked_up is None:  # the id query found nothing (lines 196-202)
                message = f"Failed to retrieve object id [error_code={error_code('SYS_UNKNOWN_ERROR')}]"
                raise AtomicOperationError("SYS_UNKNOWN_ERROR", message, index=0, operation=None)
            object_id, target = looked_up
            local = self.local_name(caller)  # the plugin acts as the local user (its rights, its admin flag)
            where = f"[logical_path={path}, object_id={object_id}]"
            if admin and not self.is_admin(local):
                raise AtomicOperationError(
                    "CAT_INSUFFICIENT_PRIVILEGE_LEVEL",
                    f"User [{local}#{self.zone}] not allowed to modify ACLs {where}. "
                    "admin_mode cannot be enabled because user is not an administrator.",
                    index=0,
                    operation=None,
                )
            if (target is None and not admin) or (
                target is not None and self._level(local, target, admin=admin) < OWN
            ):
                raise AtomicOperationError(
                    "CAT_NO_ACCESS_PERMISSION",
                    f"User [{local}#{self.zone}] not allowed to modify ACLs {where}",
                    index=0,
                    operation=None,
                )
            # Entities are looked up in the local catalog (get_entity_id, lines 360-372).
            anchor = target.path if target is not None else f"/{self.zone}"
            staged = [self._acl_step(anchor, i, op) for i, op in enumerate(operation_list(operations))]
            if target is None:  # rows keyed by a remote id, which no local object carries
                return
            for name, perm in staged:
                self._apply_acl(target, name, perm)

    def _acl_step(self, anchor: str, i: int, op: Any) -> tuple[str, str]:
        """One ACL operation in the plugin's order (atomic_apply_acl_operations.cpp:379-428, irods 4.3.4).

        ``acl`` (a json error is SYS_INTERNAL_ERR), its name (acl_to_id, lines 66-77, else
        SYS_INVALID_INPUT_PARAM), ``zone``, ``entity_name``, then the entity (unknown:
        SYS_INVALID_INPUT_PARAM).
        """
        acl = json_string(op, "acl", i, "SYS_INTERNAL_ERR")
        perm = canonical_permission(acl)
        if perm is None:
            message = f"Invalid ACL [acl={acl}]"
            raise AtomicOperationError("SYS_INVALID_INPUT_PARAM", message, index=i, operation=op)
        if "zone" in op:
            json_string(op, "zone", i, "SYS_INTERNAL_ERR")
        entity = json_string(op, "entity_name", i, "SYS_INTERNAL_ERR")
        name = self.acl_key(entity, anchor)
        if name is None:
            raise AtomicOperationError("SYS_INVALID_INPUT_PARAM", "Invalid entity", index=i, operation=op)
        return name, perm

    def modify_metadata(
        self, caller: str, name: str, *, kind: str, operations: Any, admin: bool = False
    ) -> None:
        """Add/remove AVUs all-or-nothing on the ``kind`` entity called ``name`` (no type pre-check).

        As the server: look the entity up, then check the admin flag and the right to modify (users
        and resources: rodsadmins only), then apply the operations in order.
        """
        with self.lock:
            local = self.local_name(caller)  # the plugin acts as the local user (its rights, its admin flag)
            admin_ok = admin and self.is_admin(local)
            try:  # a lookup query the string splitter refuses is caught the same way (lines 496-507)
                found = self._meta_target(caller, name, kind)
            except AtomicOperationError:
                raise
            except IrodsModelError as e:
                message = f"query fill failed: {e.message}"
                raise AtomicOperationError(
                    "SYS_INVALID_INPUT_PARAM", message, index=0, operation=None
                ) from None
            if found is None:
                message = f"Entity does not exist [entity_name={name}]"
                raise AtomicOperationError("SYS_INVALID_INPUT_PARAM", message, index=0, operation=None)
            target = found[1]
            if admin and not admin_ok:
                raise AtomicOperationError(
                    "CAT_INSUFFICIENT_PRIVILEGE_LEVEL",
                    "User is not an administrator",
                    index=0,
                    operation=None,
                )
            if not admin_ok and (target is None or not self._may_modify_metadata(local, target, admin=False)):
                raise AtomicOperationError(
                    "CAT_NO_ACCESS_PERMISSION",
                    "User not allowed to modify metadata",
                    index=0,
                    operation=None,
                )
            avus = list(target.avus) if target is not None else []
            for i, op in enumerate(operation_list(operations)):
                avus = self._meta_step(avus, i, op)
            if target is not None:  # None: rows keyed by a remote id, which no local object carries
                target.avus = avus

    def add_avu(self, path: str, attribute: str, value: str, units: str = "") -> None:
        """Attach an AVU to ``path`` directly in its zone's catalog (the server's ``add_avu`` test hook)."""
        with self.lock:
            target = self.collections.get(path) or self.data_objects.get(path)
            if target is None:
                raise IrodsModelError("OBJ_PATH_DOES_NOT_EXIST", f"No collection or data object [{path}].")
            target.avus = self._meta_step(
                list(target.avus),
                0,
                {"operation": "add", "attribute": attribute, "value": value, "units": units},
            )

    def _meta_target(self, caller: str, name: str, kind: str) -> tuple[int, MetaTarget | None] | None:
        """The id ``get_object_id`` finds and the local entity holding it (see ``_plugin_object``)."""
        if kind in ("user", "resource"):
            entity = (self.users if kind == "user" else self.resources).get(name)
            return None if entity is None else (entity.id, entity)
        return self._plugin_object(caller, name, kind)

    def _may_modify_metadata(self, caller: str, target: MetaTarget, *, admin: bool) -> bool:
        """Users and resources: rodsadmins; collections and data objects: ``modify_object`` or more
        (user_has_permission_to_modify_entity, server/core/src/catalog_utilities.cpp:81-121, irods 4.3.4)."""
        if isinstance(target, User | Resource):
            return self.is_admin(caller)
        return self._level(caller, target, admin=admin) >= WRITE

    def _meta_step(self, avus: list[Avu], i: int, op: Any) -> list[Avu]:
        """One AVU operation in the plugin's order (atomic_apply_metadata_operations.cpp:365-440, irods
        4.3.4): ``attribute`` and ``value`` must be JSON strings (else JSON_VALIDATION_ERROR), neither empty
        (SYS_INVALID_INPUT_PARAM), ``units`` a string when present, then ``operation`` add or remove."""
        attr = json_string(op, "attribute", i, "JSON_VALIDATION_ERROR")
        value = json_string(op, "value", i, "JSON_VALIDATION_ERROR")
        if not attr or not value:
            raise AtomicOperationError(
                "SYS_INVALID_INPUT_PARAM",
                f"Empty metadata attribute name or value [attribute={attr}, value={value}]",
                index=i,
                operation=op,
            )
        units = json_string(op, "units", i, "JSON_VALIDATION_ERROR") if "units" in op else ""
        kind = json_string(op, "operation", i, "JSON_VALIDATION_ERROR")
        if kind not in ("add", "remove"):
            message = "Invalid metadata operation."
            raise AtomicOperationError("INVALID_OPERATION", message, index=i, operation=op)
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
