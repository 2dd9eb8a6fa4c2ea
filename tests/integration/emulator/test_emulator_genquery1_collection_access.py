"""GenQuery1's access check for a rodsuser covers the collection too whenever the SQL names R_COLL_MAIN.

Under the default STRICT ACL policy (packaging/core.re.template:93 at irods 4.3.4) genqAppendAccessCheck
adds, for a caller who is not the local rodsadmin, "R_DATA_MAIN.data_id in (... read_object ...)" when the
select list or where clause names R_DATA_MAIN and the same test on R_COLL_MAIN.coll_id when it names
R_COLL_MAIN (plugins/database/src/general_query.cpp:1614-1694, the same 4.3.0-5.0.2). A COLL_* column or a
link through the collection (R_COLL_MAIN.coll_id = R_DATA_MAIN.coll_id, general_query_setup.cpp:585) names
it; a query of data-object columns alone does not. The HTTP API runs the query as the caller (query
endpoint main.cpp:200-263 at 0.7.0).
"""

from __future__ import annotations

import pytest
from emulator_http import Api, code

COLL = "/tempZone/home/rods/hidden"
NAMES_COLLECTION = [
    "select DATA_NAME, COLL_NAME where DATA_NAME = 'x.txt'",
    f"select DATA_NAME where COLL_NAME = '{COLL}'",
    "select DATA_NAME, META_COLL_ATTR_NAME where DATA_NAME = 'x.txt'",
    "select count(DATA_ID) where COLL_NAME like '/tempZone/home/%'",
]
DATA_ONLY = [
    "select DATA_NAME where DATA_NAME = 'x.txt'",
    "select DATA_NAME, DATA_SIZE, RESC_NAME where DATA_NAME = 'x.txt'",
]


def _rows(api: Api, query: str, who: str = "alice") -> list[list[str]]:
    body = api.get("query", who, op="execute_genquery", query=query).json()
    assert body["irods_response"]["status_code"] == 0, body
    rows: list[list[str]] = body["rows"]
    return rows


def _grant(api: Api, endpoint: str, path: str, permission: str) -> None:
    granted = api.post(
        endpoint, op="set_permission", lpath=path, **{"entity-name": "alice"}, permission=permission
    )
    assert code(granted) == 0, granted.text


@pytest.fixture
def hidden(api: Api) -> Api:
    """rods's ``hidden`` collection (alice: no entry) holding ``x.txt`` that alice may read, with an AVU."""
    assert code(api.post("collections", op="create", lpath=COLL)) == 0
    assert code(api.write(f"{COLL}/x.txt", b"xyz")) == 0
    avu = '[{"operation": "add", "attribute": "a", "value": "v"}]'
    assert code(api.post("collections", op="modify_metadata", lpath=COLL, operations=avu)) == 0
    _grant(api, "data-objects", f"{COLL}/x.txt", "read")
    return api


@pytest.mark.parametrize("query", NAMES_COLLECTION)
def test_a_query_naming_the_collection_hides_objects_of_an_unreadable_collection(
    hidden: Api, query: str
) -> None:
    assert _rows(hidden, query) in ([], [["0"]])
    assert _rows(hidden, query, "rods") not in ([], [["0"]])  # the rodsadmin is never restricted (:1618)


@pytest.mark.parametrize("query", DATA_ONLY)
def test_a_query_of_data_columns_alone_checks_the_object_only(hidden: Api, query: str) -> None:
    assert _rows(hidden, query)[0][0] == "x.txt"


@pytest.mark.parametrize("query", NAMES_COLLECTION)
def test_read_on_the_collection_shows_the_object_again(hidden: Api, query: str) -> None:
    _grant(hidden, "collections", COLL, "read")
    assert _rows(hidden, query) not in ([], [["0"]])


READ_METADATA_QUERIES = [
    ("select DATA_NAME where DATA_NAME = 'x.txt'", "x.txt"),
    (f"select COLL_NAME where COLL_NAME = '{COLL}'", COLL),
]


@pytest.mark.parametrize(("query", "found"), READ_METADATA_QUERIES)
def test_read_metadata_alone_shows_no_row(api: Api, query: str, found: str) -> None:
    """The check compares ``access_type_id >= token_id('read_object')`` (general_query.cpp:1663-1669 for
    R_DATA_MAIN, :1683-1689 for R_COLL_MAIN at irods 4.3.4): ``read_metadata`` (1040) is below
    ``read_object`` (1050), so a rodsuser holding only that sees neither the object nor the collection;
    ``read_object`` shows them. GenQuery2 asks the same 1050 (genquery2_sql.cpp:394 at 4.3.4)."""
    assert code(api.post("collections", op="create", lpath=COLL)) == 0
    assert code(api.write(f"{COLL}/x.txt", b"xyz")) == 0
    for endpoint, path in (("collections", COLL), ("data-objects", f"{COLL}/x.txt")):
        _grant(api, endpoint, path, "read_metadata")
    assert _rows(api, query) == []
    for endpoint, path in (("collections", COLL), ("data-objects", f"{COLL}/x.txt")):
        _grant(api, endpoint, path, "read_object")
    assert _rows(api, query) == [[found]]
