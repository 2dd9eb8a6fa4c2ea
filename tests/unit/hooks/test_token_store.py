"""Refresh-token stores: values round-trip, leases exclude each other, Variables hold only ciphertext."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from airflow.sdk.log import redact
from cryptography.fernet import Fernet

from irods_provider.client import InProcessTokenStore, SqliteTokenStore, TokenStore
from irods_provider.client._token_store import PROCESS_TOKEN_STORE
from irods_provider.hooks._token_store import TOKEN_STORE_ENV, VariableTokenStore, default_token_store

pytestmark = pytest.mark.timeout(60)


class FakeVariables:
    """A dict standing in for the Variables API (get/set by name), counting calls."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.lock = threading.Lock()

    def get(self, name: str) -> str | None:
        with self.lock:
            return self.values.get(name)

    def set(self, name: str, value: str) -> None:
        with self.lock:
            self.values[name] = value


def _variable_store(variables: FakeVariables, key: bytes, *, settle: float = 0.05) -> VariableTokenStore:
    fernet = Fernet(key)
    return VariableTokenStore(
        settle_seconds=settle, get=variables.get, set_=variables.set, fernet=lambda: fernet
    )


def _stores(tmp_path: Path) -> dict[str, TokenStore]:
    return {
        "process": InProcessTokenStore(),
        "sqlite": SqliteTokenStore(tmp_path / "tokens.sqlite3"),
        "variables": _variable_store(FakeVariables(), Fernet.generate_key()),
    }


@pytest.mark.parametrize("kind", ["process", "sqlite", "variables"])
def test_values_round_trip_per_key(kind: str, tmp_path: Path) -> None:
    store = _stores(tmp_path)[kind]
    assert isinstance(store, TokenStore)
    assert store.get("k1") is None
    store.put("k1", "rt-value-one-aaaa")
    store.put("k2", "rt-value-two-bbbb")
    store.put("k1", "rt-value-three-cccc")
    assert (store.get("k1"), store.get("k2")) == ("rt-value-three-cccc", "rt-value-two-bbbb")


@pytest.mark.parametrize("kind", ["process", "sqlite", "variables"])
def test_a_lease_admits_one_holder_at_a_time(kind: str, tmp_path: Path) -> None:
    """Four threads, three leases each, on one key: holders never overlap; another key is independent."""
    store = _stores(tmp_path)[kind]
    inside: list[int] = []
    overlaps: list[int] = []
    order: list[int] = []

    def work(n: int) -> None:
        for _ in range(3):
            with store.lease("key", seconds=10):
                inside.append(n)
                if len(inside) > 1:
                    overlaps.append(n)
                order.append(n)
                time.sleep(0.002)  # hold it briefly so a broken lease would show an overlap
                inside.remove(n)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    with store.lease("other-key", seconds=10):  # not blocked by the first key's holders
        pass
    for thread in threads:
        thread.join(timeout=30)
    assert overlaps == []
    assert sorted(order) == sorted(list(range(4)) * 3)


def test_sqlite_lease_of_a_vanished_holder_is_taken_over_after_expiry(tmp_path: Path) -> None:
    store = SqliteTokenStore(tmp_path / "tokens.sqlite3")
    assert store._take("key", "crashed-holder", 0.2)
    started = time.monotonic()
    with store.lease("key", seconds=0.2):
        waited = time.monotonic() - started
    assert waited >= 0.15  # it waited for the crashed holder's lease to expire, then took it over


def test_variables_hold_ciphertext_and_the_token_is_masked() -> None:
    variables = FakeVariables()
    key = Fernet.generate_key()
    store = _variable_store(variables, key)
    token = "rt-Zq81-secret-refresh-token"
    store.put("conn-key", token)
    (name,) = variables.values
    assert name.startswith("irods_openid_refresh_token_")
    assert "conn-key" not in name
    assert token not in variables.values[name]
    assert Fernet(key).decrypt(variables.values[name].encode()).decode() == token
    assert redact(f"x {token}") == "x ***"
    assert _variable_store(variables, key).get("conn-key") == token  # another process with the same key


def test_variable_lease_is_released_and_expired_leases_are_taken_over() -> None:
    variables = FakeVariables()
    store = _variable_store(variables, Fernet.generate_key(), settle=0.01)
    name = VariableTokenStore.variable_name("k", lease=True)
    variables.set(name, '{"holder": "dead-process", "expires": %f}' % (time.time() + 0.3))
    started = time.monotonic()
    with store.lease("k", seconds=5):
        assert '"holder": "dead-process"' not in variables.values[name]
    assert time.monotonic() - started >= 0.25
    assert '"holder": ""' in variables.values[name]  # released


def test_default_store_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_STORE_ENV, raising=False)
    assert default_token_store() is PROCESS_TOKEN_STORE  # no worker supervisor here (tests, dag.test())
    monkeypatch.setenv(TOKEN_STORE_ENV, "variables")
    assert isinstance(default_token_store(), VariableTokenStore)
    monkeypatch.setenv(TOKEN_STORE_ENV, "process")
    assert default_token_store() is PROCESS_TOKEN_STORE


@pytest.mark.parametrize(
    ("comms", "variables"),
    [
        ("airflow.sdk.execution_time.comms.CommsDecoder", True),  # a worker's task process
        ("airflow.jobs.triggerer_job_runner.TriggerCommsDecoder", True),  # the triggerer's trigger process
        ("airflow.sdk.execution_time.supervisor.InProcessSupervisorComms", False),  # dag.test()
    ],
)
def test_default_store_by_process(comms: str, variables: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers and the triggerer share the Variables store; dag.test() (one process) keeps its own."""
    import importlib
    from unittest import mock

    from airflow.sdk.execution_time import task_runner

    module, _, name = comms.rpartition(".")
    monkeypatch.delenv(TOKEN_STORE_ENV, raising=False)
    fake = mock.MagicMock(spec=getattr(importlib.import_module(module), name))
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", fake, raising=False)
    store = default_token_store()
    assert isinstance(store, VariableTokenStore) is variables
    assert (store is PROCESS_TOKEN_STORE) is not variables


def test_variables_are_read_past_the_secrets_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``[secrets] use_cache`` on, a cached value is one another process may have rotated since."""
    import datetime
    from unittest import mock

    from airflow.sdk.execution_time import task_runner
    from airflow.sdk.execution_time.cache import SecretCache
    from airflow.sdk.execution_time.comms import CommsDecoder, VariableResult

    from irods_provider.hooks._token_store import _get_variable

    name = VariableTokenStore.variable_name("k")
    # what SecretCache.init() sets up when use_cache is on
    monkeypatch.setattr(SecretCache, "_cache", {})
    monkeypatch.setattr(SecretCache, "_ttl", datetime.timedelta(minutes=15), raising=False)
    SecretCache.save_variable(name, "ciphertext-of-a-rotated-away-token")
    comms = mock.MagicMock(spec=CommsDecoder)
    comms.send.return_value = VariableResult(key=name, value="ciphertext-of-the-newest-token")
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", comms, raising=False)
    assert _get_variable(name) == "ciphertext-of-the-newest-token"
    sent = [call.args[0] for call in comms.send.call_args_list]
    assert [msg.key for msg in sent if type(msg).__name__ == "GetVariable"] == [name]
