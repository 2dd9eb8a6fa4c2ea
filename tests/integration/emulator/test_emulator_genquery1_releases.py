"""GenQuery1 over HTTP follows the iRODS release the emulator reports (``irods_server_version``).

4.3.x (the default, ``rods4.3.2``): the HTTP API's irods::query calls fillGenQueryInpFromStrCond (irods 4.3.4
irods_query.hpp:172); 5.0+: the flex/bison grammar. Either failure is 200 + code + the message of the
exception irods::query throws (query/src/main.cpp:253-262 at 0.7.0; irods_exception.cpp:83-95).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx2
import pytest
from emulator_http import Api

from irods_provider._error_codes import error_code
from irods_provider.testing import EmulatorConfig, EmulatorServer

HOME = "/tempZone/home/rods"

# Each answers rows on iRODS 5.0 and fails on 4.3.4 (rcMisc.cpp:3214-3301 at 4.3.4).
STRICTER_ON_43 = [
    ("select DATA_NAME where DATA_NAME='f1.txt'", "INPUT_ARG_NOT_WELL_FORMED_ERR"),
    ("select DATA_NAME where DATA_NAME= 'f1.txt'", "NO_COLUMN_NAME_FOUND"),
    ("Select DATA_NAME Where DATA_NAME = 'f1.txt'", "INPUT_ARG_NOT_WELL_FORMED_ERR"),
    ("select Count(DATA_NAME)", "INVALID_GENQUERY_AGGREGATE_FUNCTION"),
    ("select DATA_NAME WHERE DATA_NAME = 'nowhere.txt'", "NO_COLUMN_NAME_FOUND"),
]


@pytest.fixture
def api_of(irods_emulator_variants: Callable[..., EmulatorServer]) -> Iterator[Callable[[str], Api]]:
    """``api_of("rods5.0.1")``: a raw client of a fresh emulator of that iRODS release, with two objects."""
    with httpx2.Client(timeout=10) as http:

        def make(version: str) -> Api:
            api = Api(irods_emulator_variants(irods_server_version=version), http)
            for name in ("f1.txt", "nowhere.txt"):
                assert api.write(f"{HOME}/{name}", b"x").status_code == 200
            return api

        yield make


def genquery(api: Api, query: str, **params: str) -> httpx2.Response:
    return api.get("query", op="execute_genquery", query=query, **params)


@pytest.mark.parametrize(("query", "name"), STRICTER_ON_43)
def test_the_4_3_release_refuses_what_5_0_accepts(
    api_of: Callable[[str], Api], query: str, name: str
) -> None:
    answer = genquery(api_of("rods4.3.4"), query)
    assert answer.status_code == 200
    assert answer.json() == {
        "irods_response": {
            "status_code": error_code(name),
            "status_message": f"{name}: query fill failed for [{query}]\n\n",
        }
    }
    answer = genquery(api_of("rods5.0.1"), query)
    assert answer.status_code == 200
    assert answer.json()["irods_response"] == {"status_code": 0}
    assert answer.json()["rows"]


def test_the_default_release_is_4_3_2_and_info_reports_it(api: Api) -> None:
    assert api.server.config.irods_server_version == "rods4.3.2"
    assert api.get("info").json()["irods_server_version"] == "rods4.3.2"
    api.write(f"{HOME}/f1.txt", b"x")
    for query, name in STRICTER_ON_43:
        answer = genquery(api, query).json()["irods_response"]
        if name == "INVALID_GENQUERY_AGGREGATE_FUNCTION":  # before 4.3.4 an unknown function is no function
            assert answer == {"status_code": 0}
        else:
            assert answer["status_code"] == error_code(name)


def test_info_reports_the_configured_release(api_of: Callable[[str], Api]) -> None:
    api = api_of("rods5.0.1")
    assert api.get("info").json()["irods_server_version"] == "rods5.0.1"
    assert EmulatorConfig(irods_server_version="5.0.1").irods_server_version == "rods5.0.1"
    with pytest.raises(ValueError, match="not an iRODS server version"):
        EmulatorConfig(irods_server_version="five")


def test_case_insensitive_messages_carry_the_upper_cased_query(api_of: Callable[[str], Api]) -> None:
    """query/src/main.cpp:210-214: case-sensitive=0 upper-cases the query before irods::query sees it."""
    query = "select DATA_NAME where COLL_NAME begin_of '/tempZone/home/rods/x'"
    answer = genquery(api_of("rods4.3.4"), query, **{"case-sensitive": "0"}).json()["irods_response"]
    name = "CAT_INVALID_ARGUMENT"  # the catalog looks for a lower-case begin_of (general_query.cpp:1568)
    assert answer == {
        "status_code": error_code(name),
        "status_message": f"{name}: query failed for [{query.upper()}] type [0]\n\n",
    }
    answer = genquery(api_of("rods5.0.1"), query, **{"case-sensitive": "0"}).json()
    assert answer == {"irods_response": {"status_code": 0}, "rows": [["f1.txt"], ["nowhere.txt"]]}


def test_the_cli_takes_the_release_beside_the_other_profile_flags() -> None:
    from irods_provider.testing._cli import _parser

    args = _parser().parse_args(["serve", "--irods-server-version", "5.0.1"])
    assert args.irods_server_version == "rods5.0.1"
    assert _parser().parse_args(["serve"]).irods_server_version == "rods4.3.2"
    with pytest.raises(SystemExit):
        _parser().parse_args(["serve", "--irods-server-version", "latest"])
