"""A fresh zone holds what the iRODS installer writes into a new catalog, seen through the HTTP API.

``setup_database_values`` (irods 4.3.4 scripts/irods/database_connect.py:360-494, unchanged at 4.3.0 and
5.0.2) takes one R_ObjectId each, in this order: the zone (10000, :377-383), group public (:385-394), the
rodsadmin (:396-405; a member of public, :407-425), nine collections owned by the rodsadmin (:438-472),
bundleResc (:474-481) and the default resource (:483-494).
"""

from __future__ import annotations

import socket

import pytest
from emulator_http import Api, code

ZONE = "tempZone"


def rows(api: Api, query: str, who: str = "rods") -> list[list[str]]:
    answer = api.get("query", who, op="execute_genquery", query=query)
    assert code(answer) == 0, answer.text
    found: list[list[str]] = answer.json()["rows"]
    return found


def test_the_installer_rows_take_the_first_object_ids_in_its_order(api: Api) -> None:
    users = rows(api, "select order(USER_ID), USER_NAME, USER_TYPE where USER_NAME != 'alice'")
    assert users == [["10001", "public", "rodsgroup"], ["10002", "rods", "rodsadmin"]]
    query = "select order(COLL_ID), COLL_NAME, COLL_OWNER_NAME where COLL_NAME not like '%/alice'"
    collections = [
        "/",  # system_collections, :439-445
        f"/{ZONE}",
        f"/{ZONE}/home",
        f"/{ZONE}/trash",
        f"/{ZONE}/trash/home",
        f"/{ZONE}/home/public",  # public_collections, :446-449
        f"/{ZONE}/trash/home/public",
        f"/{ZONE}/home/rods",  # admin_collections, :450-453
        f"/{ZONE}/trash/home/rods",
    ]
    assert rows(api, query) == [[str(10003 + i), path, "rods"] for i, path in enumerate(collections)]


def test_bundle_resc_is_seeded_beside_the_default_resource(api: Api) -> None:
    """:474-481 inserts bundleResc as (unixfilesystem, class bundle, localhost, /bundle, '' elsewhere)."""
    query = (
        "select RESC_ID, RESC_NAME, RESC_TYPE_NAME, RESC_CLASS_NAME, RESC_LOC, RESC_VAULT_PATH, RESC_STATUS"
    )
    bundle = ["10012", "bundleResc", "unixfilesystem", "bundle", "localhost", "/bundle", ""]
    assert rows(api, query)[0] == bundle
    assert rows(api, "select RESC_ID, RESC_CLASS_NAME where RESC_NAME = 'demoResc'") == [["10013", "cache"]]
    info = api.get("resources", op="stat", name="bundleResc").json()["info"]
    assert (info["id"], info["type"], info["host"], info["vault_path"]) == (
        "10012",
        "unixfilesystem",
        "localhost",
        "/bundle",
    )
    # free_space_ts '' (:477): the HTTP API leaves free_space_last_modified at 0 (resources main.cpp:592-603
    # at 0.7.0; resource_administration.cpp:138-140 at irods 4.3.4).
    assert (info["free_space"], info["free_space_last_modified"]) == ("", 0)
    demo = api.get("resources", op="stat", name="demoResc").json()["info"]
    assert (demo["free_space"], demo["free_space_last_modified"]) == ("", 0)


def test_group_public_owns_the_public_collections(api: Api) -> None:
    """R_OBJT_ACCESS gets one row per collection, access 1200 (own), for group public on the two public
    collections and for the rodsadmin on the others (:466-472); no inheritance (coll_inheritance '')."""
    for path in (f"/{ZONE}/home/public", f"/{ZONE}/trash/home/public"):
        stat = api.get("collections", op="stat", lpath=path).json()
        assert stat["permissions"] == [{"name": "public", "zone": ZONE, "type": "rodsgroup", "perm": "own"}]
        assert stat["inheritance_enabled"] is False
    stat = api.get("collections", op="stat", lpath=f"/{ZONE}/home").json()
    assert stat["permissions"] == [{"name": "rods", "zone": ZONE, "type": "rodsadmin", "perm": "own"}]
    entries = api.get("collections", op="list", lpath=f"/{ZONE}/trash/home").json()["entries"]
    assert f"/{ZONE}/trash/home/public" in entries


def test_a_rodsuser_writes_in_home_public_through_group_public(api: Api) -> None:
    """alice is in group public (every new user is added to it), which owns /tempZone/home/public."""
    path = f"/{ZONE}/home/public/shared.txt"
    assert code(api.write(path, b"for everyone", "alice")) == 0
    assert api.read(path, "alice").content == b"for everyone"


def test_demo_resc_is_on_this_hosts_name_by_default(api: Api) -> None:
    """:483-491 inserts the default resource with resc_net = lib.get_hostname(): the canonical name of
    gethostname() (scripts/irods/lib.py:35-37 at 4.3.4; the same at 4.3.0-5.0.2), not ``localhost``; an
    emulator not told otherwise is a server installed on this machine."""
    name = socket.gethostname()
    canonical = socket.getaddrinfo(name, 0, 0, 0, 0, socket.AI_CANONNAME)[0][3]
    assert rows(api, "select RESC_LOC where RESC_NAME = 'demoResc'") == [[canonical]]


def test_demo_resc_host_is_the_configured_server_hostname(api: Api) -> None:
    """RESC_LOC and ``resources stat``'s host (R_RESC_MAIN.resc_net: resources main.cpp:586, 638 at 0.7.0)
    of demoResc are the server's host name; bundleResc keeps the installer's literal ``localhost``."""
    api.server.config.server_hostname = "irods.example.org"
    api.server.reset()
    query = "select RESC_NAME, RESC_LOC where RESC_NAME in ('bundleResc', 'demoResc')"
    assert rows(api, query) == [["bundleResc", "localhost"], ["demoResc", "irods.example.org"]]
    assert api.get("resources", op="stat", name="demoResc").json()["info"]["host"] == "irods.example.org"
    # the zone report's host_system_information.hostname: gethostname() (rsServerReport.cpp:236-243)
    report = api.get("zones", op="report").json()["zone_report"]
    assert report["zones"][0]["servers"][0]["host_system_information"]["hostname"] == "irods.example.org"


def test_serve_takes_the_server_hostname() -> None:
    """``serve --server-hostname`` sets it; without it the installer's name of this machine."""
    from irods_provider.testing._cli import _config, _parser
    from irods_provider.testing._config import installer_hostname

    assert _config(_parser().parse_args(["serve", "--server-hostname", "irods1"])).server_hostname == "irods1"
    assert _config(_parser().parse_args(["serve"])).server_hostname == installer_hostname()


def test_configured_resources_are_on_the_servers_host_unless_named(api: Api) -> None:
    """``iadmin mkresc NAME TYPE HOST:VAULT`` records HOST as resc_net (chlRegResc, plugins/database/src/
    db_plugin.cpp:3999, 4012-4015 at 4.3.4): on a one-server zone the server's own name, as the iRODS test
    suite makes them (scripts/irods/test/resource_suite.py:50). A coordinating resource is made with no
    location, EMPTY_RESC_HOST (``resources stat`` reports it verbatim, resources main.cpp:586 at 0.7.0);
    ``EmulatorConfig.resource_hosts`` places a resource on another host, its children with it."""
    api.server.config.server_hostname = "irods.example.org"
    api.server.config.resources = ("archiveResc", "replResc:replication", "farResc:passthru")
    api.server.config.resource_hosts = {"farResc": "far.example.org", "replResc_ufs1": "other.example.org"}
    api.server.reset()
    configured = [
        r for r in rows(api, "select RESC_NAME, RESC_LOC") if r[0] not in ("bundleResc", "demoResc")
    ]
    assert configured == [
        ["archiveResc", "irods.example.org"],
        ["farResc", "EMPTY_RESC_HOST"],
        ["farResc_ufs0", "far.example.org"],
        ["replResc", "EMPTY_RESC_HOST"],
        ["replResc_ufs0", "irods.example.org"],
        ["replResc_ufs1", "other.example.org"],
    ]
    assert api.get("resources", op="stat", name="archiveResc").json()["info"]["host"] == "irods.example.org"


def test_serve_takes_resource_hosts() -> None:
    """``serve --resource-host RESC=HOST`` (repeatable) fills ``resource_hosts``; none by default."""
    from irods_provider.testing._cli import _config, _parser

    args = ["serve", "--resource", "a", "--resource-host", "a=h1", "--resource-host", "b=h2"]
    assert _config(_parser().parse_args(args)).resource_hosts == {"a": "h1", "b": "h2"}
    assert _config(_parser().parse_args(["serve"])).resource_hosts == {}
    with pytest.raises(SystemExit):
        _parser().parse_args(["serve", "--resource-host", "a"])
