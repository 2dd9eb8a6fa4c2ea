"""The triggerer's token sources per connection identity (hooks/_token_sources.py): shared, bounded."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from irods_provider.client import BasicAuth
from irods_provider.client._auth import Basic
from irods_provider.hooks._token_sources import (
    MAX_SHARED_SOURCES,
    forget_token_source,
    shared_token_source,
)


def settings(password: str = "pw-12345", *, auth: Any = None) -> Any:
    return SimpleNamespace(
        api_root="https://irods.example.org/irods-http-api",
        auth=auth or Basic("alice", password),
        verify=True,
        timeout=30.0,
    )


def build() -> BasicAuth:
    return BasicAuth("alice", "pw")


def test_one_source_per_identity_a_new_password_gets_its_own() -> None:
    first = shared_token_source(settings(), build)
    assert shared_token_source(settings(), build) is first
    assert shared_token_source(settings("rotated-pw"), build) is not first


def test_bounded_least_recently_used_first() -> None:
    kept = shared_token_source(settings("pw-0"), build)
    dropped = shared_token_source(settings("pw-1"), build)
    for n in range(2, MAX_SHARED_SOURCES + 1):
        shared_token_source(settings(f"pw-{n}"), build)
        shared_token_source(settings("pw-0"), build)  # used again: kept
    assert shared_token_source(settings("pw-0"), build) is kept
    assert shared_token_source(settings("pw-1"), build) is not dropped


def test_a_forgotten_source_is_built_anew() -> None:
    first = shared_token_source(settings(), build)
    forget_token_source(first)
    assert shared_token_source(settings(), build) is not first


def test_an_identity_that_cannot_be_a_key_is_never_shared() -> None:
    unhashable = settings(auth=SimpleNamespace(grant="a namespace is no dict key"))
    assert shared_token_source(unhashable, build) is not shared_token_source(unhashable, build)
