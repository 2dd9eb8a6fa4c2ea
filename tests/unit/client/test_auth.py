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
