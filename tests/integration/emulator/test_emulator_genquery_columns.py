"""GenQuery1 columns for users, groups, tickets and ACLs, as iRODS 4.3.4 defines them.

Source: irods/irods 4.3.4 ``plugins/database/src/general_query_setup.cpp``: USER_GROUP_ID/NAME come from
R_USER_GROUP joined to the group's R_USER_MAIN row (every user and group is a member of itself);
TICKET_COLL_NAME is joined on the ticket's object id (collection tickets only) while data-object tickets
have TICKET_DATA_COLL_NAME; TICKET_ALLOWED_* are inner joins (a ticket without that restriction has no
row); *_ACCESS_TYPE is the token id (own = 1200, read_object = 1050), *_TOKEN_NAMESPACE ``access_type``.
"""

from __future__ import annotations

from emulator_http import ZONE, Api, code

HOME = f"/{ZONE}/home/alice"


def rows(api: Api, who: str, query: str) -> list[list[str]]:
    r = api.get("query", who, op="execute_genquery", query=query)
    assert r.status_code == 200
    assert code(r) == 0
    value: list[list[str]] = r.json()["rows"]
    return value


def test_user_group_membership_columns(api: Api) -> None:
    assert rows(api, "rods", "select USER_GROUP_NAME where USER_NAME = 'alice'") == [["alice"], ["public"]]
    members = rows(
        api, "rods", "select USER_NAME where USER_GROUP_NAME = 'public' and USER_TYPE != 'rodsgroup'"
    )
    assert ["alice"] in members
    assert ["public"] not in members
    group_id = rows(api, "rods", "select USER_ID where USER_NAME = 'public'")[0][0]
    assert rows(
        api, "rods", "select USER_GROUP_ID where USER_NAME = 'alice' and USER_GROUP_NAME = 'public'"
    ) == [[group_id]]
    assert rows(api, "rods", "select USER_INFO, USER_COMMENT where USER_NAME = 'alice'") == [["", ""]]


def test_ticket_object_columns_follow_the_catalog_joins(api: Api) -> None:
    api.write(f"{HOME}/t.txt", b"x", user="alice")
    ticket = api.post("tickets", "alice", op="create", lpath=f"{HOME}/t.txt", type="read").json()["ticket"]
    data_id = rows(api, "alice", f"select DATA_ID where DATA_NAME = 't.txt' and COLL_NAME = '{HOME}'")[0][0]
    q = "select TICKET_STRING, TICKET_DATA_COLL_NAME, TICKET_OBJECT_ID, TICKET_OBJECT_TYPE"
    assert rows(api, "alice", q) == [[ticket, HOME, data_id, "data"]]
    # A data-object ticket has no TICKET_COLL_NAME row, and no restriction rows without restrictions.
    assert rows(api, "alice", "select TICKET_STRING, TICKET_COLL_NAME") == []
    assert rows(api, "alice", "select TICKET_STRING, TICKET_ALLOWED_USER_NAME") == []
    created = rows(api, "alice", "select TICKET_CREATE_TIME, TICKET_MODIFY_TIME")[0]
    assert len(created[0]) == 11
    assert created[0].isdigit()
    r = api.post("tickets", "alice", op="create", lpath=HOME, type="write", users="rods")
    coll_ticket = r.json()["ticket"]
    coll_ticket_id = rows(api, "alice", f"select TICKET_ID where TICKET_STRING = '{coll_ticket}'")[0][0]
    q = "select TICKET_STRING, TICKET_COLL_NAME, TICKET_ALLOWED_USER_NAME, TICKET_ALLOWED_USER_TICKET_ID"
    assert rows(api, "alice", q) == [[coll_ticket, HOME, "rods", coll_ticket_id]]


def test_access_type_namespace_and_object_id_columns(api: Api) -> None:
    api.write(f"{HOME}/acl.txt", b"x", user="alice")
    data_id = rows(api, "alice", "select DATA_ID where DATA_NAME = 'acl.txt'")[0][0]
    q = (
        "select DATA_ACCESS_NAME, DATA_ACCESS_TYPE, DATA_TOKEN_NAMESPACE, DATA_ACCESS_DATA_ID "
        "where DATA_NAME = 'acl.txt'"
    )
    assert rows(api, "alice", q) == [["own", "1200", "access_type", data_id]]
    coll_id = rows(api, "alice", f"select COLL_ID where COLL_NAME = '{HOME}'")[0][0]
    q = f"select COLL_ACCESS_NAME, COLL_ACCESS_TYPE, COLL_ACCESS_COLL_ID where COLL_NAME = '{HOME}'"
    assert rows(api, "alice", q) == [["own", "1200", coll_id]]
