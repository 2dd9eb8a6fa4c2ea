"""The ``zone`` and ``default_resource`` extras are checked when the connection is read, with errors naming
the extra: they were taken as any text, so ``zone: "/tempZone"`` built the home ``//tempZone/home/<user>``
and made Test connection fail on a path the user never typed, and ``default_resource: "demoResc;child"`` (a
hierarchy, not a root resource) passed Test connection and failed, or not, at the first write.

Zone names: ``^[A-Za-z0-9_\\.]+$``, at most 63 characters (irods schemas/configuration/v4/
server_config.json.in:164 at 4.3.0, v5 :231-234 at 5.0.2; server/core/src/administration_utilities.cpp:171-176
at 4.3.4). Resource names: ``;`` separates a hierarchy's levels (lib/core/src/irods_hierarchy_parser.cpp at
4.3.4), so a root resource name holds none; the operators' ``resource`` rule (no space, ``;``, ``/``).
"""

from __future__ import annotations

import pytest

from irods_provider.exceptions import IrodsConfigurationError
from irods_provider.hooks._connection import parse_connection

BASE = {"conn_id": "c", "host": "h", "port": None, "schema": "https", "login": "u", "password": "p"}


@pytest.mark.parametrize(
    "zone", ["/tempZone", "tempZone/", "temp Zone", "a/b", "zone#other", "z" * 64, "tempZöne", {"x": 1}]
)
def test_a_zone_that_is_no_zone_name_is_refused_naming_the_extra(zone) -> None:
    with pytest.raises(IrodsConfigurationError, match=r"connection extra 'zone' must be an iRODS zone name"):
        parse_connection(extras={"zone": zone}, **BASE)


@pytest.mark.parametrize("zone", ["tempZone", "my_zone.2", "z" * 63, "  tempZone  "])
def test_zone_names_are_kept(zone: str) -> None:
    assert parse_connection(extras={"zone": zone}, **BASE).zone == zone.strip()


@pytest.mark.parametrize("resource", ["demoResc;child", "demo Resc", "a/b", "nul\x00", {"x": 1}])
def test_a_default_resource_that_is_no_root_resource_name_is_refused(resource) -> None:
    with pytest.raises(IrodsConfigurationError, match=r"connection extra 'default_resource' must be a root"):
        parse_connection(extras={"default_resource": resource}, **BASE)


def test_default_resource_names_are_kept() -> None:
    kept = parse_connection(extras={"default_resource": " archiveResc "}, **BASE)
    assert kept.default_resource == "archiveResc"
    assert parse_connection(extras={"default_resource": ""}, **BASE).default_resource is None
