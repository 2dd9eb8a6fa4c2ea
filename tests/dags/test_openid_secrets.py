"""OpenID mode keeps every secret out of task logs, XComs and error texts, for each grant.

The basic example DAG runs through ``dag.test()`` in each OpenID mode (test_example_dags.py runs it with
the password grant for the task logs only; here XComs and error texts are checked too), then a refused
call's error text is checked, and
``test_connection()`` explains a revoked refresh token and a wrong password (wrong client secret:
test_openid_connection.py; unreachable provider: tests/integration/airflow/test_irods_hook.py).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
import traceback
from pathlib import Path
from unittest import mock

import pytest

from irods_provider.exceptions import IrodsError

LONG_CC, LONG_PW = "irods-cc-long", "irods-pw-long"
SERVICE_ACCOUNT = f"service-account-{LONG_CC}"
CONN_ID = "irods_oidc_secrets"
BASIC_DAG = Path(__file__).resolve().parents[2] / "example_dags" / "irods_basic_operations.py"


@pytest.fixture(scope="module")
def emulator(openid_emulator):
    """The protected-resource emulator with the users the grants map to (alice is there already)."""
    openid_emulator.add_user(SERVICE_ACCOUNT, "sa-irods-only-pw")
    openid_emulator.add_user("bob", "bob-irods-only-pw")
    return openid_emulator


def _loggers() -> list[logging.Logger]:
    found = list(logging.root.manager.loggerDict.values())
    return [logging.root, *(lg for lg in found if isinstance(lg, logging.Logger))]


@pytest.fixture
def restore_log_handlers(capsys):
    """dag.test() sets up logging onto capsys's stream; drop those handlers before capsys closes it."""
    before = {id(h) for lg in _loggers() for h in lg.handlers}
    yield
    for lg in _loggers():
        for handler in list(lg.handlers):
            stream = getattr(handler, "stream", None)
            if id(handler) not in before and stream not in (None, sys.__stdout__, sys.__stderr__):
                lg.removeHandler(handler)


def _connection(emulator, provider, *, mode: str, extra: dict[str, str], **fields: str) -> str:
    return json.dumps(
        {
            "conn_type": "irods",
            "host": "127.0.0.1",
            "port": emulator.port,
            "schema": "http",
            **fields,
            "extra": {
                "zone": "tempZone",
                "auth_mode": mode,
                "openid_discovery_url": provider.issuer,
                "openid_allow_insecure_http": True,
                **extra,
            },
        }
    )


def _grant_setup(grant: str, provider) -> tuple[str, dict[str, str], dict[str, str], list[str]]:
    """(user the tokens map to, connection extras, connection fields, the configured secrets).

    The long-lived clients (hour-long access tokens): these tests are about secrets, not expiry, and the
    session provider's two-second tokens made a loaded machine renew (and lease) over and over.
    """
    if grant == "client_credentials":
        secret = provider.clients[LONG_CC]
        extra = {"openid_client_id": LONG_CC, "openid_client_secret": secret}
        return SERVICE_ACCOUNT, extra, {}, [secret]
    secret = provider.clients[LONG_PW]
    extra = {"openid_client_id": LONG_PW, "openid_client_secret": secret}
    if grant == "password":
        password = provider.users["alice"]
        return "alice", extra, {"login": "alice", "password": password}, [secret, password]
    answer = provider.fetch_token(
        LONG_PW, grant_type="password", username="bob", password=provider.users["bob"]
    )
    extra["openid_refresh_token"] = answer["refresh_token"]
    # the access token minted by this setup request is a token too: it must not show up either
    return "bob", extra, {}, [secret, answer["refresh_token"], answer["access_token"], provider.users["bob"]]


def _load_basic_dag():
    spec = importlib.util.spec_from_file_location("example_dag_basic_openid", BASIC_DAG)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.basic_operations_dag


def _task_states(dag_run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def _return_values(dag_run) -> dict[str, object]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    query = XComModel.get_many(run_id=dag_run.run_id, dag_ids=dag_run.dag_id, key="return_value")
    with create_session() as db:
        return {row.task_id: XComModel.deserialize_value(row) for row in db.scalars(query)}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("grant", ["client_credentials", "password", "refresh_token"])
def test_basic_dag_logs_xcoms_and_errors_free_of_secrets(
    grant, emulator, oidc_provider, airflow_db, monkeypatch, caplog, capsys, restore_log_handlers
) -> None:
    """The basic DAG in one OpenID mode; then a refused call: no secret or minted token anywhere."""
    from irods_provider.hooks import irods as hook_module
    from irods_provider.hooks.irods import IrodsHook

    user, extra, fields, secrets = _grant_setup(grant, oidc_provider)
    monkeypatch.setenv(
        "AIRFLOW_CONN_IRODS_DEFAULT",
        _connection(emulator, oidc_provider, mode=f"openid_{grant}", extra=extra, **fields),
    )
    minted: list[str] = []
    real_mask = hook_module._mask_token

    def record(token: str) -> None:
        minted.append(token)
        real_mask(token)

    before = oidc_provider.token_requests(grant)
    caplog.set_level(logging.DEBUG)
    with mock.patch.object(hook_module, "_mask_token", side_effect=record):
        dag_run = _load_basic_dag().test(run_conf={"user": user})
        with IrodsHook() as hook, pytest.raises(IrodsError) as refused:
            hook.get_conn().metadata.list("/tempZone/home/rods")  # another user's home
    states = _task_states(dag_run)
    assert str(dag_run.state) == "success", states
    assert set(states.values()) == {"success"}
    assert len(states) == 9
    assert oidc_provider.token_requests(grant) > before  # tokens really came from the provider
    assert len(minted) >= 2  # every minted token went through on_token -> mask_secret
    values = _return_values(dag_run)
    assert values["create_collection"]["path"].startswith(f"/tempZone/home/{user}/irods_basic_operations_")
    captured = capsys.readouterr()
    logs = caplog.text + captured.out + captured.err
    assert f"Set 2 AVU(s) on /tempZone/home/{user}/" in logs  # the task logs were captured
    exported = json.dumps(values, default=str)
    error_text = "".join(traceback.format_exception(refused.value)) + repr(refused.value)
    assert "/tempZone/home/rods" in error_text
    for secret in [*secrets, *minted]:
        assert secret not in logs
        assert secret not in exported
        assert secret not in error_text


def _refresh_connection(emulator, provider, refresh_token: str) -> str:
    extra = {
        "openid_client_id": "irods-pw",
        "openid_client_secret": provider.clients["irods-pw"],
        "openid_refresh_token": refresh_token,
    }
    return _connection(emulator, provider, mode="openid_refresh_token", extra=extra)


def test_connection_revoked_refresh_token_is_named(emulator, oidc_provider, monkeypatch) -> None:
    from irods_provider.client import RetryPolicy
    from irods_provider.hooks.irods import IrodsHook

    refresh = oidc_provider.fetch_token(
        "irods-pw", grant_type="password", username="bob", password=oidc_provider.users["bob"]
    )["refresh_token"]
    oidc_provider.revoke(refresh, client_id="irods-pw")
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{CONN_ID.upper()}", _refresh_connection(emulator, oidc_provider, refresh)
    )
    ok, message = IrodsHook(CONN_ID, retry=RetryPolicy.never()).test_connection()
    assert not ok
    assert message.startswith(
        "The OpenID provider refused the refresh_token grant (IrodsAuthenticationError: OpenID provider "
        f"{oidc_provider.token_url} refused the refresh_token grant for client 'irods-pw': invalid_grant"
    ), message
    for secret in (refresh, oidc_provider.clients["irods-pw"]):
        assert secret not in message


def test_connection_wrong_password_is_named(emulator, oidc_provider, monkeypatch) -> None:
    from irods_provider.client import RetryPolicy
    from irods_provider.hooks.irods import IrodsHook

    wrong = "Not-Bobs-Password-31"
    extra = {"openid_client_id": "irods-pw", "openid_client_secret": oidc_provider.clients["irods-pw"]}
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{CONN_ID.upper()}",
        _connection(
            emulator, oidc_provider, mode="openid_password", extra=extra, login="bob", password=wrong
        ),
    )
    ok, message = IrodsHook(CONN_ID, retry=RetryPolicy.never()).test_connection()
    assert not ok
    assert message.startswith(
        "The OpenID provider refused the password grant (IrodsAuthenticationError: OpenID provider "
        f"{oidc_provider.token_url} refused the password grant for user 'bob' (client 'irods-pw'): "
        "invalid_grant: Invalid credentials given."
    ), message
    for secret in (wrong, oidc_provider.clients["irods-pw"]):
        assert secret not in message


@pytest.mark.timeout(120)
def test_rotated_refresh_token_lives_encrypted_in_a_variable(
    emulator, oidc_provider, airflow_db, monkeypatch, capsys, restore_log_handlers
) -> None:
    """With the Variables store, dag.test() tasks keep the newest refresh token in an encrypted Variable."""
    from airflow.models.variable import Variable as VariableModel
    from airflow.sdk.crypto import get_fernet
    from airflow.utils.session import create_session
    from cryptography.fernet import Fernet

    # The session's key (tests/conftest.py): a key of its own would leave rows later tests cannot read.
    fernet_key = os.environ["AIRFLOW__CORE__FERNET_KEY"].encode()
    monkeypatch.setenv("IRODS_PROVIDER_TOKEN_STORE", "variables")
    get_fernet.cache_clear()
    user, extra, fields, secrets = _grant_setup("refresh_token", oidc_provider)
    configured = extra["openid_refresh_token"]
    monkeypatch.setenv(
        "AIRFLOW_CONN_IRODS_DEFAULT",
        _connection(emulator, oidc_provider, mode="openid_refresh_token", extra=extra, **fields),
    )
    try:
        dag_run = _load_basic_dag().test(run_conf={"user": user})
    finally:
        get_fernet.cache_clear()
    assert str(dag_run.state) == "success", _task_states(dag_run)
    with create_session() as db:
        rows = {
            row.key: row.val
            for row in db.query(VariableModel).filter(VariableModel.key.like("irods_openid_refresh_token_%"))
        }
    (name,) = [key for key in rows if "_lease_" not in key]
    stored = str(rows[name])
    assert configured not in stored  # ciphertext, not the token
    newest = Fernet(fernet_key).decrypt(stored.encode()).decode()
    assert newest != configured  # rotated at least once, and the newest one kept
    answer = oidc_provider.fetch_token(LONG_PW, grant_type="refresh_token", refresh_token=newest)
    assert answer["access_token"]  # the provider honours the stored token: it is the current one
    logs = "".join(capsys.readouterr())
    for secret in (*secrets, newest):
        assert secret not in logs
