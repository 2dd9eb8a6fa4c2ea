"""touch's option checks and empty-valued parameters as the real servers decide them, over real HTTP.

Expectations come from irods/irods 4.3.4 plugins/api/src/touch.cpp and irods_client_http_api 0.7.0
(core/src/common.cpp, endpoints/*/src/main.cpp), file:line in each test; never from the emulator.
"""

from __future__ import annotations

import httpx2
import pytest
from emulator_http import ZONE, Api, code

RODS = f"/{ZONE}/home/rods"


def _touch(api: Api, endpoint: str = "data-objects", **params: str) -> httpx2.Response:
    return api.post(endpoint, "rods", op="touch", **params)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("replica-number", "-1"),  # touch.cpp:248 throw_if_less_than_zero
        ("leaf-resource", ""),  # touch.cpp:249 throw_if_empty_string
        ("reference", ""),  # touch.cpp:250
        ("seconds-since-epoch", "-5"),  # touch.cpp:251
    ],
)
def test_touch_option_not_well_formed(api: Api, option: str, value: str) -> None:
    # The HTTP API returns rc_touch's int alone: {"irods_response": {"status_code": ec}} at HTTP 200
    # (data_objects/src/main.cpp:2494-2496, 0.7.0); INPUT_ARG_NOT_WELL_FORMED_ERR = -1084000.
    api.write(f"{RODS}/t.txt", b"x")
    r = _touch(api, lpath=f"{RODS}/t.txt", **{option: value})
    assert (r.status_code, r.json()) == (200, {"irods_response": {"status_code": -1084000}})
    if option in ("reference", "seconds-since-epoch"):  # collections/src/main.cpp:772-805: the same rc_touch
        r = _touch(api, "collections", lpath=RODS, **{option: value})
        assert (r.status_code, r.json()) == (200, {"irods_response": {"status_code": -1084000}})


def test_touch_seconds_outside_int_is_a_400(api: Api) -> None:
    # data_objects/src/main.cpp:2460-2472 (0.7.0): std::stoi; out of range is caught → 400, empty body.
    api.write(f"{RODS}/t.txt", b"x")
    r = _touch(api, lpath=f"{RODS}/t.txt", **{"seconds-since-epoch": "3000000000"})
    assert (r.status_code, r.content) == (400, b"")
    r = _touch(api, "collections", lpath=RODS, **{"seconds-since-epoch": "3000000000"})
    assert (r.status_code, r.content) == (400, b"")


def test_touch_create_on_a_coordinating_resource(api: Api) -> None:
    # touch.cpp:300-312 (4.3.4): a leaf_resource_name with children is USER_INVALID_RESC_INPUT (-361000).
    assert code(api.post("resources", "rods", op="create", name="coord", type="replication")) == 0
    r = api.post("resources", "rods", op="create", name="leafA", type="unixfilesystem", host="localhost")
    assert code(r) == 0
    children = {"parent-name": "coord", "child-name": "leafA"}
    assert code(api.post("resources", "rods", op="add_child", **children)) == 0
    r = _touch(api, lpath=f"{RODS}/n.txt", **{"leaf-resource": "coord"})
    assert r.json() == {"irods_response": {"status_code": -361000}}
    assert code(api.get("data-objects", "rods", op="stat", lpath=f"{RODS}/n.txt")) < 0  # nothing created
    r = _touch(api, lpath=f"{RODS}/n.txt", **{"leaf-resource": "leafA", "seconds-since-epoch": "1000"})
    assert r.json() == {"irods_response": {"status_code": 0}}
    # touch.cpp:452-486: a created object's mtime is then set like an existing one's.
    q = f"select DATA_MODIFY_TIME where COLL_NAME = '{RODS}' and DATA_NAME = 'n.txt'"
    assert api.get("query", "rods", op="execute_genquery", query=q).json()["rows"] == [["00000001000"]]


def test_touch_create_under_a_missing_collection(api: Api) -> None:
    # touch.cpp:326-327: the odstream that creates the object fails without throwing; :452-457 then finds
    # nothing there → CAT_NOT_A_DATAOBJ_AND_NOT_A_COLLECTION (-836000), status_code only.
    r = _touch(api, lpath=f"{RODS}/nodir/x.txt")
    assert (r.status_code, r.json()) == (200, {"irods_response": {"status_code": -836000}})


@pytest.mark.parametrize(
    ("endpoint", "method", "params"),
    [
        (
            "query",
            "GET",
            {"op": "execute_genquery", "query": "select DATA_NAME", "parser": ""},
        ),  # query:115-124
        (
            "query",
            "GET",
            {"op": "execute_genquery", "query": "select DATA_NAME", "case-sensitive": ""},
        ),  # :211-223
        ("query", "GET", {"op": "execute_genquery", "query": "select DATA_NAME", "distinct": ""}),  # :225-233
        ("tickets", "POST", {"op": "create", "lpath": RODS, "type": ""}),  # tickets/src/main.cpp:210-220
        (
            "users-groups",
            "POST",
            {"op": "create_user", "name": "bob", "zone": ZONE, "user-type": ""},
        ),  # :150-161
    ],
)
def test_a_parameter_sent_empty_is_not_a_default(
    api: Api, endpoint: str, method: str, params: dict[str, str]
) -> None:
    # core/src/common.cpp:136-143 (0.7.0) to_argument_list keeps "k=" as k → "", so the handler sees the
    # key and its validation refuses "" with an empty 400.
    r = api.get(endpoint, "rods", **params) if method == "GET" else api.post(endpoint, "rods", **params)
    assert (r.status_code, r.content) == (400, b"")
