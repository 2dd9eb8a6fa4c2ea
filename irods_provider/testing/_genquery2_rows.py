"""The catalog rows GenQuery2 sees: GenQuery1's joined rows, narrowed to the generator's permission join.

``genquery2_sql.cpp`` joins R_OBJT_ACCESS/R_USER_MAIN for every query touching R_DATA_MAIN or
R_COLL_MAIN: a rodsadmin sees each object once per ACL entry, anyone else only objects on which their own
user (groups are not expanded) holds ``read_object`` or more. Metadata is LEFT-joined.
"""

from __future__ import annotations

from collections.abc import Mapping

from irods_provider.testing._catalog import PERMISSIONS, READ
from irods_provider.testing._genquery_columns import PERMISSION_IDS
from irods_provider.testing._queryrows import QueryRowsMixin

Row = Mapping[str, str]
_TABLE_GROUPS = {"R_COLL_MAIN": "COLL", "R_DATA_MAIN": "DATA", "R_RESC_MAIN": "RESC", "R_USER_MAIN": "USER"}
_META_GROUPS = {
    "META_DATA_": "META_DATA",
    "META_COLL_": "META_COLL",
    "META_RESC_": "META_RESC",
    "META_USER_": "META_USER",
}
_META_OWNER = {"META_DATA": "DATA_ID", "META_COLL": "COLL_ID", "META_RESC": "RESC_ID", "META_USER": "USER_ID"}


def catalog_rows(
    model: QueryRowsMixin,
    caller: str,
    tables: tuple[str, ...],
    columns: frozenset[str],
    *,
    zone: str | None = None,
) -> list[Row]:
    """Rows for a GenQuery2 query touching ``tables`` and ``columns``, as ``caller`` may see them, from
    the catalog of ``zone`` (default: the local one; rs_genquery2 redirects to the zone's catalog provider,
    server/api/src/rs_genquery2.cpp:53-80 at irods 4.3.4)."""
    with model.lock:
        return _rows(model, caller, tables, columns, zone)


def _rows(
    model: QueryRowsMixin, caller: str, tables: tuple[str, ...], columns: frozenset[str], zone: str | None
) -> list[Row]:
    special = _special_rows(model, tables)
    if special is not None:
        return special
    groups = {_TABLE_GROUPS[t] for t in tables}
    metas = {g for prefix, g in _META_GROUPS.items() if any(c.startswith(prefix) for c in columns)}
    access = {k for k in ("DATA", "COLL") if any(c.startswith(f"{k}_ACCESS_") for c in columns)}
    if access:
        groups |= {"ACCESS", "USER"}
    base = model.fetch_rows(caller, frozenset(groups), zone=zone)
    rows = list(base)
    for meta in metas:  # LEFT JOIN: owners without AVUs keep one row with empty metadata columns
        with_avus = model.fetch_rows(caller, frozenset(groups | {meta}), zone=zone)
        owners = {r[_META_OWNER[meta]] for r in with_avus}
        rows = list(with_avus) + [r for r in rows if r.get(_META_OWNER[meta]) not in owners]
    return _permitted(model, caller, tables, access, rows)


def _permitted(
    model: QueryRowsMixin, caller: str, tables: tuple[str, ...], access: set[str], rows: list[Row]
) -> list[Row]:
    admin = model.is_admin(caller)
    acls = {
        "DATA": {str(o.id): o.acl for o in model.data_objects.values()},
        "COLL": {str(c.id): c.acl for c in model.collections.values()},
    }
    out: list[Row] = []
    for row in rows:
        copies = [dict(row)]
        for kind, table in (("DATA", "R_DATA_MAIN"), ("COLL", "R_COLL_MAIN")):
            if table not in tables:
                continue
            acl = acls[kind].get(row.get(f"{kind}_ID", ""), {})
            if kind in access:  # the row is already one ACL entry: the permission join itself
                perm = row.get(f"{kind}_ACCESS_NAME", "null")
                ok = admin or (row.get("USER_NAME") == caller and PERMISSIONS.index(perm) >= READ)
                copies = (
                    [{**c, f"{kind}_ACCESS_PERM_ID": str(PERMISSION_IDS.get(perm, 1000))} for c in copies]
                    if ok
                    else []
                )
            elif admin:
                copies = [c for c in copies for _ in acl]
            elif PERMISSIONS.index(acl.get(caller, "null")) < READ:
                copies = []
        out.extend(copies)
    return out


def _special_rows(model: QueryRowsMixin, tables: tuple[str, ...]) -> list[Row] | None:
    """Rows of the tables GenQuery1's row source does not cover (zones, group membership, …)."""
    if tables == ("R_ZONE_MAIN",):
        return list(model.zone_rows(model.zone))
    if tables == ("R_USER_GROUP",):
        users = model.users
        members: list[Row] = [
            {"GROUP_ID": str(users[g].id), "GROUP_MEMBER_ID": str(u.id)}
            for u in users.values()
            for g in ({u.name} if u.type != "rodsgroup" else set()) | set(u.groups)
            if g in users
        ]
        return members
    if any(t in ("R_ZONE_MAIN", "R_USER_GROUP", "R_USER_AUTH", "R_RULE_EXEC") for t in tables):
        return []  # no DNs, no delay rules (no rule engine) in the emulator
    return None
