"""Differences closed by the fidelity audit (docs/emulator-fidelity.md), each pinned over real HTTP.

Expectations are read from irods_client_http_api 0.7.0 (file:line in each test), not from the emulator.
"""

from __future__ import annotations

from emulator_http import ZONE, Api, code

HOME = f"/{ZONE}/home/alice"


def test_genquery1_count_and_offset_parse_like_stoi(api: Api) -> None:
    # query/src/main.cpp:179,197 std::stoi: "2x" is 2; 2^31 is out of int range → caught → 400.
    for i in range(4):
        api.write(f"{HOME}/n{i}", b"x", user="alice")
    q = f"select DATA_NAME where COLL_NAME = '{HOME}'"
    r = api.get("query", "alice", op="execute_genquery", query=q, count="2x", offset="1y")
    assert r.status_code == 200
    assert r.json()["rows"] == [["n1"], ["n2"]]
    r = api.get("query", "alice", op="execute_genquery", query=q, count="2147483648")
    assert (r.status_code, r.content) == (400, b"")


def test_path_kind_is_checked_before_permission_and_rename_parameters(api: Api) -> None:
    api.write(f"{HOME}/obj", b"x", user="alice")
    # collections/src/main.cpp:578-602: is_collection first, then entity-name / permission.
    r = api.post("collections", "alice", op="set_permission", lpath=f"{HOME}/obj", permission="read")
    assert r.status_code == 400
    assert r.json() == {"irods_response": {"status_code": -170000}}
    r = api.post("collections", "alice", op="set_permission", lpath=HOME, permission="read")
    assert (r.status_code, r.content) == (400, b"")
    r = api.post(
        "collections", "alice", op="set_permission", lpath=HOME, **{"entity-name": "rods"}, permission="x"
    )
    assert (r.status_code, r.content) == (400, b"")
    # collections/src/main.cpp:498-512: is_collection(old-lpath) before new-lpath.
    r = api.post("collections", "alice", op="rename", **{"old-lpath": f"{HOME}/obj"})
    assert r.json() == {"irods_response": {"status_code": -170000}}
    assert api.post("collections", "alice", op="rename", **{"old-lpath": HOME}).content == b""
    # data_objects/src/main.cpp:1835-1860 and 2258-2272: is_data_object first.
    r = api.post("data-objects", "alice", op="set_permission", lpath=HOME, **{"entity-name": "rods"})
    assert r.status_code == 400
    assert r.json() == {"irods_response": {"status_code": -171000}}
    r = api.post("data-objects", "alice", op="set_permission", lpath=f"{HOME}/obj", **{"entity-name": "rods"})
    assert (r.status_code, r.content) == (400, b"")
    r = api.post("data-objects", "alice", op="rename", **{"old-lpath": HOME})
    assert r.json() == {"irods_response": {"status_code": -171000}}
    assert api.post("data-objects", "alice", op="rename", **{"old-lpath": f"{HOME}/obj"}).content == b""


def ticket_rows(api: Api) -> list[list[str]]:
    """(uses limit, expiry) of alice's tickets, one entry per ticket (the string keeps rows distinct)."""
    q = "select TICKET_STRING, TICKET_USES_LIMIT, TICKET_EXPIRY"
    rows = api.get("query", "alice", op="execute_genquery", query=q).json()["rows"]
    return [row[1:] for row in rows]


def test_ticket_constraints_are_applied_after_the_ticket_exists(api: Api) -> None:
    # tickets/src/main.cpp:220-265: create_ticket first; use-count etc. std::stoi and the expiry std::stoll
    # are not caught (→ 500); an expiry <= 0 is 400. Each failure leaves the ticket behind.
    r = api.post("tickets", "alice", op="create", lpath=HOME, **{"use-count": "many"})
    assert (r.status_code, r.content) == (500, b"")
    assert ticket_rows(api) == [["0", ""]]
    r = api.post(
        "tickets", "alice", op="create", lpath=HOME, **{"use-count": "3", "seconds-until-expiration": "0"}
    )
    assert (r.status_code, r.content) == (400, b"")
    r = api.post("tickets", "alice", op="create", lpath=HOME, **{"seconds-until-expiration": "soon"})
    assert (r.status_code, r.content) == (500, b"")
    assert sorted(ticket_rows(api)) == [["0", ""], ["0", ""], ["3", ""]]
    # A missing object fails at create_ticket: 200 with the iRODS code, no ticket, constraints unparsed.
    r = api.post("tickets", "alice", op="create", lpath=f"{HOME}/missing", **{"use-count": "many"})
    assert r.status_code == 200
    assert code(r) < 0
    assert len(ticket_rows(api)) == 3


def test_replica_number_passed_to_irods_unconverted_is_not_a_400(api: Api) -> None:
    # data_objects/src/main.cpp:2563 (truncate), 2642 (calculate_checksum), 2730 (verify_checksum), 1762
    # (trim) hand replica-number to iRODS as REPL_NUM_KW: no 400; the code is inferred (see _keyword_replica).
    api.write(f"{HOME}/r", b"abc", user="alice")
    for op, extra in (
        ("truncate", {"size": "1"}),
        ("calculate_checksum", {}),
    ):
        r = api.post("data-objects", "alice", op=op, lpath=f"{HOME}/r", **{"replica-number": "x"}, **extra)
        assert r.status_code == 200, op
        assert code(r) == -403000, op
    r = api.get("data-objects", "alice", op="verify_checksum", lpath=f"{HOME}/r", **{"replica-number": "x"})
    assert r.status_code == 200
    assert code(r) == -403000
    # trim: rsDataObjTrim parses it only when the object has more replicas than COPIES_KW "1" (see
    # test_emulator_admin_reply_fidelity::test_trim_follows_rs_data_obj_trim_with_copies_one); no 400 either.
    r = api.post("data-objects", "alice", op="trim", lpath=f"{HOME}/r", **{"replica-number": "x"})
    assert (r.status_code, code(r)) == (200, 0)
    # touch converts it itself (data_objects/src/main.cpp:2444-2452): a non-integer is an empty 400.
    r = api.post("data-objects", "alice", op="touch", lpath=f"{HOME}/r", **{"replica-number": "x"})
    assert (r.status_code, r.content) == (400, b"")


def test_unimplemented_ops_answer_501_before_authentication(api: Api) -> None:
    # tickets/src/main.cpp:88-133, users_groups/src/main.cpp:408-500,842-887, query/src/main.cpp:413-427:
    # the bodies are ``#if 0``; the handler sends 501 without resolving the caller.
    base = api.base
    for method, endpoint, op in (
        ("GET", "tickets", "list"),
        ("GET", "tickets", "stat"),
        ("GET", "users-groups", "members"),
        ("GET", "query", "list_genquery_columns"),
        ("GET", "query", "list_specific_queries"),
        ("POST", "users-groups", "add_user_auth"),
        ("POST", "users-groups", "remove_user_auth"),
    ):
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):
            if method == "GET":
                r = api.http.get(f"{base}/{endpoint}", params={"op": op}, headers=headers)
            else:
                r = api.http.post(f"{base}/{endpoint}", data={"op": op}, headers=headers)
            assert (r.status_code, r.content) == (501, b""), (endpoint, op, headers)
    # An implemented op still resolves the caller first: 400 without a header, 401 with a bad token.
    assert api.http.get(f"{base}/tickets", params={"op": "create"}).status_code == 400  # GET has no create
    assert api.http.get(f"{base}/users-groups", params={"op": "users"}).status_code == 400
    r = api.http.get(f"{base}/users-groups", params={"op": "users"}, headers={"Authorization": "Bearer x"})
    assert r.status_code == 401


def test_set_user_type_with_an_unknown_type_is_an_irods_error(api: Api) -> None:
    # users_groups/src/main.cpp:367-372 (0.7.0) passes new-user-type to adm::to_user_type, which throws
    # SYS_INVALID_INPUT_PARAM (irods 4.3.4 lib/administration/user/src/utilities.cpp:10-20): HTTP 200.
    r = api.post(
        "users-groups", op="set_user_type", name="alice", zone=ZONE, **{"new-user-type": "rodsgroup"}
    )
    assert r.status_code == 200
    assert code(r) == -130000
    assert api.get("users-groups", op="stat", name="alice").json()["type"] == "rodsuser"
    r = api.post("users-groups", op="set_user_type", name="alice", zone=ZONE)
    assert (r.status_code, r.content) == (400, b"")


def test_resource_modify_unknown_property_and_error_status(api: Api) -> None:
    # resources/src/main.cpp:263-331 (0.7.0): an unknown property matches no branch → 200/0, nothing checked.
    r = api.post("resources", "alice", op="modify", name="nope", property="colour", value="red")
    assert (r.status_code, r.json()) == (200, {"irods_response": {"status_code": 0}})
    # :334-345: an iRODS error from the modification is answered with HTTP 400 and the JSON envelope.
    r = api.post("resources", "alice", op="modify", name="demoResc", property="comments", value="x")
    assert r.status_code == 400
    assert code(r) < 0  # a rodsuser may not modify resources (the exact privilege code is unverified)
    r = api.post("resources", op="modify", name="demoResc", property="comments", value="x")
    assert (r.status_code, code(r)) == (200, 0)


def test_rules_bodies_and_required_parameters(api: Api) -> None:
    # rules/src/main.cpp:114-117 and 240-243 (0.7.0): rule-text / rule-id missing → empty 400.
    assert api.post("rules", "alice", op="execute").content == b""
    assert api.post("rules", "alice", op="execute").status_code == 400
    assert api.post("rules", "alice", op="remove_delay_rule").status_code == 400
    # :198-201: the execute body always carries stdout and stderr (null without output). The emulator has
    # no rule engine: every rule fails like unparsable text (NO_MICROSERVICE_FOUND_ERR, the upstream suite's
    # test_server_does_not_terminate_on_invalid_rule_syntax pins that answer for "hh").
    r = api.post("rules", "alice", op="execute", **{"rule-text": "hh"})
    assert (r.status_code, r.json()) == (
        200,
        {"irods_response": {"status_code": -1102000}, "stdout": None, "stderr": None},
    )
    r = api.post("rules", "alice", op="remove_delay_rule", **{"rule-id": "12345"})
    assert r.status_code == 200
    assert list(r.json()) == ["irods_response"]
    assert list(r.json()["irods_response"]) == ["status_code"]


def test_specific_query_args_delimiter_is_a_set_of_characters(api: Api) -> None:
    # query/src/main.cpp:322-330 (0.7.0): boost::is_any_of(args-delimiter) — ";|" splits on ';' and on '|'.
    q = {"op": "execute_specific_query", "name": "ShowCollAcls", "args-delimiter": ";|"}
    rows = api.get("query", "alice", **q, args=f"{HOME}|ignored").json()["rows"]
    assert rows == [["alice", ZONE, "own", "rodsuser"]]


def test_read_checks_existence_before_offset_count_and_replica_number(api: Api) -> None:
    # data_objects/src/main.cpp:725-736 (0.7.0): 404 for a missing object before offset/count (738-783) and
    # replica-number (886-897) are parsed; replica-number is only read when no resource is given (877-886).
    missing = f"{HOME}/missing"
    for params in ({"offset": "x"}, {"count": "-1"}, {"replica-number": "x"}):
        assert api.read(missing, "alice", **params).status_code == 404, params
    api.write(f"{HOME}/r", b"hello", user="alice")
    assert api.read(f"{HOME}/r", "alice", offset="x").status_code == 400
    assert api.read(f"{HOME}/r", "alice", count="-1").status_code == 400
    assert api.read(f"{HOME}/r", "alice", **{"replica-number": "x"}).status_code == 400
    r = api.read(f"{HOME}/r", "alice", resource="demoResc", **{"replica-number": "x"})
    assert (r.status_code, r.content) == (200, b"hello")
    assert api.read(f"{HOME}/r", "alice", offset="1z", count="3q").content == b"ell"  # std::stoll prefixes


def test_modify_permissions_checks_the_path_kind_before_parsing_operations(api: Api) -> None:
    # shared_api_operations.cpp:55-99 (0.7.0): lpath, operations present, is_collection/is_data_object (400 +
    # NOT_A_*), and only then json::parse (a parse error is a std::exception → 500).
    r = api.post("collections", "alice", op="modify_permissions", lpath=f"{HOME}/none", operations="not json")
    assert r.status_code == 400
    assert r.json() == {"irods_response": {"status_code": -170000}}
    r = api.post("collections", "alice", op="modify_permissions", lpath=HOME, operations="not json")
    assert (r.status_code, r.content) == (500, b"")
    r = api.post("data-objects", "alice", op="modify_permissions", lpath=HOME, operations="[")
    assert r.json() == {"irods_response": {"status_code": -171000}}
    assert api.post("collections", "alice", op="modify_permissions", lpath=HOME).status_code == 400
