"""Rows for GenQuery1 and specific queries: the catalog seen as joined, per-user visible tables."""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Mapping

from irods_provider.testing._catalog import PERMISSIONS, Avu, Collection, DataObject, RemoteZone, User
from irods_provider.testing._genquery_columns import ALIAS_GROUPS, EMPTY_GROUPS, PERMISSION_IDS
from irods_provider.testing._tickets import Ticket, TicketsMixin
from irods_provider.testing._tokens import TOKEN_ROWS

Row = dict[str, str]
# genqAppendAccessCheck's threshold: an ACL entry at or above read_object (general_query.cpp:1686-1689)
READ = PERMISSIONS.index("read_object")


def t11(seconds: int) -> str:
    """Catalog time format: 11-digit zero-padded epoch seconds."""
    return f"{seconds:011d}"


def token_row(token: tuple[str, int, str, str, str, str, str, str, str]) -> Row:
    """One R_TOKN_MAIN row as the TOKEN_* columns."""
    names = ("NAMESPACE", "ID", "NAME", "VALUE", "VALUE2", "VALUE3", "COMMENT", "CREATE_TIME", "MODIFY_TIME")
    return {f"TOKEN_{name}": str(value) for name, value in zip(names, token, strict=True)}


class QueryRowsMixin(TicketsMixin):
    """The ``fetch_rows`` adapter handed to the GenQuery1 evaluator, and ShowCollAcls."""

    def fetch_rows(
        self,
        caller: str,
        tables: frozenset[str],
        *,
        zone: str | None = None,
        collections: Callable[[str], bool] | None = None,
        coll_access: bool = False,
    ) -> list[Mapping[str, str]]:
        """Joined rows visible to ``caller`` for the given table groups ([] for joins we cannot make).

        Only the catalog of ``zone`` (default: the local zone) answers, as each zone's own database does.
        ``collections`` (the query's ``COLL_NAME`` conditions, :func:`coll_name_filter`) leaves out the rows
        of collections and data objects it refuses before they are built; the evaluator would drop them.
        ``coll_access`` (:func:`checks_collection_access`): data rows also need read access on their
        collection, as GenQuery1's SQL asks when it names R_COLL_MAIN.
        """
        with self.lock:
            catalog = zone or self.zone
            rows = self._rows(caller, set(tables), catalog, collections, coll_access=coll_access)
            return [row for row in rows if self._in_catalog(row, catalog)]

    def _in_catalog(self, row: Row, zone: str) -> bool:
        """Whether a collection/data row lives in ``zone``'s catalog (rows without a path always do)."""
        path = row.get("COLL_NAME")
        if path is None:
            return True
        if path == "/":
            return zone == self.zone
        return self.zone_of(path) == zone

    def _rows(
        self,
        caller: str,
        tables: set[str],
        zone: str,
        collections: Callable[[str], bool] | None = None,
        *,
        coll_access: bool = False,
    ) -> Iterable[Row]:
        if len(tables) == 1 and (alias := ALIAS_GROUPS.get(next(iter(tables)))) is not None:
            base, columns = alias  # an alias table alone: its base table's rows, renamed
            return [{a: row[c] for a, c in columns.items()} for row in self._rows(caller, {base}, zone)]
        if tables & {"USER_AUTH", "RESC_ACCESS", *EMPTY_GROUPS, *ALIAS_GROUPS}:
            # no R_USER_AUTH rows (no ``iadmin aua``), no resource has an ACL row, EMPTY_GROUPS are empty
            # and an alias table joins one of them
            return []
        if tables <= {"TOKEN"}:
            return [token_row(t) for t in TOKEN_ROWS]
        if tables <= {"ZONE"}:
            return self.zone_rows(zone)
        if tables <= {"USER", "META_USER", "USER_GROUP"}:
            catalog = self.users if zone == self.zone else self.zone_users[zone]
            users = [(self._user_row(u), u.avus) for u in catalog.values()]
            rows = self._with_avus(users, "META_USER" if "META_USER" in tables else None)
            return self._with_memberships(rows) if "USER_GROUP" in tables else rows
        if tables <= {"RESC", "META_RESC"}:
            rescs = [(self._resc_row(r.name, zone), r.avus) for r in self.resources_in(zone).values()]
            return self._with_avus(rescs, "META_RESC" if "META_RESC" in tables else None)
        if tables <= {"TICKET"}:
            if zone != self.zone:
                return []
            return [r for t in self.visible_tickets(caller) for r in self._ticket_rows(t)]
        if (
            "DATA" in tables
            or "META_DATA" in tables
            or ("ACCESS" in tables and tables & {"DATA", "META_DATA"})
        ):
            return self._data_rows(caller, tables, collections, coll_access=coll_access)
        if tables <= {"COLL", "META_COLL", "ACCESS", "COLL_ACCESS", "USER", "COLL_USER"}:
            return self._coll_rows(caller, tables, collections)
        if tables <= {"DATA", "COLL", "RESC"}:
            return self._data_rows(caller, tables, collections, coll_access=coll_access)
        return []

    def zone_rows(self, zone: str) -> list[Row]:
        """R_ZONE_MAIN of ``zone``'s catalog, readable by every user: the local zone and the remote ones.

        A federated zone's own catalog holds itself as local and the emulator's local zone as remote.
        """
        if zone == self.zone:
            zones = [(self.local_zone_row, "local"), *((z, "remote") for z in self.remote_zones.values())]
        else:
            own = self.remote_zones.get(zone, RemoteZone(0, zone))
            zones = [(RemoteZone(own.id, zone, create_time=own.create_time), "local")]
            zones.append((self.local_zone_row, "remote"))
        return [
            {
                "ZONE_ID": str(z.id),
                "ZONE_NAME": z.name,
                "ZONE_TYPE": kind,
                "ZONE_CONNECTION": z.connection_info,
                "ZONE_COMMENT": z.comment,
                "ZONE_CREATE_TIME": t11(z.create_time),
                "ZONE_MODIFY_TIME": t11(z.modify_time),
            }
            for z, kind in zones
        ]

    @staticmethod
    def _with_avus(owners: list[tuple[Row, list[Avu]]], group: str | None) -> list[Row]:
        """Each owner row alone (``group`` None), or joined with each of its AVUs as ``group`` columns."""
        if group is None:
            return [row for row, _ in owners]
        return [
            {
                **row,
                f"{group}_ATTR_ID": str(a.id),
                f"{group}_ATTR_NAME": a.attribute,
                f"{group}_ATTR_VALUE": a.value,
                f"{group}_ATTR_UNITS": a.units,
                f"{group}_CREATE_TIME": t11(a.create_time),
                f"{group}_MODIFY_TIME": t11(a.modify_time),
                # meta_namespace: no insert sets it (db_plugin.cpp:1538 at 4.3.4), NULL reads as "".
                f"META_NAMESPACE_{group.removeprefix('META_')}": "",
            }
            for row, avus in owners
            for a in avus
        ]

    def _with_memberships(self, rows: list[Row]) -> list[Row]:
        """R_USER_GROUP joined: one row per group of the user, the user itself included (as iRODS
        registers every user and group as a member of itself)."""
        out: list[Row] = []
        for row in rows:
            user = self.users.get(row["USER_NAME"])
            names = sorted({row["USER_NAME"], *(user.groups if user else ())})
            for name in names:
                group = self.users.get(name)
                if group is not None:
                    out.append({**row, "USER_GROUP_ID": str(group.id), "USER_GROUP_NAME": group.name})
        return out

    def _visible_colls(self, caller: str) -> list[Collection]:
        return [c for c in self.collections.values() if self._reads(caller, c.acl)]

    def _reads(self, caller: str, acl: dict[str, str]) -> bool:
        """genqAppendAccessCheck's test (irods 4.3.4 plugins/database/src/general_query.cpp:1655-1690): the
        local rodsadmin sees every row (:1618); anyone else a data object or collection on which they or a
        group of theirs hold ``read_object`` or more (``access_type_id >= token_id('read_object')``), so
        ``read_metadata`` alone hides it."""
        return self.is_admin(caller) or self.access_level(caller, acl) >= READ

    def _coll_row(self, c: Collection) -> Row:
        owner = self.find_user(c.owner)
        return {
            "COLL_ID": str(c.id),
            "COLL_NAME": c.path,
            "COLL_PARENT_NAME": posixpath.dirname(c.path) if c.path != "/" else "/",
            "COLL_OWNER_NAME": c.owner.partition("#")[0],
            "COLL_OWNER_ZONE": owner.zone if owner else self.zone,
            "COLL_CREATE_TIME": t11(c.create_time),
            "COLL_MODIFY_TIME": t11(c.modify_time),
            "COLL_INHERITANCE": "1" if c.inheritance else "",
            "COLL_TYPE": "",
            # coll_map_id defaults to 0; r_comment is never set; chlRegColl binds coll_info1/2 empty
            # for a plain collection (icatSysTables.sql.pp.in, db_plugin.cpp:4663 at 4.3.4).
            "COLL_MAP_ID": "0",
            "COLL_COMMENTS": "",
            "COLL_INFO_1": "",
            "COLL_INFO_2": "",
        }

    def _coll_rows(
        self, caller: str, tables: set[str], collections: Callable[[str], bool] | None = None
    ) -> list[Row]:
        out: list[Row] = []
        for c in self._visible_colls(caller):
            if collections is not None and not collections(c.path):
                continue
            base = self._coll_row(c)
            rows = [base]
            if "META_COLL" in tables:
                rows = self._with_avus([(base, c.avus)], "META_COLL")
            if tables & {"ACCESS", "COLL_ACCESS", "COLL_USER"}:
                rows = self._with_acl(rows, "COLL", c.acl, tables, with_user="USER" in tables)
            out.extend(rows)
        return out

    def _with_acl(
        self, rows: list[Row], kind: str, acl: Mapping[str, str], tables: set[str], *, with_user: bool
    ) -> list[Row]:
        """``rows`` joined with their object's ACL entries (r_coll_access / r_data_access), with the USER row
        of the user or group an entry names (``with_user``), and through R_USER_GROUP with each member of it
        (``{kind}_USER``: a group's entry names each member, the group itself included)."""
        out: list[Row] = []
        for r in rows:
            for name, perm in acl.items():
                access = self._access_row(kind, r[f"{kind}_ID"], name, perm, with_user=with_user)
                entry = {**r, **access}
                if f"{kind}_USER" not in tables:
                    out.append(entry)
                    continue
                for user in self._members_of(name):
                    out.append({**entry, f"{kind}_USER_NAME": user.name, f"{kind}_ZONE_NAME": user.zone})
        return out

    def _members_of(self, name: str) -> list[User]:
        """The R_USER_GROUP members of the user or group ``name`` (every user and group is its own)."""
        entry = self.find_user(name)
        if entry is None:
            return []
        if entry.type != "rodsgroup":
            return [entry]
        members = [u for u in self.users.values() if entry.name in u.groups and u is not entry]
        return [entry, *members]

    def _access_row(self, kind: str, object_id: str, name: str, perm: str, *, with_user: bool) -> Row:
        u = self.find_user(name)
        row = {
            f"{kind}_ACCESS_TYPE": str(PERMISSION_IDS.get(perm, 1000)),
            f"{kind}_ACCESS_NAME": perm,
            f"{kind}_TOKEN_NAMESPACE": "access_type",
            f"{kind}_ACCESS_USER_ID": str(u.id) if u else "",
            f"{kind}_ACCESS_{kind}_ID": object_id,
        }
        if with_user and u is not None:
            row.update(self._user_row(u))
        return row

    def _data_base_rows(self, obj: DataObject, coll: Row) -> list[Row]:
        owner = self.find_user(obj.owner)
        zone, table = self.zone_of(obj.path), self.resources_for(obj.path)  # the object's zone's resources
        rows = []
        for rep in obj.replicas:
            rows.append(
                {
                    **coll,
                    "DATA_ID": str(obj.id),
                    "DATA_COLL_ID": coll["COLL_ID"],
                    "DATA_MAP_ID": "0",  # data_map_id defaults to 0 and no insert sets it
                    "DATA_NAME": posixpath.basename(obj.path),
                    "DATA_REPL_NUM": str(rep.number),
                    "DATA_SIZE": str(rep.size),
                    "DATA_TYPE_NAME": obj.data_type,
                    "DATA_PATH": rep.physical_path,
                    "DATA_OWNER_NAME": obj.owner.partition("#")[0],
                    "DATA_OWNER_ZONE": owner.zone if owner else self.zone,
                    "DATA_REPL_STATUS": rep.status,
                    "DATA_STATUS": rep.data_status,
                    "DATA_CHECKSUM": rep.checksum,
                    "DATA_CREATE_TIME": t11(rep.create_time),
                    "DATA_MODIFY_TIME": t11(rep.modify_time),
                    "DATA_ACCESS_TIME": t11(rep.access_time),
                    "DATA_RESC_NAME": rep.resource,
                    "DATA_RESC_HIER": self.hierarchy(rep.resource, zone=zone),
                    "DATA_RESC_ID": str(table[rep.resource].id) if rep.resource in table else "",
                    "DATA_COMMENTS": obj.comments,
                    "DATA_VERSION": rep.version,
                    "DATA_MODE": rep.mode,
                    "DATA_EXPIRY": rep.expiry,
                    **self._resc_row(rep.resource, zone),
                }
            )
        return rows

    def _data_rows(
        self,
        caller: str,
        tables: set[str],
        collections: Callable[[str], bool] | None = None,
        *,
        coll_access: bool = False,
    ) -> list[Row]:
        out: list[Row] = []
        checks_coll = coll_access and not self.is_admin(caller)
        coll_cache: dict[str, Row] = {}
        wanted: dict[str, bool] = {}  # collection path -> passes ``collections``
        for obj in self.data_objects.values():
            parent = posixpath.dirname(obj.path)
            if collections is not None:
                if parent not in wanted:
                    wanted[parent] = collections(parent)
                if not wanted[parent]:
                    continue
            if not self._reads(caller, obj.acl):
                continue
            coll = self.collections.get(parent)
            if coll is None or (checks_coll and self.access_level(caller, coll.acl) < READ):
                continue
            if parent not in coll_cache:
                coll_cache[parent] = self._coll_row(coll)
            rows = self._data_base_rows(obj, coll_cache[parent])
            if "META_DATA" in tables:
                rows = self._with_avus([(r, obj.avus) for r in rows], "META_DATA")
            out.extend(self._data_joins(rows, obj, coll, tables))
        return out

    def _data_joins(self, rows: list[Row], obj: DataObject, coll: Collection, tables: set[str]) -> list[Row]:
        """A data object's rows joined with what hangs off its collection (AVUs, r_coll_access) and off its
        ACL (r_data_access, then R_USER_MAIN.user_id = r_data_access.user_id: general_query_setup.cpp:666 at
        4.3.4, the only link from users towards objects, so ``USER`` always names a data ACL's entry)."""
        if "META_COLL" in tables:
            rows = self._with_avus([(r, coll.avus) for r in rows], "META_COLL")
        if tables & {"COLL_ACCESS", "COLL_USER"}:
            rows = self._with_acl(rows, "COLL", coll.acl, tables, with_user=False)
        if tables & {"ACCESS", "DATA_ACCESS", "DATA_USER", "USER"}:
            rows = self._with_acl(rows, "DATA", obj.acl, tables, with_user="USER" in tables)
        if "USER" not in tables:
            return rows
        rows = [r for r in rows if "USER_NAME" in r]  # an entry of a removed user joins no R_USER_MAIN row
        if "META_USER" in tables:
            owners = [(r, u.avus) for r in rows if (u := self.find_user(r["USER_NAME"])) is not None]
            rows = self._with_avus(owners, "META_USER")
        return self._with_memberships(rows) if "USER_GROUP" in tables else rows

    def _user_row(self, u: User) -> Row:
        return {
            "USER_ID": str(u.id),
            "USER_NAME": u.name,
            "USER_TYPE": u.type,
            "USER_ZONE": u.zone,
            "USER_INFO": "",
            "USER_COMMENT": "",
            "USER_CREATE_TIME": t11(u.create_time),
            "USER_MODIFY_TIME": t11(u.modify_time),
        }

    def _resc_row(self, name: str, zone: str) -> Row:
        """R_RESC_MAIN row of ``name`` in ``zone``'s catalog (each zone knows only its own resources)."""
        table = self.resources_in(zone)
        r = table.get(name)
        if r is None:
            return {"RESC_NAME": name}
        return {
            "RESC_ID": str(r.id),
            "RESC_NAME": r.name,
            "DATA_RESC_NAME": r.name,  # the same resc_name column (general_query_setup.cpp:241 at 4.3.4)
            "RESC_TYPE_NAME": r.type,
            "RESC_LOC": r.host,
            "RESC_VAULT_PATH": r.vault_path,
            "RESC_ZONE_NAME": zone,
            # iRODS >= 4.2 stores the parent's id (not its name) in RESC_PARENT; leaves of no parent: "".
            "RESC_CLASS_NAME": r.class_name,
            "RESC_STATUS": r.status,
            "RESC_CONTEXT": r.context,
            "RESC_PARENT": str(table[r.parent].id) if r.parent in table else "",
            "RESC_PARENT_CONTEXT": r.parent_context,
            "RESC_COMMENT": r.comments,
            "RESC_INFO": r.information,
            "RESC_FREE_SPACE": r.free_space,
            "RESC_FREE_SPACE_TIME": t11(r.free_space_time) if r.free_space_time else "",
            "RESC_CHILDREN": "",  # unused since 4.2 (the hierarchy lives in resc_parent)
            "RESC_CREATE_TIME": t11(r.create_time),
            "RESC_MODIFY_TIME": t11(r.modify_time),
            "RESC_MODIFY_TIME_MILLIS": f"{r.modify_millis:03d}",  # varchar(3) (database_upgrade.py:166)
        }

    def _ticket_rows(self, t: Ticket) -> list[Row]:
        """One row per allowed user x group x host; like the catalog's inner joins, a restriction list
        that is empty, or TICKET_COLL_NAME of a data-object ticket (general_query_setup.cpp joins it
        on the ticket's object id), leaves its columns out, so a query selecting them skips the ticket."""
        owner = self.users.get(t.owner)
        target = self.data_objects.get(t.path) if t.object_type == "data" else self.collections.get(t.path)
        base = {
            "TICKET_ID": str(t.id),
            "TICKET_STRING": t.string,
            "TICKET_TYPE": t.type,
            "TICKET_USER_ID": str(owner.id) if owner else "",
            "TICKET_OWNER_NAME": t.owner,
            "TICKET_OWNER_ZONE": self.zone,
            "TICKET_USES_COUNT": str(t.uses_count),
            "TICKET_USES_LIMIT": str(t.uses_limit),
            "TICKET_WRITE_FILE_COUNT": str(t.write_file_count),
            "TICKET_WRITE_FILE_LIMIT": str(t.write_file_limit),
            "TICKET_WRITE_BYTE_COUNT": str(t.write_byte_count),
            "TICKET_WRITE_BYTE_LIMIT": str(t.write_byte_limit),
            "TICKET_EXPIRY": t11(t.expiry) if t.expiry else "",
            "TICKET_CREATE_TIME": t11(t.create_time),
            "TICKET_MODIFY_TIME": t11(t.create_time),
            "TICKET_OBJECT_ID": str(target.id) if target else "",
            "TICKET_OBJECT_TYPE": t.object_type,
        }
        if t.object_type == "data":
            base["TICKET_DATA_NAME"] = posixpath.basename(t.path)
            base["TICKET_DATA_COLL_NAME"] = posixpath.dirname(t.path)
        else:
            base["TICKET_COLL_NAME"] = t.path
        ticket_id = str(t.id)
        rows = []
        none: list[str | None] = [None]
        for user in [*t.users] or none:
            for group in [*t.groups] or none:
                for host in [*t.hosts] or none:
                    row = dict(base)
                    for column, value in (("USER_NAME", user), ("GROUP_NAME", group), ("HOST", host)):
                        if value is not None:
                            row[f"TICKET_ALLOWED_{column}"] = value
                            row[f"TICKET_ALLOWED_{column.split('_')[0]}_TICKET_ID"] = ticket_id
                    rows.append(row)
        return rows

    def show_coll_acls(self, caller: str, path: str) -> list[list[str]]:
        """Specific query ShowCollAcls: (user, zone, permission, user type) per ACL entry.

        chlSpecificQuery runs the stored SQL as it is, with no permission filter (irods 4.3.4
        db_plugin.cpp:13317-13420; the SQL in icatSysInserts.sql:190), so any caller sees every entry.
        """
        del caller
        with self.lock:
            coll = self.collections.get(path)
            if coll is None:
                return []
            out = []
            for name, perm in coll.acl.items():
                u = self.find_user(name)
                out.append([name.partition("#")[0], u.zone if u else self.zone, perm, u.type if u else ""])
            return out
