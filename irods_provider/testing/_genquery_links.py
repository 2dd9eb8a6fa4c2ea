"""Whether the catalog can link the tables a GenQuery1 query touches, as iRODS decides it.

``generateSQL`` (plugins/database/src/general_query.cpp:1892-1987 at 4.3.4, the same at 4.3.0-5.0.2) marks
the table of each selected column, then of each condition's column (``setTable``, :643-770), picks a
starting table and walks the foreign-key tree from it (``tScan``, :336-462). A query whose tables the walk
does not reach all of answers CAT_FAILED_TO_LINK_TABLES (-825000, :1984-1987) before any SQL runs:
``ZONE_NAME`` or ``TOKEN_NAME`` with a column of another table, .... The walk starts from the last
non-cycler table marked and never passes through a "cycler" (the quota and ticket aliases), so two cyclers
without a non-cycler never link: ``TICKET_COLL_NAME`` with ``TICKET_DATA_COLL_NAME`` fails alone and links
beside ``TICKET_STRING``.

The tables (``sTable``), links (``sFklink``) and column homes (``sColumn``) below are
general_query_setup.cpp's at 4.3.4 (:39-181, :585-705, :185-581; tables and links identical from 4.3.0
to 5.0.2, the columns as the release knows them, ``columns_known``). ``DATA_RESC_HIER`` has no sColumn:
rsGenQuery sends it to the catalog as ``DATA_RESC_ID`` (rsGenQuery.cpp:434-472 at 4.3.4).
"""

from __future__ import annotations

import functools

__all__ = ["sql_names_table", "tables_link"]

# sTable order; ``*`` marks a cycler (the last argument 1).
_TABLES = """
    R_USER_PASSWORD R_USER_SESSION_KEY R_TOKN_MAIN R_RESC_GROUP R_ZONE_MAIN R_RESC_MAIN R_COLL_MAIN
    R_DATA_MAIN r_met2_main R_META_MAIN R_RULE_MAIN R_USER_MAIN r_resc_access r_coll_access r_data_access
    r_met2_access r_rule_access r_msrvc_access r_resc_audit r_coll_audit r_data_audit r_met2_audit
    r_rule_audit r_resc_deny_access r_coll_deny_access r_data_deny_access r_met2_deny_access
    r_rule_deny_access r_resc_metamap r_resc_grp_metamap r_coll_metamap r_data_metamap r_met2_metamap
    r_rule_metamap r_msrvc_metamap r_user_metamap r_resc_user_group r_coll_user_group r_data_user_group
    r_met2_user_group r_rule_user_group r_resc_da_user_group r_coll_da_user_group r_data_da_user_group
    r_met2_da_user_group r_rule_da_user_group r_resc_au_user_group r_coll_au_user_group r_data_au_user_group
    r_met2_au_user_group r_rule_au_user_group r_resc_user_main r_coll_user_main r_data_user_main
    r_met2_user_main r_rule_user_main r_resc_da_user_main r_coll_da_user_main r_data_da_user_main
    r_met2_da_user_main r_rule_da_user_main r_resc_au_user_main r_coll_au_user_main r_data_au_user_main
    r_met2_au_user_main r_rule_au_user_main r_quota_user_main* r_quota_user_group* r_quota_resc_main*
    r_resc_tokn_accs r_coll_tokn_accs r_data_tokn_accs r_rule_tokn_accs r_met2_tokn_accs
    r_resc_tokn_deny_accs r_coll_tokn_deny_accs r_data_tokn_deny_accs r_rule_tokn_deny_accs
    r_met2_tokn_deny_accs r_resc_tokn_audit r_coll_tokn_audit r_data_tokn_audit r_rule_tokn_audit
    r_met2_tokn_audit r_resc_meta_main r_resc_grp_meta_main r_coll_meta_main r_data_meta_main
    r_rule_meta_main r_user_meta_main r_met2_meta_main R_USER_GROUP r_group_main R_RULE_EXEC R_OBJT_AUDIT
    R_SERVER_LOAD R_SERVER_LOAD_DIGEST R_USER_AUTH R_RULE_BASE_MAP R_RULE_DVM_MAP R_RULE_FNM_MAP R_RULE_DVM
    R_RULE_FNM R_QUOTA_MAIN R_QUOTA_USAGE R_MICROSRVC_MAIN R_MICROSRVC_VER r_msrvc_deny_access r_msrvc_audit
    r_msrvc_meta_main r_msrvc_tokn_accs r_msrvc_user_group r_msrvc_user_main r_msrvc_tokn_deny_accs
    r_msrvc_da_user_group r_msrvc_da_user_main r_msrvc_tokn_audit r_msrvc_au_user_group r_msrvc_au_user_main
    R_TICKET_MAIN R_TICKET_ALLOWED_HOSTS R_TICKET_ALLOWED_USERS R_TICKET_ALLOWED_GROUPS r_ticket_coll_main*
    r_ticket_user_main* r_ticket_data_coll_main*
"""

# sFklink order, table1>table2.
_LINKS = """
    R_COLL_MAIN>R_DATA_MAIN R_RESC_GROUP>R_RESC_MAIN R_RESC_MAIN>r_resc_metamap R_RESC_MAIN>R_DATA_MAIN
    R_RESC_GROUP>r_resc_grp_metamap R_COLL_MAIN>r_coll_metamap R_DATA_MAIN>r_data_metamap
    R_RULE_MAIN>r_rule_metamap R_USER_MAIN>r_user_metamap r_met2_main>r_met2_metamap
    R_RESC_MAIN>r_resc_access R_COLL_MAIN>r_coll_access R_DATA_MAIN>r_data_access R_RULE_MAIN>r_rule_access
    r_met2_main>r_met2_access R_RESC_MAIN>r_resc_deny_access R_COLL_MAIN>r_coll_deny_access
    R_DATA_MAIN>r_data_deny_access R_RULE_MAIN>r_rule_deny_access r_met2_main>r_met2_deny_access
    R_RESC_MAIN>r_resc_audit R_COLL_MAIN>r_coll_audit R_DATA_MAIN>r_data_audit R_RULE_MAIN>r_rule_audit
    r_met2_main>r_met2_audit r_resc_metamap>r_resc_meta_main r_resc_grp_metamap>r_resc_grp_meta_main
    r_coll_metamap>r_coll_meta_main r_data_metamap>r_data_meta_main r_rule_metamap>r_rule_meta_main
    r_user_metamap>r_user_meta_main r_met2_metamap>r_met2_meta_main r_resc_access>r_resc_tokn_accs
    r_resc_access>r_resc_user_group r_coll_access>r_coll_tokn_accs r_coll_access>r_coll_user_group
    r_data_access>r_data_tokn_accs r_data_access>r_data_user_group r_rule_access>r_rule_tokn_accs
    r_rule_access>r_rule_user_group r_met2_access>r_met2_tokn_accs r_met2_access>r_met2_user_group
    r_resc_deny_access>r_resc_tokn_deny_accs r_resc_deny_access>r_resc_da_user_group
    r_coll_deny_access>r_coll_tokn_deny_accs r_coll_deny_access>r_coll_da_user_group
    r_data_deny_access>r_data_tokn_deny_accs r_data_deny_access>r_data_da_user_group
    r_rule_deny_access>r_rule_tokn_deny_accs r_rule_deny_access>r_rule_da_user_group
    r_met2_deny_access>r_met2_tokn_deny_accs r_met2_deny_access>r_met2_da_user_group
    r_resc_audit>r_resc_tokn_audit r_resc_audit>r_resc_au_user_group r_coll_audit>r_coll_tokn_audit
    r_coll_audit>r_coll_au_user_group r_data_audit>r_data_tokn_audit r_data_audit>r_data_au_user_group
    r_rule_audit>r_rule_tokn_audit r_rule_audit>r_rule_au_user_group r_met2_audit>r_met2_tokn_audit
    r_met2_audit>r_met2_au_user_group r_resc_user_group>r_resc_user_main r_coll_user_group>r_coll_user_main
    r_data_user_group>r_data_user_main r_rule_user_group>r_rule_user_main r_met2_user_group>r_met2_user_main
    r_resc_da_user_group>r_resc_da_user_main r_coll_da_user_group>r_coll_da_user_main
    r_data_da_user_group>r_data_da_user_main r_rule_da_user_group>r_rule_da_user_main
    r_met2_da_user_group>r_met2_da_user_main r_resc_au_user_group>r_resc_au_user_main
    r_coll_au_user_group>r_coll_au_user_main r_data_au_user_group>r_data_au_user_main
    r_rule_au_user_group>r_rule_au_user_main r_met2_au_user_group>r_met2_au_user_main
    R_USER_MAIN>R_USER_PASSWORD R_USER_MAIN>R_USER_AUTH R_USER_MAIN>R_USER_SESSION_KEY
    R_USER_MAIN>r_data_access R_USER_MAIN>R_USER_GROUP R_USER_GROUP>r_group_main R_USER_MAIN>R_OBJT_AUDIT
    R_QUOTA_MAIN>r_quota_user_main R_QUOTA_MAIN>r_quota_resc_main R_QUOTA_MAIN>r_quota_user_group
    R_QUOTA_USAGE>r_quota_user_main R_QUOTA_USAGE>r_quota_resc_main R_QUOTA_USAGE>r_quota_user_group
    R_RULE_BASE_MAP>R_RULE_MAIN R_RULE_DVM_MAP>R_RULE_DVM R_RULE_FNM_MAP>R_RULE_FNM
    R_MICROSRVC_MAIN>R_MICROSRVC_VER R_MICROSRVC_MAIN>r_msrvc_metamap r_msrvc_metamap>r_msrvc_meta_main
    R_MICROSRVC_MAIN>r_msrvc_access r_msrvc_access>r_msrvc_tokn_accs r_msrvc_access>r_msrvc_user_group
    r_msrvc_user_group>r_msrvc_user_main R_MICROSRVC_MAIN>r_msrvc_deny_access
    r_msrvc_deny_access>r_msrvc_tokn_deny_accs r_msrvc_deny_access>r_msrvc_da_user_group
    r_msrvc_da_user_group>r_msrvc_da_user_main R_MICROSRVC_MAIN>r_msrvc_audit
    r_msrvc_audit>r_msrvc_tokn_audit r_msrvc_audit>r_msrvc_au_user_group
    r_msrvc_au_user_group>r_msrvc_au_user_main R_TICKET_MAIN>R_TICKET_ALLOWED_HOSTS
    R_TICKET_MAIN>R_TICKET_ALLOWED_USERS R_TICKET_MAIN>R_TICKET_ALLOWED_GROUPS R_TICKET_MAIN>R_DATA_MAIN
    R_TICKET_MAIN>r_ticket_coll_main R_TICKET_MAIN>r_ticket_data_coll_main R_TICKET_MAIN>r_ticket_user_main
"""

# sColumn: the table each GenQuery1 name lives in (the last sColumn of a define wins, as in setTable).
_COLUMNS = """
    R_ZONE_MAIN: ZONE_ID ZONE_NAME ZONE_TYPE ZONE_CONNECTION ZONE_COMMENT ZONE_CREATE_TIME ZONE_MODIFY_TIME
    R_USER_MAIN: USER_ID USER_NAME USER_TYPE USER_ZONE USER_INFO USER_COMMENT USER_CREATE_TIME
        USER_MODIFY_TIME
    R_USER_AUTH: USER_DN
    R_RESC_MAIN: RESC_ID RESC_NAME RESC_ZONE_NAME RESC_TYPE_NAME RESC_CLASS_NAME RESC_LOC RESC_VAULT_PATH
        RESC_FREE_SPACE RESC_FREE_SPACE_TIME RESC_INFO RESC_COMMENT RESC_CREATE_TIME RESC_MODIFY_TIME
        RESC_MODIFY_TIME_MILLIS RESC_STATUS RESC_CHILDREN RESC_CONTEXT RESC_PARENT RESC_PARENT_CONTEXT
        DATA_RESC_NAME
    R_DATA_MAIN: DATA_ID DATA_COLL_ID DATA_NAME DATA_REPL_NUM DATA_VERSION DATA_TYPE_NAME DATA_SIZE
        DATA_MODE DATA_PATH DATA_OWNER_NAME DATA_OWNER_ZONE DATA_REPL_STATUS DATA_STATUS DATA_CHECKSUM
        DATA_EXPIRY DATA_MAP_ID DATA_COMMENTS DATA_CREATE_TIME DATA_MODIFY_TIME DATA_RESC_ID
        DATA_ACCESS_TIME TICKET_DATA_NAME DATA_RESC_HIER
    r_data_user_main: DATA_USER_NAME DATA_ZONE_NAME
    r_data_access: DATA_ACCESS_TYPE DATA_ACCESS_USER_ID DATA_ACCESS_DATA_ID
    r_data_tokn_accs: DATA_ACCESS_NAME DATA_TOKEN_NAMESPACE
    R_COLL_MAIN: COLL_ID COLL_NAME COLL_PARENT_NAME COLL_OWNER_NAME COLL_OWNER_ZONE COLL_MAP_ID
        COLL_INHERITANCE COLL_COMMENTS COLL_CREATE_TIME COLL_MODIFY_TIME COLL_TYPE COLL_INFO_1 COLL_INFO_2
    r_coll_user_main: COLL_USER_NAME COLL_ZONE_NAME
    r_coll_access: COLL_ACCESS_TYPE COLL_ACCESS_USER_ID COLL_ACCESS_COLL_ID
    r_coll_tokn_accs: COLL_ACCESS_NAME COLL_TOKEN_NAMESPACE
    r_data_meta_main: META_DATA_ATTR_NAME META_DATA_ATTR_VALUE META_DATA_ATTR_UNITS META_DATA_ATTR_ID
        META_DATA_CREATE_TIME META_DATA_MODIFY_TIME META_NAMESPACE_DATA
    r_coll_meta_main: META_COLL_ATTR_NAME META_COLL_ATTR_VALUE META_COLL_ATTR_UNITS META_COLL_ATTR_ID
        META_COLL_CREATE_TIME META_COLL_MODIFY_TIME META_NAMESPACE_COLL
    r_resc_meta_main: META_NAMESPACE_RESC META_RESC_ATTR_NAME META_RESC_ATTR_VALUE META_RESC_ATTR_UNITS
        META_RESC_ATTR_ID META_RESC_CREATE_TIME META_RESC_MODIFY_TIME
    r_user_meta_main: META_NAMESPACE_USER META_USER_ATTR_NAME META_USER_ATTR_VALUE META_USER_ATTR_UNITS
        META_USER_ATTR_ID META_USER_CREATE_TIME META_USER_MODIFY_TIME
    r_resc_grp_meta_main: META_NAMESPACE_RESC_GROUP META_RESC_GROUP_ATTR_NAME META_RESC_GROUP_ATTR_VALUE
        META_RESC_GROUP_ATTR_UNITS META_RESC_GROUP_ATTR_ID META_RESC_GROUP_CREATE_TIME
        META_RESC_GROUP_MODIFY_TIME
    r_rule_meta_main: META_NAMESPACE_RULE META_RULE_ATTR_NAME META_RULE_ATTR_VALUE META_RULE_ATTR_UNITS
        META_RULE_ATTR_ID META_RULE_CREATE_TIME META_RULE_MODIFY_TIME
    r_msrvc_meta_main: META_NAMESPACE_MSRVC META_MSRVC_ATTR_NAME META_MSRVC_ATTR_VALUE META_MSRVC_ATTR_UNITS
        META_MSRVC_ATTR_ID META_MSRVC_CREATE_TIME META_MSRVC_MODIFY_TIME
    r_met2_meta_main: META_NAMESPACE_MET2 META_MET2_ATTR_NAME META_MET2_ATTR_VALUE META_MET2_ATTR_UNITS
        META_MET2_ATTR_ID META_MET2_CREATE_TIME META_MET2_MODIFY_TIME
    R_USER_GROUP: USER_GROUP_ID
    r_group_main: USER_GROUP_NAME
    R_RULE_EXEC: RULE_EXEC_ID RULE_EXEC_NAME RULE_EXEC_REI_FILE_PATH RULE_EXEC_USER_NAME RULE_EXEC_ADDRESS
        RULE_EXEC_TIME RULE_EXEC_FREQUENCY RULE_EXEC_PRIORITY RULE_EXEC_ESTIMATED_EXE_TIME
        RULE_EXEC_NOTIFICATION_ADDR RULE_EXEC_LAST_EXE_TIME RULE_EXEC_STATUS RULE_EXEC_CONTEXT
        RULE_EXEC_LOCK_HOST RULE_EXEC_LOCK_HOST_PID RULE_EXEC_LOCK_TIME
    R_TOKN_MAIN: TOKEN_NAMESPACE TOKEN_ID TOKEN_NAME TOKEN_VALUE TOKEN_VALUE2 TOKEN_VALUE3 TOKEN_COMMENT
        TOKEN_CREATE_TIME TOKEN_MODIFY_TIME
    R_OBJT_AUDIT: AUDIT_OBJ_ID AUDIT_USER_ID AUDIT_ACTION_ID AUDIT_COMMENT AUDIT_CREATE_TIME
        AUDIT_MODIFY_TIME
    R_SERVER_LOAD: SL_HOST_NAME SL_RESC_NAME SL_CPU_USED SL_MEM_USED SL_SWAP_USED SL_RUNQ_LOAD SL_DISK_SPACE
        SL_NET_INPUT SL_NET_OUTPUT SL_CREATE_TIME
    R_SERVER_LOAD_DIGEST: SLD_RESC_NAME SLD_LOAD_FACTOR SLD_CREATE_TIME
    R_RULE_BASE_MAP: RULE_BASE_MAP_VERSION RULE_BASE_MAP_PRIORITY RULE_BASE_MAP_BASE_NAME
        RULE_BASE_MAP_OWNER_NAME RULE_BASE_MAP_OWNER_ZONE RULE_BASE_MAP_COMMENT RULE_BASE_MAP_CREATE_TIME
        RULE_BASE_MAP_MODIFY_TIME
    R_RULE_MAIN: RULE_ID RULE_VERSION RULE_BASE_NAME RULE_NAME RULE_EVENT RULE_CONDITION RULE_BODY
        RULE_RECOVERY RULE_STATUS RULE_OWNER_NAME RULE_OWNER_ZONE RULE_DESCR_1 RULE_DESCR_2
        RULE_INPUT_PARAMS RULE_OUTPUT_PARAMS RULE_DOLLAR_VARS RULE_ICAT_ELEMENTS RULE_SIDEEFFECTS
        RULE_COMMENT RULE_CREATE_TIME RULE_MODIFY_TIME
    R_RULE_DVM_MAP: DVM_BASE_MAP_VERSION DVM_BASE_MAP_BASE_NAME DVM_BASE_MAP_OWNER_NAME
        DVM_BASE_MAP_OWNER_ZONE DVM_BASE_MAP_COMMENT DVM_BASE_MAP_CREATE_TIME DVM_BASE_MAP_MODIFY_TIME
    R_RULE_DVM: DVM_ID DVM_VERSION DVM_BASE_NAME DVM_EXT_VAR_NAME DVM_CONDITION DVM_INT_MAP_PATH DVM_STATUS
        DVM_OWNER_NAME DVM_OWNER_ZONE DVM_COMMENT DVM_CREATE_TIME DVM_MODIFY_TIME
    R_RULE_FNM_MAP: FNM_BASE_MAP_VERSION FNM_BASE_MAP_BASE_NAME FNM_BASE_MAP_OWNER_NAME
        FNM_BASE_MAP_OWNER_ZONE FNM_BASE_MAP_COMMENT FNM_BASE_MAP_CREATE_TIME FNM_BASE_MAP_MODIFY_TIME
    R_RULE_FNM: FNM_ID FNM_VERSION FNM_BASE_NAME FNM_EXT_FUNC_NAME FNM_INT_FUNC_NAME FNM_STATUS
        FNM_OWNER_NAME FNM_OWNER_ZONE FNM_COMMENT FNM_CREATE_TIME FNM_MODIFY_TIME
    R_QUOTA_MAIN: QUOTA_USER_ID QUOTA_RESC_ID QUOTA_LIMIT QUOTA_OVER QUOTA_MODIFY_TIME
    R_QUOTA_USAGE: QUOTA_USAGE_USER_ID QUOTA_USAGE_RESC_ID QUOTA_USAGE QUOTA_USAGE_MODIFY_TIME
    r_quota_user_main: QUOTA_USER_NAME QUOTA_USER_ZONE
    r_quota_user_group: QUOTA_USER_TYPE
    r_quota_resc_main: QUOTA_RESC_NAME
    R_MICROSRVC_MAIN: MSRVC_ID MSRVC_NAME MSRVC_SIGNATURE MSRVC_DOXYGEN MSRVC_VARIATIONS MSRVC_OWNER_NAME
        MSRVC_OWNER_ZONE MSRVC_COMMENT MSRVC_CREATE_TIME MSRVC_MODIFY_TIME MSRVC_MODULE_NAME
    R_MICROSRVC_VER: MSRVC_STATUS MSRVC_VERSION MSRVC_HOST MSRVC_LOCATION MSRVC_LANGUAGE MSRVC_TYPE_NAME
        MSRVC_VER_OWNER_NAME MSRVC_VER_OWNER_ZONE MSRVC_VER_COMMENT MSRVC_VER_CREATE_TIME
        MSRVC_VER_MODIFY_TIME
    r_resc_access: RESC_ACCESS_TYPE RESC_ACCESS_USER_ID RESC_ACCESS_RESC_ID
    r_resc_tokn_accs: RESC_ACCESS_NAME RESC_TOKEN_NAMESPACE
    r_rule_access: RULE_ACCESS_TYPE RULE_ACCESS_USER_ID RULE_ACCESS_RULE_ID
    r_rule_tokn_accs: RULE_ACCESS_NAME RULE_TOKEN_NAMESPACE
    r_msrvc_access: MSRVC_ACCESS_TYPE MSRVC_ACCESS_USER_ID MSRVC_ACCESS_MSRVC_ID
    r_msrvc_tokn_accs: MSRVC_ACCESS_NAME MSRVC_TOKEN_NAMESPACE
    R_TICKET_MAIN: TICKET_ID TICKET_STRING TICKET_TYPE TICKET_USER_ID TICKET_OBJECT_ID TICKET_OBJECT_TYPE
        TICKET_USES_LIMIT TICKET_USES_COUNT TICKET_WRITE_FILE_COUNT TICKET_WRITE_FILE_LIMIT
        TICKET_WRITE_BYTE_COUNT TICKET_WRITE_BYTE_LIMIT TICKET_EXPIRY TICKET_CREATE_TIME TICKET_MODIFY_TIME
    R_TICKET_ALLOWED_HOSTS: TICKET_ALLOWED_HOST_TICKET_ID TICKET_ALLOWED_HOST
    R_TICKET_ALLOWED_USERS: TICKET_ALLOWED_USER_TICKET_ID TICKET_ALLOWED_USER_NAME
    R_TICKET_ALLOWED_GROUPS: TICKET_ALLOWED_GROUP_TICKET_ID TICKET_ALLOWED_GROUP_NAME
    r_ticket_data_coll_main: TICKET_DATA_COLL_NAME
    r_ticket_coll_main: TICKET_COLL_NAME
    r_ticket_user_main: TICKET_OWNER_NAME TICKET_OWNER_ZONE
"""

_TABLE_NAMES: tuple[str, ...] = tuple(name.rstrip("*") for name in _TABLES.split())
_CYCLER: tuple[bool, ...] = tuple(name.endswith("*") for name in _TABLES.split())
_INDEX: dict[str, int] = {name: index for index, name in enumerate(_TABLE_NAMES)}
_LINK_PAIRS: tuple[tuple[int, int], ...] = tuple(
    (_INDEX[a], _INDEX[b]) for a, _, b in (link.partition(">") for link in _LINKS.split())
)


def _column_tables() -> dict[str, int]:
    """``_COLUMNS`` read: ``TABLE:`` opens a table, the names after it live there."""
    tables: dict[str, int] = {}
    table = -1
    for word in _COLUMNS.split():
        if word.endswith(":"):
            table = _INDEX[word[:-1]]
        else:
            tables[word] = table
    return tables


_COLUMN_TABLE: dict[str, int] = _column_tables()
# Per table, the links tScan tries from it in its order: every link naming it first (forward), then every
# link naming it second (backward), each by link index; (link index, the table at the other end).
_NEIGHBOURS: tuple[tuple[tuple[int, int], ...], ...] = tuple(
    tuple((i, b) for i, (a, b) in enumerate(_LINK_PAIRS) if a == table)
    + tuple((i, a) for i, (a, b) in enumerate(_LINK_PAIRS) if b == table)
    for table in range(len(_TABLE_NAMES))
)


class _Walk:
    """One ``tScan`` over the link tree: ``flag`` 1 = wanted, 2 = found, 3 = visited (general_query.cpp)."""

    def __init__(self, wanted: set[int]) -> None:
        self.flag = [1 if index in wanted else 0 for index in range(len(_TABLE_NAMES))]
        self.to_find = len(wanted)
        self.used: list[int] = []  # the links whose connecting SQL joins the where clause (:391-395)

    def scan(self, table: int, link: int) -> bool:
        """general_query.cpp:336-462: depth first, forward links before backward ones, stopping as soon as
        every wanted table is found; a cycler is reached but never passed through."""
        keep = False
        if self.flag[table] == 1:
            keep, self.flag[table] = True, 2
            self.to_find -= 1
            if self.to_find <= 0:
                return keep
        elif self.flag[table] != 0:
            return False
        if _CYCLER[table]:
            return keep
        self.flag[table] = 3
        for index, there in _NEIGHBOURS[table]:
            if index != link and self.scan(there, index):
                keep = True
                self.used.append(index)
                if self.to_find <= 0:
                    return keep
        return keep


def tables_link(selected: tuple[str, ...], conditions: tuple[str, ...]) -> bool:
    """Whether ``generateSQL`` links the tables of these columns (select list, then condition columns, each
    in query order); False is CAT_FAILED_TO_LINK_TABLES. Names without a table are the caller's to refuse."""
    return _walk(selected, conditions)[0]


# The one link whose connecting SQL names a table at neither end (general_query_setup.cpp:704 at 4.3.4).
_LINK_SQL_EXTRA = {
    _LINK_PAIRS.index((_INDEX["R_TICKET_MAIN"], _INDEX["r_ticket_data_coll_main"])): "R_DATA_MAIN"
}


@functools.lru_cache(maxsize=1024)
def sql_names_table(selected: tuple[str, ...], conditions: tuple[str, ...], table: str) -> bool:
    """Whether the select list or where clause ``generateSQL`` writes names ``table`` (R_COLL_MAIN or
    R_DATA_MAIN): a column of it selected or in a condition (written as ``tableName.column``,
    general_query.cpp:696-698, 742-744), or a link tScan used whose connecting SQL names it (:391-395,
    430-434).
    genqAppendAccessCheck tests exactly this with strstr (:1656-1694 at 4.3.4); aliases such as
    ``r_ticket_coll_main`` are written in lower case and never match."""
    if any(c not in _COLUMN_TABLE for c in (*selected, *conditions)):
        return False  # the query fails before any SQL (CAT_UNKNOWN_TABLE)
    linked, used = _walk(selected, conditions)
    if not linked:
        return False
    if any(_TABLE_NAMES[_COLUMN_TABLE[c]] == table for c in (*selected, *conditions)):
        return True
    ends = {_TABLE_NAMES[end] for index in used for end in _LINK_PAIRS[index]}
    return table in ends or table in {_LINK_SQL_EXTRA.get(index) for index in used}


@functools.lru_cache(maxsize=1024)
def _walk(selected: tuple[str, ...], conditions: tuple[str, ...]) -> tuple[bool, tuple[int, ...]]:
    """``generateSQL``'s walk: whether every table was reached, and the links it used."""
    start = 0
    for column in selected:  # general_query.cpp:1901-1916: prefer a non-cycler, else keep the first
        table = _COLUMN_TABLE[column]
        if not _CYCLER[table] or start == 0:
            start = table
    for column in conditions:  # :1918-1972: a condition's non-cycler table becomes the start
        table = _COLUMN_TABLE[column]
        if not _CYCLER[table]:
            start = table
    walk = _Walk({_COLUMN_TABLE[c] for c in (*selected, *conditions)})
    linked = walk.scan(start, -1) and walk.to_find == 0
    return linked, tuple(walk.used)
