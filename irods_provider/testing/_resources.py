"""Resources: create/remove/modify, parent-child hierarchy, stat (rodsadmin-only changes)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from irods_provider.testing._catalog import ModelBase, Replica, Resource, now_millis
from irods_provider.testing._errors import IrodsModelError

#: rodsDef.h (irods 4.3.4): NAME_LEN and MAX_PATH_ALLOWED; C ``isspace`` characters.
NAME_LEN, MAX_PATH_ALLOWED, C_SPACE = 64, 1024, " \t\n\v\f\r"
COORDINATING = ("passthru", "replication", "random", "roundrobin", "compound", "deferred", "load_balanced")
PROPERTIES = (
    "name",
    "type",
    "host",
    "vault_path",
    "context",
    "status",
    "free_space",
    "comments",
    "information",
)


# How many unixfilesystem children a configured coordinating resource gets (``NAME_ufs0``, ...).
AUTO_CHILDREN = {"replication": 2, "passthru": 1, "random": 2, "roundrobin": 2}
RESOURCE_TYPES = ("unixfilesystem", *AUTO_CHILDREN)


def parse_resource_spec(spec: str) -> tuple[str, str]:
    """``NAME[:type]`` → (name, type); type defaults to unixfilesystem. ValueError on a bad spec."""
    name, _, type_ = spec.partition(":")
    type_ = type_ or "unixfilesystem"
    if not name or any(c in name for c in " ;/:") or type_ not in RESOURCE_TYPES:
        raise ValueError(
            f"invalid resource {spec!r}: expected NAME[:TYPE] with TYPE one of {', '.join(RESOURCE_TYPES)}"
        )
    return name, type_


class ResourcesMixin(ModelBase):
    """Resource administration; replicas live on leaf resources, clients name root resources.

    The resources endpoint acts in the local zone only (the HTTP API connects to its own zone: no zone
    parameter), so create/remove/modify/stat see ``self.resources``, never a federated zone's.
    """

    def seed_resources(self, specs: tuple[str, ...], *, zone: str | None = None) -> None:
        """Create the configured root resources of ``zone`` (default: the local zone), coordinating ones
        with unixfilesystem children."""
        table = self.resources_in(zone)
        hosts = self.config.resource_hosts
        for spec in specs:
            name, type_ = parse_resource_spec(spec)
            if name in table:
                raise ValueError(f"resource {name!r} is configured twice (or clashes with demoResc)")
            vault = f"/var/lib/irods/{name}Vault"
            coordinating = type_ in AUTO_CHILDREN
            # mkresc records the host it is given: the server's own name unless configured otherwise
            host = hosts.get(name, self.config.server_hostname)
            table[name] = Resource(
                id=self.new_id(),
                name=name,
                type=type_,
                host="EMPTY_RESC_HOST" if coordinating else host,
                vault_path="EMPTY_RESC_PATH" if coordinating else vault,
            )
            for index in range(AUTO_CHILDREN.get(type_, 0)):
                child = f"{name}_ufs{index}"
                table[child] = Resource(
                    id=self.new_id(),
                    name=child,
                    host=hosts.get(child, host),
                    vault_path=f"/var/lib/irods/{child}Vault",
                    parent=name,
                )

    def _local_replicas(self) -> Iterator[Replica]:
        """Replicas of the local zone's data objects (the only ones on the local zone's resources)."""
        for obj in self.data_objects.values():
            if self.zone_of(obj.path) == self.zone:
                yield from obj.replicas

    def _admin_only(self, caller: str) -> None:
        if not self.is_admin(caller):
            raise IrodsModelError("SYS_NO_API_PRIV", "Operation requires rodsadmin privileges.")

    def _resource(self, name: str) -> Resource:
        res = self.resources.get(name)
        if res is None:
            raise IrodsModelError("SYS_RESC_DOES_NOT_EXIST", f"Resource [{name}] does not exist.")
        return res

    def create_resource(
        self,
        caller: str,
        name: str,
        *,
        type_: str,
        host: str | None,
        vault_path: str | None,
        context: str = "",
    ) -> None:
        """Create a resource as _addResource does (irods 4.3.4 rsGeneralAdmin.cpp:48-56, 570-606).

        Lengths are checked first (name or type of 64+ bytes, context of 1024+: SYS_INVALID_INPUT_PARAM), then
        whitespace inside the trimmed name (CAT_INVALID_RESOURCE_NAME); the name is stored trimmed. The HTTP
        API sends ``host:vault`` only when both are non-empty (resource_administration.cpp:21-27), else the
        server stores its EMPTY_RESC_HOST / EMPTY_RESC_PATH placeholders for both.
        """
        with self.lock:
            self._admin_only(caller)
            if len(name.encode()) >= NAME_LEN or len(type_.encode()) >= NAME_LEN:
                raise IrodsModelError("SYS_INVALID_INPUT_PARAM", "Resource name or type too long.")
            if len(context.encode()) >= MAX_PATH_ALLOWED:
                raise IrodsModelError("SYS_INVALID_INPUT_PARAM", "Resource context too long.")
            name = name.strip(C_SPACE)
            if any(ch in C_SPACE for ch in name):
                raise IrodsModelError("CAT_INVALID_RESOURCE_NAME", f"Invalid resource name [{name}].")
            if name in self.resources:
                raise IrodsModelError("CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME", f"Resource [{name}] exists.")
            located = bool(host) and bool(vault_path)
            stamp, millis = now_millis()  # chlRegResc binds both times and the millis (db_plugin.cpp:4000)
            self.resources[name] = Resource(
                id=self.new_id(),
                create_time=stamp,
                modify_time=stamp,
                modify_millis=millis,
                name=name,
                type=type_,
                host=host if located and host else "EMPTY_RESC_HOST",
                vault_path=vault_path if located and vault_path else "EMPTY_RESC_PATH",
                context=context,
            )

    def remove_resource(self, caller: str, name: str) -> None:
        """Remove a resource without children or replicas."""
        with self.lock:
            self._admin_only(caller)
            self._resource(name)
            if any(r.parent == name for r in self.resources.values()):
                raise IrodsModelError("CAT_RESOURCE_NOT_EMPTY", f"Resource [{name}] has children.")
            if any(rep.resource == name for rep in self._local_replicas()):
                raise IrodsModelError("CAT_RESOURCE_NOT_EMPTY", f"Resource [{name}] holds replicas.")
            del self.resources[name]

    def modify_resource(self, caller: str, name: str, *, prop: str, value: str) -> None:
        """Change one property (the HTTP layer validated the property name and status values)."""
        with self.lock:
            self._admin_only(caller)
            res = self._resource(name)
            if prop == "name":
                if value in self.resources:
                    raise IrodsModelError(
                        "CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME", f"Resource [{value}] exists."
                    )
                del self.resources[name]
                res.name = value
                self.resources[value] = res
                for other in self.resources.values():
                    if other.parent == name:
                        other.parent = value
                for rep in self._local_replicas():
                    if rep.resource == name:
                        rep.resource = value
            else:
                setattr(res, prop, value)
            res.modify_time, res.modify_millis = now_millis()
            if prop == "free_space":  # chlModResc stamps free_space_ts too (db_plugin.cpp:8088, 4.3.4)
                res.free_space_time = res.modify_time

    def add_child(self, caller: str, parent: str, child: str, *, context: str = "") -> None:
        """Attach ``child`` under ``parent``."""
        with self.lock:
            self._admin_only(caller)
            self._resource(parent)
            res = self._resource(child)
            if res.parent is not None or parent == child:
                raise IrodsModelError("CAT_INVALID_ARGUMENT", f"[{child}] already has a parent.")
            res.parent, res.parent_context = parent, context
            res.modify_time, res.modify_millis = now_millis()  # update_child_parent (db_plugin.cpp:752-781)

    def remove_child(self, caller: str, parent: str, child: str) -> None:
        """Detach ``child`` from ``parent``."""
        with self.lock:
            self._admin_only(caller)
            self._resource(parent)
            res = self._resource(child)
            if res.parent != parent:
                raise IrodsModelError("CAT_INVALID_ARGUMENT", f"[{child}] is not a child of [{parent}].")
            res.parent, res.parent_context = None, ""
            res.modify_time, res.modify_millis = now_millis()  # update_child_parent (db_plugin.cpp:4103)

    def rebalance(self, caller: str, name: str) -> None:
        """Nothing to rebalance in the emulator; validates rights and existence."""
        with self.lock:
            self._admin_only(caller)
            self._resource(name)

    def stat_resource(self, name: str) -> dict[str, Any]:
        """The resources ``stat`` body."""
        with self.lock:
            res = self.resources.get(name)
            if res is None:
                return {"exists": False}
            parent = self.resources.get(res.parent) if res.parent else None
            info = {
                "id": str(res.id),
                "name": res.name,
                "type": res.type,
                "zone": self.zone,
                "host": res.host,
                "vault_path": res.vault_path,
                "status": res.status,
                "context": res.context,
                "parent_context": res.parent_context,
                "comments": res.comments,
                "information": res.information,
                "free_space": res.free_space,
                # free_space_ts, 0 while empty (resource_administration.cpp:138-140 at irods 4.3.4 leaves the
                # time default-constructed; resources main.cpp:592-603, 645 at 0.7.0)
                "free_space_last_modified": res.free_space_time,
                "parent_id": str(parent.id) if parent else "",
                "created": res.create_time,
                "last_modified": res.modify_time,
                # RESC_MODIFY_TIME_MILLIS, the milliseconds past last_modified (resource_administration.cpp:
                # 115, 137 at irods 4.3.4; resources main.cpp:649 at 0.7.0)
                "last_modified_millis": res.modify_millis,
            }
            return {"exists": True, "info": info}
