"""Users, groups and Basic bearer tokens of the state model."""

from __future__ import annotations

import re
import time
import uuid

from irods_provider.testing._catalog import Collection, ModelBase, User, now
from irods_provider.testing._errors import IrodsModelError
from irods_provider.testing._token_hold import TokenCheckHold

USER_TYPES = ("rodsuser", "groupadmin", "rodsadmin")
#: irods 4.3.4 server/core/src/user_validation_utilities.cpp:51-80 (validate_name; ``\w`` is ECMAScript's).
USER_NAME = re.compile(r"((?:[A-Za-z0-9_]|[-.@])+)(#([^#]*))?")


class UsersMixin(ModelBase):
    """User and group administration plus token issue/lookup."""

    tokens: dict[str, tuple[str, float]]
    token_hold: TokenCheckHold | None = None

    # ---- tokens -------------------------------------------------------------------------------

    def authenticate(self, username: str, password: str) -> str | None:
        """Check native credentials; return a fresh token (uuid4) or None. Never extends old tokens."""
        with self.lock:
            u = self.users.get(username)
            anonymous = username == "anonymous" and password == ""
            if not anonymous and (not username or not password or u is None or u.type == "rodsgroup"):
                return None
            if not anonymous and (u is None or u.password != password):
                return None
            return self.issue_token(username, self.config.token_lifetime_seconds)

    def issue_token(self, username: str, lifetime_seconds: float) -> str:
        """A fresh token (uuid4) for ``username``, valid ``lifetime_seconds`` (OpenID client-mode logins)."""
        with self.lock:
            token = str(uuid.uuid4())
            self.tokens[token] = (username, time.monotonic() + lifetime_seconds)
            return token

    def user_exists(self, name: str) -> bool:
        """Whether the catalog has user ``name`` (a group is no user), as 0.5.0's client mode asks."""
        with self.lock:
            user = self.users.get(name)
            return user is not None and user.type != "rodsgroup"

    def user_for_token(self, token: str) -> str | None:
        """The user a Basic token belongs to, or None when unknown or expired (expired ones are purged)."""
        with self.lock:
            entry = self.tokens.get(token)
            if entry is None:
                return None
            if time.monotonic() >= entry[1]:
                del self.tokens[token]
                return None
            return entry[0]

    def expire_token(self, token: str) -> None:
        """End a Basic token's lifetime now (unknown tokens are left alone)."""
        with self.lock:
            entry = self.tokens.get(token)
            if entry is not None:
                self.tokens[token] = (entry[0], time.monotonic())

    def hold_token_checks(self) -> TokenCheckHold:
        """Arm the test hook: every authenticated request waits at its token check until released (see
        ``_token_hold``); a hold armed before is disarmed."""
        self.stop_token_hold()
        hold = TokenCheckHold(self.expire_token)
        with self.lock:
            self.token_hold = hold
        return hold

    def stop_token_hold(self) -> None:
        """Disarm the token-check hold, if any: the waiting requests go on."""
        with self.lock:
            hold, self.token_hold = self.token_hold, None
        if hold is not None:
            hold.stop()

    def token_count(self) -> int:
        """Number of live tokens."""
        with self.lock:
            t = time.monotonic()
            return sum(1 for _, exp in self.tokens.values() if exp > t)

    # ---- users ------------------------------------------------------------------------------

    def _require_rodsadmin(self, caller: str) -> None:
        if not self.is_admin(caller):
            raise IrodsModelError("SYS_NO_API_PRIV", "Operation requires rodsadmin privileges.")

    def _check_zone(self, zone: str | None) -> None:
        if zone and zone != self.zone:
            raise IrodsModelError("CAT_INVALID_ZONE", f"Zone [{zone}] does not exist.")

    def create_user(
        self, caller: str, name: str, *, zone: str | None = None, user_type: str = "rodsuser"
    ) -> None:
        """Create a user with its home and trash collections (owner ACL) and add it to ``public``.

        A groupadmin goes through rcUserAdmin ``mkuser``, which always makes a rodsuser, whatever
        ``user-type`` asked (irods 4.3.4 user_administration.cpp add_user, rsUserAdmin.cpp:156-161;
        chlRegUserRE lets a groupadmin through, db_plugin.cpp:8653-8664).
        """
        with self.lock:
            cu = self.users.get(caller)
            if cu is not None and cu.type == "groupadmin":
                user_type = "rodsuser"
            else:
                self._require_rodsadmin(caller)
            self._check_zone(zone)
            if user_type not in USER_TYPES:
                raise IrodsModelError("SYS_INVALID_INPUT_PARAM", f"Invalid user type [{user_type}].")
            self._add_user(self._valid_new_name(name, zone or self.zone, group=False), user_type=user_type)

    def _valid_new_name(self, name: str, zone: str, *, group: bool) -> str:
        """The user part of ``name`` as irods::create_user accepts it (administration_utilities.cpp:36-75).

        Not ``USER_NAME`` with a user part of 1-63 bytes (not ``.``/``..``) and a zone part below 64 bytes
        → USER_INVALID_USERNAME_FORMAT; a ``#zone`` other than ``zone`` → CAT_INVALID_ZONE; a group of a
        remote zone → SYS_NOT_ALLOWED. A ``#zone`` naming the local zone is dropped.
        """
        m = USER_NAME.fullmatch(name)
        user, name_zone = (m.group(1), m.group(3) or "") if m else ("", "")
        if not m or len(user.encode()) >= 64 or user in (".", "..") or len(name_zone.encode()) >= 64:
            raise IrodsModelError("USER_INVALID_USERNAME_FORMAT", f"Invalid user name [{name}].")
        if name_zone and name_zone != zone:
            raise IrodsModelError("CAT_INVALID_ZONE", f"Zone [{name_zone}] does not match [{zone}].")
        if group and name_zone and name_zone != self.zone:
            raise IrodsModelError("SYS_NOT_ALLOWED", "groups cannot be made for a remote zone")
        return user

    def _add_user(self, name: str, *, user_type: str, password: str = "", homes: bool = True) -> User:
        if not name or "/" in name or "#" in name:
            raise IrodsModelError("SYS_INVALID_INPUT_PARAM", f"Invalid user name [{name}].")
        if name in self.users:
            raise IrodsModelError("CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME", f"User [{name}] already exists.")
        u = User(id=self.new_id(), name=name, type=user_type, zone=self.zone, password=password)
        self.users[name] = u
        if user_type != "rodsgroup":
            if "public" in self.users and name != "public":
                u.groups.add("public")
            if not homes:  # the installer's rodsadmin: its homes come with the zone's (model._seed)
                return u
            for base in (f"/{self.zone}/home", f"/{self.zone}/trash/home"):
                path = f"{base}/{name}"
                if path not in self.collections:
                    self.collections[path] = Collection(
                        id=self.new_id(), path=path, owner=name, zone=self.zone, acl={name: "own"}
                    )
            self._map_user(u)
        return u

    def remove_user(self, caller: str, name: str, *, zone: str | None = None) -> None:
        """Remove a user; refuses while its home still holds anything (CAT_COLLECTION_NOT_EMPTY)."""
        with self.lock:
            self._require_rodsadmin(caller)
            self._check_zone(zone)
            u = self.user(name)
            if u.type == "rodsgroup":
                raise IrodsModelError("CAT_INVALID_USER", f"[{name}] is a group.")
            if name in (
                self.config.admin_user,
                caller,
            ):  # the proxy or the client: administration_utilities:129
                raise IrodsModelError(
                    "SYS_NOT_ALLOWED", "cannot remove currently authenticated client or proxy user"
                )
            for base in (f"/{self.zone}/home", f"/{self.zone}/trash/home"):
                path = f"{base}/{name}"
                if self.children_colls(path) or self.children_data(path):
                    raise IrodsModelError("CAT_COLLECTION_NOT_EMPTY", f"Collection [{path}] is not empty.")
            for base in (f"/{self.zone}/home", f"/{self.zone}/trash/home"):
                self.collections.pop(f"{base}/{name}", None)
            del self.users[name]
            self._unmap_user(name)
            for token, (owner, _) in list(self.tokens.items()):
                if owner == name:
                    del self.tokens[token]

    def set_password(self, caller: str, name: str, new_password: str, *, zone: str | None = None) -> None:
        """Change a user's password (rodsadmin only through this API)."""
        with self.lock:
            self._require_rodsadmin(caller)
            self._check_zone(zone)
            u = self.user(name)
            if u.type == "rodsgroup":  # irods 4.3.4 rsGeneralAdmin.cpp:165-180
                raise IrodsModelError("SYS_NOT_ALLOWED", "a group cannot have a password")
            u.password = new_password
            u.modify_time = now()

    def set_user_type(self, caller: str, name: str, new_type: str, *, zone: str | None = None) -> None:
        """Change a user's type (rodsadmin only)."""
        with self.lock:
            self._require_rodsadmin(caller)
            self._check_zone(zone)
            u = self.user(name)
            # irods 4.3.4 rsGeneralAdmin.cpp:58-163, 917-931: the service account stays rodsadmin, then a
            # group's type never changes (both SYS_NOT_ALLOWED).
            if name == self.config.admin_user and new_type != "rodsadmin":
                raise IrodsModelError("SYS_NOT_ALLOWED", "cannot downgrade the service account rodsadmin")
            if u.type == "rodsgroup":
                raise IrodsModelError("SYS_NOT_ALLOWED", "a group cannot have its type changed")
            if new_type not in USER_TYPES:
                raise IrodsModelError("CAT_INVALID_USER_TYPE", "user type is not recognized")
            u.type = new_type
            u.modify_time = now()

    def create_group(self, caller: str, name: str) -> None:
        """Create a group (rodsadmin or groupadmin)."""
        with self.lock:
            cu = self.users.get(caller)
            if cu is None or cu.type not in ("rodsadmin", "groupadmin"):
                raise IrodsModelError("SYS_NO_API_PRIV", "Operation requires rodsadmin privileges.")
            self._add_user(self._valid_new_name(name, self.zone, group=True), user_type="rodsgroup")

    def remove_group(self, caller: str, name: str) -> None:
        """Remove a group and its memberships."""
        with self.lock:
            self._require_rodsadmin(caller)
            g = self.users.get(name)
            if g is None or g.type != "rodsgroup":
                raise IrodsModelError("CAT_INVALID_GROUP", f"Group [{name}] does not exist.")
            if name == "public":
                raise IrodsModelError("SYS_NOT_ALLOWED", "Cannot remove group public.")
            del self.users[name]
            for u in self.users.values():
                u.groups.discard(name)

    def _group_and_user(self, group: str, user: str, zone: str | None) -> tuple[User, User]:
        # chlModGroup looks the user up (in ``zone``, not a group) before the group (db_plugin.cpp:7826-7862).
        u = self.users.get(user)
        if u is None or u.type == "rodsgroup" or (zone and zone != u.zone):
            raise IrodsModelError("CAT_INVALID_USER", f"User [{user}] does not exist.")
        g = self.users.get(group)
        if g is None or g.type != "rodsgroup":
            raise IrodsModelError("CAT_INVALID_GROUP", f"Group [{group}] does not exist.")
        return g, u

    def _check_group_admin(self, caller: str, group: str, *, adding: bool) -> None:
        """rodsadmin, or a groupadmin member of ``group`` (adding: or the group has no members yet).

        A rodsuser is refused by the API table (GeneralAdmin needs LOCAL_PRIV_USER_AUTH); a groupadmin
        by chlModGroup with CAT_INSUFFICIENT_PRIVILEGE_LEVEL (irods 4.3.4 db_plugin.cpp:7780-7803,
        mid_level_routines.cpp:1804-1875: members are counted without the group's own row).
        """
        cu = self.users.get(caller)
        if cu is not None and cu.type == "rodsadmin":
            return
        if cu is None or cu.type != "groupadmin":
            raise IrodsModelError("SYS_NO_API_PRIV", "Operation requires rodsadmin privileges.")
        if group in cu.groups:
            return
        members = sum(1 for u in self.users.values() if group in u.groups and u.name != group)
        if not (adding and members == 0):
            raise IrodsModelError("CAT_INSUFFICIENT_PRIVILEGE_LEVEL", "group admin access invalid")

    def add_to_group(self, caller: str, group: str, user: str, *, zone: str | None = None) -> None:
        """Add a user to a group (rodsadmin, or a groupadmin as chlModGroup allows)."""
        with self.lock:
            self._check_group_admin(caller, group, adding=True)
            g, u = self._group_and_user(group, user, zone)
            if g.name in u.groups:
                raise IrodsModelError("CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME", "Already a member.")
            u.groups.add(g.name)

    def remove_from_group(self, caller: str, group: str, user: str, *, zone: str | None = None) -> None:
        """Remove a user from a group; a non-member is USER_NOT_IN_GROUP (db_plugin.cpp:7866-7882)."""
        with self.lock:
            self._check_group_admin(caller, group, adding=False)
            g, u = self._group_and_user(group, user, zone)
            if g.name not in u.groups:
                raise IrodsModelError("USER_NOT_IN_GROUP", f"[{user}] is not a member of [{group}].")
            u.groups.discard(g.name)

    def is_member_of_group(self, group: str, user: str, *, zone: str | None = None) -> bool:
        """Whether ``user`` (of ``zone``) belongs to ``group``: a query, so never an error.

        irods 4.3.4 user_administration.cpp user_is_member_of_group: ``select USER_ID where USER_TYPE !=
        'rodsgroup' and USER_NAME = .. and USER_ZONE = .. and USER_GROUP_NAME = ..``.
        """
        with self.lock:
            u = self.users.get(user)
            if u is None or u.type == "rodsgroup" or (zone or self.zone) != u.zone:
                return False
            g = self.users.get(group)
            return g is not None and g.type == "rodsgroup" and group in u.groups

    def list_users(self) -> list[dict[str, str]]:
        """All users (not groups) as ``{"name", "zone"}``."""
        with self.lock:
            return [{"name": u.name, "zone": u.zone} for u in self.users.values() if u.type != "rodsgroup"]

    def list_groups(self) -> list[str]:
        """All group names."""
        with self.lock:
            return [u.name for u in self.users.values() if u.type == "rodsgroup"]

    def stat_user(self, name: str, *, zone: str | None = None) -> dict[str, object]:
        """The users-groups ``stat`` body (without the irods_response envelope).

        users_groups/src/main.cpp:988-1022 (0.7.0): with ``zone`` only a user (``adm::client::id`` queries
        ``USER_TYPE != 'rodsgroup'``) and ``local_unique_name`` is ``name#zone``; without, a user whose
        ``local_unique_name`` is the bare name (user_administration.cpp local_unique_name: empty zone),
        else a group.
        """
        with self.lock:
            u = self.users.get(name)
            if u is None:
                return {"exists": False}
            if u.type == "rodsgroup":
                if zone is not None:
                    return {"exists": False}
                return {"exists": True, "id": str(u.id), "type": "rodsgroup"}
            if zone is not None and zone != u.zone:
                return {"exists": False}
            unique = f"{name}#{zone}" if zone is not None else name
            return {"exists": True, "id": str(u.id), "local_unique_name": unique, "type": u.type}
