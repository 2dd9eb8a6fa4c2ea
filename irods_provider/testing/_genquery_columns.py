"""The GenQuery1 columns the emulator knows: which table group each comes from and how it compares.

Table groups are the units the emulator's ``fetch_rows`` joins; columns stored as integers in the
iRODS catalog compare (and sort) numerically, all others, times included, as strings.
"""

from __future__ import annotations

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
    ),
    "META_DATA": (
        "META_DATA_ATTR_ID",
        "META_DATA_ATTR_NAME",
        "META_DATA_ATTR_VALUE",
        "META_DATA_ATTR_UNITS",
        "META_DATA_CREATE_TIME",
        "META_DATA_MODIFY_TIME",
    ),
    "META_USER": (
        "META_USER_ATTR_ID",
        "META_USER_ATTR_NAME",
        "META_USER_ATTR_VALUE",
        "META_USER_ATTR_UNITS",
        "META_USER_CREATE_TIME",
        "META_USER_MODIFY_TIME",
    ),
    "META_RESC": (
        "META_RESC_ATTR_ID",
        "META_RESC_ATTR_NAME",
        "META_RESC_ATTR_VALUE",
        "META_RESC_ATTR_UNITS",
        "META_RESC_CREATE_TIME",
        "META_RESC_MODIFY_TIME",
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

COLUMN_TABLES: Mapping[str, str] = MappingProxyType(
    {column: group for group, columns in _GROUP_COLUMNS.items() for column in columns}
)
"""Column name -> the table group it belongs to (``RESC_NAME`` -> ``"RESC"``; see :func:`tables_for`)."""

COLUMNS_SINCE_5_0: frozenset[str] = frozenset({"DATA_ACCESS_TIME"})
"""Names iRODS 4.3.x does not know (rodsGenQueryNames.h gains COL_D_ACCESS_TIME at 5.0.0, :85)."""

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


def tables_for(columns: frozenset[str]) -> frozenset[str]:
    """Return the table groups a query touching ``columns`` needs, implied groups included.

    ``RESC_NAME`` is read from the data rows when the query also touches data objects, else from ``RESC``.
    """
    groups: set[str] = set()
    for column in columns:
        if column != "RESC_NAME":
            groups.add(COLUMN_TABLES[column])
            groups |= _COLUMN_IMPLIED_GROUPS.get(column, frozenset())
    for group in tuple(groups):
        groups |= _IMPLIED_GROUPS.get(group, frozenset())
    if "RESC_NAME" in columns and "DATA" not in groups:
        groups.add("RESC")
    return frozenset(groups)
