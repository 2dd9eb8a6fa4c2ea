"""The GenQuery1 columns the emulator knows: which table group each comes from and how it compares.

Table groups are the units the emulator's ``fetch_rows`` joins; columns stored as integers in the
iRODS catalog compare (and sort) numerically, all others, times included, as strings.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType

_GROUP_COLUMNS: dict[str, tuple[str, ...]] = {
    "ZONE": (
        "ZONE_ID",
        "ZONE_NAME",
        "ZONE_TYPE",
        "ZONE_CONNECTION",
        "ZONE_COMMENT",
        "ZONE_CREATE_TIME",
        "ZONE_MODIFY_TIME",
    ),
    "COLL": (
        "COLL_ID",
        "COLL_NAME",
        "COLL_PARENT_NAME",
        "COLL_OWNER_NAME",
        "COLL_OWNER_ZONE",
        "COLL_CREATE_TIME",
        "COLL_MODIFY_TIME",
        "COLL_INHERITANCE",
        "COLL_TYPE",
        "COLL_MAP_ID",
        "COLL_COMMENTS",
        "COLL_INFO_1",
        "COLL_INFO_2",
    ),
    "DATA": (
        "DATA_ID",
        "DATA_COLL_ID",
        "DATA_MAP_ID",
        "DATA_NAME",
        "DATA_REPL_NUM",
        "DATA_SIZE",
        "DATA_TYPE_NAME",
        "DATA_PATH",
        "DATA_OWNER_NAME",
        "DATA_OWNER_ZONE",
        "DATA_REPL_STATUS",
        "DATA_STATUS",
        "DATA_CHECKSUM",
        "DATA_CREATE_TIME",
        "DATA_MODIFY_TIME",
        "DATA_ACCESS_TIME",
        "DATA_RESC_NAME",
        "DATA_RESC_HIER",
        "DATA_RESC_ID",
        "DATA_COMMENTS",
        "DATA_VERSION",
        "DATA_MODE",
        "DATA_EXPIRY",
    ),
    # The users an ACL entry names, through R_USER_GROUP (a group's entry names each member and the group):
    # R_DATA_MAIN -> r_data_access -> r_data_user_group -> r_data_user_main (irods 4.3.4
    # general_query_setup.cpp:393-397 columns, :597-598, :621-623, :649-650 joins).
    "DATA_USER": ("DATA_USER_NAME", "DATA_ZONE_NAME"),
    "COLL_USER": ("COLL_USER_NAME", "COLL_ZONE_NAME"),
    # R_USER_AUTH (general_query_setup.cpp:203): rows exist only for names ``iadmin aua`` added.
    "USER_AUTH": ("USER_DN",),
    # r_resc_access (general_query_setup.cpp:269-273): mkresc (db_reg_resc_op) adds no R_OBJT_ACCESS row.
    "RESC_ACCESS": (
        "RESC_ACCESS_TYPE",
        "RESC_ACCESS_NAME",
        "RESC_TOKEN_NAMESPACE",
        "RESC_ACCESS_USER_ID",
        "RESC_ACCESS_RESC_ID",
    ),
    "META_COLL": (
        "META_COLL_ATTR_ID",
        "META_COLL_ATTR_NAME",
        "META_COLL_ATTR_VALUE",
        "META_COLL_ATTR_UNITS",
        "META_COLL_CREATE_TIME",
        "META_COLL_MODIFY_TIME",
        "META_NAMESPACE_COLL",
    ),
    "META_DATA": (
        "META_DATA_ATTR_ID",
        "META_DATA_ATTR_NAME",
        "META_DATA_ATTR_VALUE",
        "META_DATA_ATTR_UNITS",
        "META_DATA_CREATE_TIME",
        "META_DATA_MODIFY_TIME",
        "META_NAMESPACE_DATA",
    ),
    "META_USER": (
        "META_USER_ATTR_ID",
        "META_USER_ATTR_NAME",
        "META_USER_ATTR_VALUE",
        "META_USER_ATTR_UNITS",
        "META_USER_CREATE_TIME",
        "META_USER_MODIFY_TIME",
        "META_NAMESPACE_USER",
    ),
    "META_RESC": (
        "META_RESC_ATTR_ID",
        "META_RESC_ATTR_NAME",
        "META_RESC_ATTR_VALUE",
        "META_RESC_ATTR_UNITS",
        "META_RESC_CREATE_TIME",
        "META_RESC_MODIFY_TIME",
        "META_NAMESPACE_RESC",
    ),
    "TICKET": (
        "TICKET_ID",
        "TICKET_STRING",
        "TICKET_TYPE",
        "TICKET_USER_ID",
        "TICKET_OWNER_NAME",
        "TICKET_OWNER_ZONE",
        "TICKET_USES_COUNT",
        "TICKET_USES_LIMIT",
        "TICKET_WRITE_FILE_COUNT",
        "TICKET_WRITE_FILE_LIMIT",
        "TICKET_WRITE_BYTE_COUNT",
        "TICKET_WRITE_BYTE_LIMIT",
        "TICKET_EXPIRY",
        "TICKET_CREATE_TIME",
        "TICKET_MODIFY_TIME",
        "TICKET_OBJECT_ID",
        "TICKET_OBJECT_TYPE",
        "TICKET_DATA_NAME",
        "TICKET_COLL_NAME",
        "TICKET_DATA_COLL_NAME",
        "TICKET_ALLOWED_USER_NAME",
        "TICKET_ALLOWED_USER_TICKET_ID",
        "TICKET_ALLOWED_GROUP_NAME",
        "TICKET_ALLOWED_GROUP_TICKET_ID",
        "TICKET_ALLOWED_HOST",
        "TICKET_ALLOWED_HOST_TICKET_ID",
    ),
    "USER": (
        "USER_ID",
        "USER_NAME",
        "USER_TYPE",
        "USER_ZONE",
        "USER_INFO",
        "USER_COMMENT",
        "USER_CREATE_TIME",
        "USER_MODIFY_TIME",
    ),
    "USER_GROUP": ("USER_GROUP_ID", "USER_GROUP_NAME"),
    "RESC": (
        "RESC_ID",
        "RESC_NAME",
        "RESC_TYPE_NAME",
        "RESC_LOC",
        "RESC_VAULT_PATH",
        "RESC_ZONE_NAME",
        "RESC_CLASS_NAME",
        "RESC_STATUS",
        "RESC_CONTEXT",
        "RESC_PARENT",
        "RESC_PARENT_CONTEXT",
        "RESC_COMMENT",
        "RESC_INFO",
        "RESC_FREE_SPACE",
        "RESC_FREE_SPACE_TIME",
        "RESC_CHILDREN",
        "RESC_CREATE_TIME",
        "RESC_MODIFY_TIME",
        "RESC_MODIFY_TIME_MILLIS",
    ),
    "ACCESS": (
        "COLL_ACCESS_TYPE",
        "COLL_ACCESS_NAME",
        "COLL_TOKEN_NAMESPACE",
        "COLL_ACCESS_USER_ID",
        "COLL_ACCESS_COLL_ID",
        "DATA_ACCESS_TYPE",
        "DATA_ACCESS_NAME",
        "DATA_TOKEN_NAMESPACE",
        "DATA_ACCESS_USER_ID",
        "DATA_ACCESS_DATA_ID",
    ),
}

# R_TOKN_MAIN (general_query_setup.cpp:376-384 at 4.3.4; rows: ``_tokens``).
_GROUP_COLUMNS["TOKEN"] = (
    "TOKEN_NAMESPACE",
    "TOKEN_ID",
    "TOKEN_NAME",
    "TOKEN_VALUE",
    "TOKEN_VALUE2",
    "TOKEN_VALUE3",
    "TOKEN_COMMENT",
    "TOKEN_CREATE_TIME",
    "TOKEN_MODIFY_TIME",
)

# Aliases of R_TOKN_MAIN, R_RESC_MAIN and R_USER_MAIN (general_query_setup.cpp:109-111, 117, 165, 500-503,
# 541-549 at 4.3.4): queried alone they read the whole base table (no link, no access check), joined with
# their quota/rule/microservice tables they meet empty tables. Group -> (base group, alias -> base column).
ALIAS_GROUPS: Mapping[str, tuple[str, Mapping[str, str]]] = MappingProxyType(
    {
        "QUOTA_RESC": ("RESC", {"QUOTA_RESC_NAME": "RESC_NAME"}),
        "QUOTA_USER": ("USER", {"QUOTA_USER_NAME": "USER_NAME", "QUOTA_USER_ZONE": "USER_ZONE"}),
        "QUOTA_USER_GROUP": ("USER", {"QUOTA_USER_TYPE": "USER_TYPE"}),
        "RULE_TOKN": ("TOKEN", {"RULE_ACCESS_NAME": "TOKEN_NAME", "RULE_TOKEN_NAMESPACE": "TOKEN_NAMESPACE"}),
        "MSRVC_TOKN": (
            "TOKEN",
            {"MSRVC_ACCESS_NAME": "TOKEN_NAME", "MSRVC_TOKEN_NAMESPACE": "TOKEN_NAMESPACE"},
        ),
    }
)
_GROUP_COLUMNS.update({group: tuple(columns) for group, (_, columns) in ALIAS_GROUPS.items()})


def _prefixed(prefix: str, *names: str) -> tuple[str, ...]:
    return tuple(f"{prefix}{name}" for name in names)


_META_NAMES = ("ATTR_ID", "ATTR_NAME", "ATTR_VALUE", "ATTR_UNITS", "CREATE_TIME", "MODIFY_TIME")
_RULE_OWNED = ("OWNER_NAME", "OWNER_ZONE", "COMMENT", "CREATE_TIME", "MODIFY_TIME")
# Tables a 4.3 catalog has and GenQuery1 serves, which stay empty in a zone the emulator can be: nothing
# the HTTP API (or the emulator) does inserts into them (icatSysInserts.sql fills none; rules live in rule
# engine plugins, the emulator runs no delay rules and sets no quotas). Their columns answer no rows.
EMPTY_GROUPS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        # R_OBJT_AUDIT (:386-391): nothing writes audit rows in 4.x.
        "AUDIT": _prefixed(
            "AUDIT_", "OBJ_ID", "USER_ID", "ACTION_ID", "COMMENT", "CREATE_TIME", "MODIFY_TIME"
        ),
        # R_RULE_EXEC (:362-374): delay rules; 5.0 adds the lock columns (5.0.2 :376-378).
        "RULE_EXEC": _prefixed(
            "RULE_EXEC_",
            *("ID", "NAME", "REI_FILE_PATH", "USER_NAME", "ADDRESS", "TIME", "FREQUENCY", "PRIORITY"),
            *("ESTIMATED_EXE_TIME", "NOTIFICATION_ADDR", "LAST_EXE_TIME", "STATUS", "CONTEXT"),
            *("LOCK_HOST", "LOCK_HOST_PID", "LOCK_TIME"),
        ),
        # R_SERVER_LOAD, R_SERVER_LOAD_DIGEST (:402-415): filled only by msiDigestMonStat / load rules.
        "SERVER_LOAD": _prefixed(
            "SL_",
            *("HOST_NAME", "RESC_NAME", "CPU_USED", "MEM_USED", "SWAP_USED", "RUNQ_LOAD", "DISK_SPACE"),
            *("NET_INPUT", "NET_OUTPUT", "CREATE_TIME"),
        ),
        "SERVER_LOAD_DIGEST": _prefixed("SLD_", "RESC_NAME", "LOAD_FACTOR", "CREATE_TIME"),
        # R_RULE_MAIN, R_RULE_BASE_MAP, R_RULE_DVM(_MAP), R_RULE_FNM(_MAP) (:417-487): the 2.x rule tables.
        "RULE_MAIN": _prefixed(
            "RULE_",
            *("ID", "VERSION", "BASE_NAME", "NAME", "EVENT", "CONDITION", "BODY", "RECOVERY", "STATUS"),
            *("OWNER_NAME", "OWNER_ZONE", "DESCR_1", "DESCR_2", "INPUT_PARAMS", "OUTPUT_PARAMS"),
            *("DOLLAR_VARS", "ICAT_ELEMENTS", "SIDEEFFECTS", "COMMENT", "CREATE_TIME", "MODIFY_TIME"),
        ),
        "RULE_BASE_MAP": _prefixed("RULE_BASE_MAP_", "VERSION", "PRIORITY", "BASE_NAME", *_RULE_OWNED),
        "RULE_DVM": _prefixed(
            "DVM_",
            "ID",
            "VERSION",
            "BASE_NAME",
            "EXT_VAR_NAME",
            "CONDITION",
            "INT_MAP_PATH",
            "STATUS",
            *_RULE_OWNED,
        ),
        "RULE_DVM_MAP": _prefixed("DVM_BASE_MAP_", "VERSION", "BASE_NAME", *_RULE_OWNED),
        "RULE_FNM": _prefixed(
            "FNM_", "ID", "VERSION", "BASE_NAME", "EXT_FUNC_NAME", "INT_FUNC_NAME", "STATUS", *_RULE_OWNED
        ),
        "RULE_FNM_MAP": _prefixed("FNM_BASE_MAP_", "VERSION", "BASE_NAME", *_RULE_OWNED),
        "RULE_ACCESS": _prefixed("RULE_ACCESS_", "TYPE", "USER_ID", "RULE_ID"),
        # R_MICROSRVC_MAIN, R_MICROSRVC_VER and their ACL (:505-527, 547-551).
        "MSRVC_MAIN": _prefixed(
            "MSRVC_", "ID", "MODULE_NAME", "NAME", "SIGNATURE", "DOXYGEN", "VARIATIONS", *_RULE_OWNED
        ),
        "MSRVC_VER": (
            *_prefixed("MSRVC_", "VERSION", "HOST", "LOCATION", "LANGUAGE", "TYPE_NAME", "STATUS"),
            *_prefixed("MSRVC_VER_", *_RULE_OWNED),
        ),
        "MSRVC_ACCESS": _prefixed("MSRVC_ACCESS_", "TYPE", "USER_ID", "MSRVC_ID"),
        # R_QUOTA_MAIN, R_QUOTA_USAGE (:489-498): rows only after ``iadmin suq``/``sgq`` and a quota check.
        "QUOTA_MAIN": _prefixed("QUOTA_", "USER_ID", "RESC_ID", "LIMIT", "OVER", "MODIFY_TIME"),
        "QUOTA_USAGE": (
            "QUOTA_USAGE_USER_ID",
            "QUOTA_USAGE_RESC_ID",
            "QUOTA_USAGE",
            "QUOTA_USAGE_MODIFY_TIME",
        ),
        # AVUs of rules, microservices, metadata and resource groups (:306-353): nothing to hang them on.
        **{
            f"META_{kind}": (*_prefixed(f"META_{kind}_", *_META_NAMES), f"META_NAMESPACE_{kind}")
            for kind in ("RULE", "MSRVC", "MET2", "RESC_GROUP")
        },
    }
)
_GROUP_COLUMNS.update(EMPTY_GROUPS)

UNKNOWN_TABLE_COLUMNS: frozenset[str] = frozenset(
    {
        # Named (rodsGenQueryNames.h:306-308) but their sColumn lines are commented out since 4.1
        # (general_query_setup.cpp:355-357 at 4.3.4).
        "RESC_GROUP_RESC_ID",
        "RESC_GROUP_NAME",
        "RESC_GROUP_ID",
        # sColumn names tables r_meta_access / r_meta_tokn_accs that no sTable defines (:529-533).
        "META_ACCESS_TYPE",
        "META_ACCESS_NAME",
        "META_TOKEN_NAMESPACE",
        "META_ACCESS_USER_ID",
        "META_ACCESS_META_ID",
    }
)
"""Names iRODS knows but cannot place in a table: the catalog answers CAT_UNKNOWN_TABLE (general_query.cpp
``generateSQL`` :1906-1910 for a selected column, :1958-1962 for a condition's, at 4.3.4)."""

COLUMN_TABLES: Mapping[str, str] = MappingProxyType(
    {column: group for group, columns in _GROUP_COLUMNS.items() for column in columns}
)
"""Column name -> the table group it belongs to (``RESC_NAME`` -> ``"RESC"``; see :func:`tables_for`)."""

COLUMNS_SINCE: Mapping[str, tuple[int, int, int]] = MappingProxyType(
    {
        # rodsGenQueryNames.h gains these at 4.3.1 (absent at 4.3.0) ...
        "RESC_MODIFY_TIME_MILLIS": (4, 3, 1),
        "TOKEN_CREATE_TIME": (4, 3, 1),
        "TOKEN_MODIFY_TIME": (4, 3, 1),
        # ... and these at 5.0.0 (COL_D_ACCESS_TIME :85; the delay-rule locks).
        "DATA_ACCESS_TIME": (5, 0, 0),
        "RULE_EXEC_LOCK_HOST": (5, 0, 0),
        "RULE_EXEC_LOCK_HOST_PID": (5, 0, 0),
        "RULE_EXEC_LOCK_TIME": (5, 0, 0),
    }
)
"""The first iRODS release whose ``getAttrIdFromAttrName`` knows a name; older ones answer
NO_COLUMN_NAME_FOUND. Every other name is known from 4.3.0 on."""


@functools.cache
def columns_known(release: tuple[int, int, int]) -> frozenset[str]:
    """The GenQuery1 names iRODS ``release`` knows (unknown table or not)."""
    names = set(COLUMN_TABLES) | UNKNOWN_TABLE_COLUMNS
    return frozenset(n for n in names if COLUMNS_SINCE.get(n, (0, 0, 0)) <= release)


INTEGER_COLUMNS: frozenset[str] = frozenset(
    {
        "ZONE_ID",
        "COLL_ID",
        "COLL_MAP_ID",
        "DATA_ID",
        "DATA_COLL_ID",
        "DATA_MAP_ID",
        "DATA_REPL_NUM",
        "DATA_SIZE",
        "DATA_REPL_STATUS",
        "DATA_RESC_ID",
        "META_COLL_ATTR_ID",
        "META_DATA_ATTR_ID",
        "META_USER_ATTR_ID",
        "META_RESC_ATTR_ID",
        "TICKET_ID",
        "TICKET_USER_ID",
        "TICKET_USES_COUNT",
        "TICKET_USES_LIMIT",
        "TICKET_WRITE_FILE_COUNT",
        "TICKET_WRITE_FILE_LIMIT",
        "TICKET_WRITE_BYTE_COUNT",
        "TICKET_WRITE_BYTE_LIMIT",
        "USER_ID",
        "RESC_ID",
        "COLL_ACCESS_USER_ID",
        "DATA_ACCESS_USER_ID",
        "TICKET_OBJECT_ID",
        "TICKET_ALLOWED_USER_TICKET_ID",
        "TICKET_ALLOWED_GROUP_TICKET_ID",
        "TICKET_ALLOWED_HOST_TICKET_ID",
        "USER_GROUP_ID",
        "COLL_ACCESS_TYPE",
        "COLL_ACCESS_COLL_ID",
        "DATA_ACCESS_TYPE",
        "DATA_ACCESS_DATA_ID",
        "RESC_ACCESS_TYPE",
        "RESC_ACCESS_USER_ID",
        "RESC_ACCESS_RESC_ID",
        "TOKEN_ID",
        # Columns of the empty tables stored as INT64TYPE / INTEGER (icatSysTables.sql.pp.in at 4.3.4).
        *("AUDIT_OBJ_ID", "AUDIT_USER_ID", "AUDIT_ACTION_ID", "RULE_EXEC_ID"),
        *("SL_CPU_USED", "SL_MEM_USED", "SL_SWAP_USED", "SL_RUNQ_LOAD", "SL_DISK_SPACE"),
        *("SL_NET_INPUT", "SL_NET_OUTPUT", "SLD_LOAD_FACTOR"),
        *("RULE_ID", "RULE_STATUS", "RULE_BASE_MAP_PRIORITY", "DVM_ID", "DVM_STATUS", "FNM_ID", "FNM_STATUS"),
        *("RULE_ACCESS_TYPE", "RULE_ACCESS_USER_ID", "RULE_ACCESS_RULE_ID", "MSRVC_ID", "MSRVC_STATUS"),
        *("MSRVC_ACCESS_TYPE", "MSRVC_ACCESS_USER_ID", "MSRVC_ACCESS_MSRVC_ID"),
        *("QUOTA_USER_ID", "QUOTA_RESC_ID", "QUOTA_LIMIT", "QUOTA_OVER"),
        *("QUOTA_USAGE_USER_ID", "QUOTA_USAGE_RESC_ID", "QUOTA_USAGE"),
        *(f"META_{kind}_ATTR_ID" for kind in ("RULE", "MSRVC", "MET2", "RESC_GROUP")),
    }
)
"""Columns the catalog stores as integers; times are zero-padded strings and compare as strings."""

# Groups a group cannot be joined without (metadata hangs off the rows of the object it describes).
_IMPLIED_GROUPS: dict[str, frozenset[str]] = {
    "DATA": frozenset({"COLL"}),
    "META_COLL": frozenset({"COLL"}),
    "META_DATA": frozenset({"COLL", "DATA"}),
    "META_USER": frozenset({"USER"}),
    "META_RESC": frozenset({"RESC"}),
    "USER_GROUP": frozenset({"USER"}),
    "DATA_USER": frozenset({"COLL", "DATA"}),
    "COLL_USER": frozenset({"COLL"}),
}
_COLUMN_IMPLIED_GROUPS: dict[str, frozenset[str]] = {
    column: frozenset({"COLL"} if column.startswith("COLL_") else {"COLL", "DATA"})
    for column in _GROUP_COLUMNS["ACCESS"]
}

# The catalog's access token ids (R_TOKN_MAIN, token_namespace 'access_type'), iRODS 4.3.
PERMISSION_IDS: Mapping[str, int] = MappingProxyType(
    {
        "null": 1000,
        "read_metadata": 1040,
        "read_object": 1050,
        "create_metadata": 1070,
        "modify_metadata": 1080,
        "delete_metadata": 1090,
        "create_object": 1110,
        "modify_object": 1120,
        "delete_object": 1130,
        "own": 1200,
    }
)

# Which column identifies the object a metadata row hangs off, per metadata group.
META_OWNER_COLUMN: Mapping[str, str] = MappingProxyType(
    {"META_DATA": "DATA_ID", "META_COLL": "COLL_ID", "META_USER": "USER_ID", "META_RESC": "RESC_ID"}
)


#: Both names are R_RESC_MAIN.resc_name (general_query_setup.cpp:216 and :241 at 4.3.4): joined to the
#: replica's resc_id when the query touches R_DATA_MAIN, every resource of the zone when it does not.
_RESC_NAMES = frozenset({"RESC_NAME", "DATA_RESC_NAME"})


def tables_for(columns: frozenset[str]) -> frozenset[str]:
    """Return the table groups a query touching ``columns`` needs, implied groups included.

    ``RESC_NAME`` and ``DATA_RESC_NAME`` are read from the data rows when the query also touches data
    objects (or collections), else from ``RESC``.
    """
    groups: set[str] = set()
    for column in columns:
        if column not in _RESC_NAMES:
            group = COLUMN_TABLES[column]
            # r_coll_access and r_data_access are two aliases of R_OBJT_ACCESS (general_query_setup.cpp:54-55
            # at 4.3.4), each joined to its own object: COLL_ACCESS / DATA_ACCESS.
            groups.add(f"{column.partition('_')[0]}_ACCESS" if group == "ACCESS" else group)
            groups |= _COLUMN_IMPLIED_GROUPS.get(column, frozenset())
    for group in tuple(groups):
        groups |= _IMPLIED_GROUPS.get(group, frozenset())
    if "USER" in groups and (groups & {"COLL", "RESC"} or columns & _RESC_NAMES):
        # R_USER_MAIN links to collections only through a data object's ACL (general_query_setup.cpp:666,
        # 598, 585 at 4.3.4): the catalog joins r_data_access and R_DATA_MAIN in between, also beside
        # r_coll_access (:597, 620-621), the collection's AVUs (:591, 613) or r_coll_user_main (:649);
        # and to resources the same way (R_RESC_MAIN.resc_id = R_DATA_MAIN.resc_id, :589): each user or
        # group with an ACL entry on a replica stored there.
        groups |= {"DATA", "COLL"}
    if columns & _RESC_NAMES and "DATA" not in groups:
        groups.add("RESC")
    return frozenset(groups)
