"""Where the read alias of a ``+`` path is made: the user's home collection in the path's zone."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from irods_provider.client import BasicAuth, StaticToken
from irods_provider.client._paths import is_temporary_name
from irods_provider.client.transfer._alias import ALIAS_PREFIX, alias_collection
from irods_provider.exceptions import IrodsInvalidPathError


def session(auth, zone: str = "tempZone") -> SimpleNamespace:
    return SimpleNamespace(auth=auth, limits=SimpleNamespace(irods_zone=zone))


def test_the_home_of_the_login_user_in_the_path_zone() -> None:
    alice = session(BasicAuth("alice", "pw"))
    assert alias_collection(alice, "/tempZone/home/bob/a+b") == "/tempZone/home/alice"
    assert alias_collection(alice, "/otherZone/proj/a+b") == "/otherZone/home/alice#tempZone"


def test_no_user_or_a_home_with_plus_is_refused_clearly() -> None:
    with pytest.raises(IrodsInvalidPathError, match="name no user") as error:
        alias_collection(session(StaticToken("t")), "/tempZone/home/x/a+b")
    assert error.value.path == "/tempZone/home/x/a+b"
    with pytest.raises(IrodsInvalidPathError, match="holds '\\+' too"):
        alias_collection(session(BasicAuth("c+d", "pw")), "/tempZone/home/x/a+b")


def test_aliases_are_engine_temporaries() -> None:
    assert is_temporary_name(f"{ALIAS_PREFIX}{'0' * 32}")
