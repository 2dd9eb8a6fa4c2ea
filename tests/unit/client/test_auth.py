import asyncio
import threading

import pytest

from irods_provider.client import BasicAuth, StaticToken, TokenProvider
from irods_provider.exceptions import IrodsAuthenticationError, IrodsConfigurationError


def test_repr_hides_secrets():
    assert "hunter2" not in repr(BasicAuth("alice", "hunter2"))
    assert "tok-123" not in repr(StaticToken("tok-123"))


def test_providers_satisfy_protocol():
    assert isinstance(BasicAuth("a", "b"), TokenProvider)
    assert isinstance(StaticToken("t"), TokenProvider)


def test_unbound_basic_auth_is_a_configuration_error():
    with pytest.raises(IrodsConfigurationError):
        BasicAuth("a", "b").get_token()


def test_basic_auth_reuses_and_renews_only_on_reject():
    tokens = iter(["t1", "t2", "t3"])
    auth = BasicAuth("alice", "pw")
    auth.bind(login=lambda u, p: next(tokens))
    assert auth.get_token() == "t1"
    assert auth.get_token() == "t1"
    assert auth.get_token(reject="stale-other") == "t1"
    assert auth.get_token(reject="t1") == "t2"
    assert auth.login_count == 2


def test_fifty_threads_rejecting_the_same_token_cause_one_login():
    gate = threading.Event()
    calls = []

    def login(user, password):
        calls.append(user)
        gate.wait(5)
        return f"t{len(calls)}"

    auth = BasicAuth("alice", "pw")
    auth.bind(login=login)
    old = auth.get_token()
    gate.clear()
    results = []
    threads = [threading.Thread(target=lambda: results.append(auth.get_token(reject=old))) for _ in range(50)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(10)
    assert results == ["t2"] * 50
    assert len(calls) == 2


async def test_async_single_flight():
    calls = []

    async def alogin(user, password):
        calls.append(user)
        await asyncio.sleep(0)
        return f"a{len(calls)}"

    auth = BasicAuth("alice", "pw")
    auth.bind(alogin=alogin)
    first = await auth.aget_token()
    results = await asyncio.gather(*(auth.aget_token(reject=first) for _ in range(20)))
    assert first == "a1"
    assert set(results) == {"a2"}
    assert len(calls) == 2


def test_static_token_refused_is_final_without_leaking_it():
    auth = StaticToken("secret-token")
    assert auth.get_token() == "secret-token"
    with pytest.raises(IrodsAuthenticationError) as info:
        auth.get_token(reject="secret-token")
    assert "secret-token" not in str(info.value)


def test_basic_auth_passes_every_minted_token_to_on_token() -> None:
    tokens = iter(["t1", "t2"])
    seen: list[str] = []
    auth = BasicAuth("alice", "pw", on_token=seen.append)
    auth.bind(login=lambda u, p: next(tokens))
    assert auth.get_token() == "t1"
    assert auth.get_token() == "t1"  # reused: not minted again
    assert auth.get_token(reject="t1") == "t2"
    assert seen == ["t1", "t2"]


def test_build_token_source_maps_each_spec_to_its_source() -> None:
    from irods_provider.client import (
        Basic,
        ClientCredentialsGrant,
        OpenId,
        OpenIdClientCredentials,
        OpenIdOptions,
        OpenIdPassword,
        OpenIdRefreshToken,
        PasswordGrant,
        RefreshTokenGrant,
        Token,
        build_token_source,
    )

    options = OpenIdOptions(
        client_id="c", token_url="https://idp/token", client_secret="cs-xyz", scope="openid", audience="irods"
    )
    basic = build_token_source(Basic("alice", "pw-abc"))
    assert isinstance(basic, BasicAuth)
    assert basic.username == "alice"
    assert isinstance(build_token_source(Token("tok-abc")), StaticToken)
    cases = [
        (ClientCredentialsGrant(), OpenIdClientCredentials),
        (PasswordGrant("bob", "pw-bob"), OpenIdPassword),
        (RefreshTokenGrant("rt-abc"), OpenIdRefreshToken),
    ]
    for grant, kind in cases:
        spec = OpenId(grant, options)
        source = build_token_source(spec, timeout=7.0, verify=False)
        assert type(source) is kind
        assert (source.client_id, source.token_url, source.scope, source.audience) == (  # type: ignore[attr-defined]
            "c",
            "https://idp/token",
            "openid",
            "irods",
        )
        assert source._client_options["timeout"] == 7.0  # type: ignore[attr-defined]
        assert source._client_options["token_endpoint_auth_method"] == "client_secret_basic"  # type: ignore[attr-defined]
        for secret in ("cs-xyz", "pw-bob", "rt-abc"):
            assert secret not in repr(spec)
    assert OpenId(PasswordGrant("bob", "pw-bob"), options).secrets() == ["cs-xyz", "pw-bob"]
