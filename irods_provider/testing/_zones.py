"""Zones: the local zone, remote zones a rodsadmin adds, and federated zones this process also serves.

A federated zone is a zone dimension of the one model: its collections and data objects live in the
same path-keyed tables under ``/NAME``, its users and groups in ``zone_users[NAME]`` (its own catalog).
Local users act there as ``user#localZone``, the identity a federation maps them to.
"""

from __future__ import annotations

import re
from typing import Any

from irods_provider.testing._catalog import Collection, ModelBase, RemoteZone, Resource, User, now
from irods_provider.testing._errors import IrodsModelError

ZONE_PROPERTIES = ("name", "connection_info", "comment")
#: irods 4.3.4 server/core/src/administration_utilities.cpp:171-176 (is_zone_name_valid).
ZONE_NAME = re.compile(r"[A-Za-z0-9_.]+")


def check_connection_info(value: str) -> None:
    """``host:port`` as iadmin validates it (host checked before port)."""
    host, sep, port = value.partition(":")
    if not sep:
        raise IrodsModelError("CAT_INVALID_ARGUMENT", "Connection info must be host:port.")
    if not host:
        raise IrodsModelError("CAT_HOSTNAME_INVALID", "Empty host name.")
    if not port.isdigit():
        raise IrodsModelError("CAT_INVALID_ARGUMENT", "Invalid port.")


class ZonesMixin(ModelBase):
    """add / remove / modify / stat of zones (changes are rodsadmin-only)."""

    def _zone_admin(self, caller: str) -> None:
        if not self.is_admin(caller):
            raise IrodsModelError("SYS_NO_API_PRIV", "Operation requires rodsadmin privileges.")

    def add_zone(self, caller: str, name: str, *, connection_info: str = "", comment: str = "") -> None:
        """Register a remote zone; chlRegZone checks the name (db_plugin.cpp:5191-5194, 4.3.4)."""
        with self.lock:
            self._zone_admin(caller)
            if not ZONE_NAME.fullmatch(name):
                raise IrodsModelError("SYS_INVALID_INPUT_PARAM", "Zone name contains invalid characters")
            if name == self.zone or name in self.remote_zones:
                raise IrodsModelError("CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME", f"Zone [{name}] exists.")
            if connection_info:
                check_connection_info(connection_info)
            self.remote_zones[name] = RemoteZone(self.new_id(), name, connection_info, comment)

    def remove_zone(self, caller: str, name: str) -> None:
        """Forget a remote zone (the local zone cannot be removed)."""
        with self.lock:
            self._zone_admin(caller)
            if name == self.zone:
                raise IrodsModelError("CAT_INVALID_ARGUMENT", "Cannot remove the local zone.")
            if self.remote_zones.pop(name, None) is None:
                raise IrodsModelError("CAT_INVALID_ZONE", f"Zone [{name}] does not exist.")

    def _local_zone(self) -> RemoteZone:
        """The local zone's catalog row (its comment and connection info can change)."""
        return self.local_zone_row

    def modify_zone(self, caller: str, name: str, *, prop: str, value: str) -> None:
        """Change a zone's name, connection info or comment, as chlModZone does.

        irods 4.3.4 db_plugin.cpp:5240-5400: any zone in R_ZONE_MAIN, the local one included, may get a
        comment or connection info; renaming the local zone is CAT_INVALID_ARGUMENT and a new name outside
        ``[A-Za-z0-9_.]+`` SYS_INVALID_INPUT_PARAM.
        """
        with self.lock:
            self._zone_admin(caller)
            zone = self._local_zone() if name == self.zone else self.remote_zones.get(name)
            if zone is None:
                raise IrodsModelError("CAT_INVALID_ZONE", f"Zone [{name}] does not exist.")
            if prop == "connection_info":
                check_connection_info(value)
            if prop == "name":
                if name == self.zone:
                    raise IrodsModelError("CAT_INVALID_ARGUMENT", "cannot rename localzone")
                if not ZONE_NAME.fullmatch(value):
                    raise IrodsModelError("SYS_INVALID_INPUT_PARAM", "Zone name contains invalid characters")
                if value == self.zone or value in self.remote_zones:
                    raise IrodsModelError("CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME", f"Zone [{value}] exists.")
                del self.remote_zones[name]
                self.remote_zones[value] = zone
            setattr(zone, prop, value)
            zone.modify_time = now()  # chlModZone sets modify_ts with each change (db_plugin.cpp:5329-5380)

    def stat_zone(self, name: str) -> dict[str, Any]:
        """The zones ``stat`` body."""
        with self.lock:
            if name == self.zone:
                local = self._local_zone()
                info = {
                    "id": str(local.id),
                    "name": name,
                    "type": "local",
                    "connection_info": local.connection_info,
                    "comment": local.comment,
                }
                return {"exists": True, "info": info}
            zone = self.remote_zones.get(name)
            if zone is None:
                return {"exists": False}
            info = {
                "id": str(zone.id),
                "name": zone.name,
                "type": "remote",
                "connection_info": zone.connection_info,
                "comment": zone.comment,
            }
            return {"exists": True, "info": info}


class FederationMixin(ModelBase):
    """Seeds each configured federated zone and maps every local user into it (home they own)."""

    def _seed_federation(self) -> None:
        """Create each federated zone's catalog: its rodsadmin, group ``public`` and the zone tree."""
        unknown = set(self.config.zone_resources) - set(self.config.federated_zones)
        if unknown:
            raise ValueError(f"zone_resources names zones that are not federated: {sorted(unknown)}")
        for name in self.config.federated_zones:
            if name == self.zone or name in self.zone_users or not name or "/" in name or "#" in name:
                raise ValueError(f"invalid federated zone name {name!r}")
            admin = f"{self.config.admin_user}#{name}"
            self.zone_users[name] = {
                admin: User(id=self.new_id(), name=self.config.admin_user, type="rodsadmin", zone=name),
                f"public#{name}": User(id=self.new_id(), name="public", type="rodsgroup", zone=name),
            }
            # The same installer rows as the local zone's (model._seed, database_connect.py:438-494).
            public = (f"/{name}/home/public", f"/{name}/trash/home/public")
            homes = (f"/{name}/home/{self.config.admin_user}", f"/{name}/trash/home/{self.config.admin_user}")
            for path in (
                f"/{name}",
                f"/{name}/home",
                f"/{name}/trash",
                f"/{name}/trash/home",
                *public,
                *homes,
            ):
                acl = {f"public#{name}": "own"} if path in public else {admin: "own"}
                self.collections[path] = Collection(
                    id=self.new_id(), path=path, owner=admin, zone=name, acl=acl
                )
            self.zone_resources[name] = {
                "bundleResc": Resource(
                    self.new_id(), "bundleResc", vault_path="/bundle", class_name="bundle"
                ),
                "demoResc": Resource(id=self.new_id(), name="demoResc", host=self.config.server_hostname),
            }
            self.seed_resources(self.config.zone_resources.get(name, self.config.resources), zone=name)
            self.remote_zones[name] = RemoteZone(
                self.new_id(), name, "localhost:1247", "served by the emulator"
            )

    def _map_user(self, user: User) -> None:
        """Give a new local user its remote identity and remote home in every federated zone."""
        for zone, catalog in self.zone_users.items():
            key = f"{user.name}#{self.zone}"
            catalog[key] = User(
                id=self.new_id(), name=user.name, type="rodsuser", zone=self.zone, groups={f"public#{zone}"}
            )
            for base in (f"/{zone}/home", f"/{zone}/trash/home"):
                path = f"{base}/{key}"
                self.collections.setdefault(
                    path, Collection(id=self.new_id(), path=path, owner=key, zone=zone, acl={key: "own"})
                )

    def _unmap_user(self, name: str) -> None:
        """Forget a removed local user's remote identities and (empty) remote homes."""
        for zone, catalog in self.zone_users.items():
            key = f"{name}#{self.zone}"
            catalog.pop(key, None)
            for base in (f"/{zone}/home", f"/{zone}/trash/home"):
                path = f"{base}/{key}"
                if not self.children_colls(path) and not self.children_data(path):
                    self.collections.pop(path, None)
