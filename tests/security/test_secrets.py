"""Secrets never leak: operator runs with a password, an OpenID client secret, refresh and access tokens.

Captured logs (caplog and stdout/stderr), XCom values (the operators' return values), exception texts and the
repr/str of the hook, session, settings and auth objects are searched for the exact secret strings.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from oidc_provider.harness import OidcProvider, oidc_provider, protected_emulator  # noqa: F401
from security_support import HOME

from irods_provider.exceptions import IrodsError
from irods_provider.hooks.irods import IrodsHook
from irods_provider.operators.irods import (
    IrodsCreateCollectionOperator,
    IrodsDeleteOperator,
    IrodsListCollectionOperator,
)
from irods_provider.operators.metadata import IrodsGetMetadataOperator, IrodsPutMetadataOperator
from irods_provider.operators.transfer import LocalToIrodsOperator

pytestmark = pytest.mark.timeout(90)

PASSWORD = "pw-Zq8!secret-7f3a91c2"  # distinctive, so any leak is found by plain search
# A long-lived client of the test provider (hour-long access tokens): this test is about secrets, not expiry,
# and the session provider's two-second tokens expired in flight on a loaded machine.
OPENID_CLIENT = "irods-pw-long"


def _run_operators(conn_id: str, home: str, tmp_path: Path) -> list[object]:
    """A small DAG's worth of tasks; returns their XComs and the texts of the expected failures."""
    (tmp_path / "in").mkdir(exist_ok=True)
    (tmp_path / "in" / "a.txt").write_bytes(b"payload")
    outputs: list[object] = [
        IrodsCreateCollectionOperator(task_id="mk", path=f"{home}/s", irods_conn_id=conn_id).execute({}),
        LocalToIrodsOperator(
            task_id="up",
            source_path=str(tmp_path / "in"),
            destination_path=f"{home}/s",
            irods_conn_id=conn_id,
        ).execute({}),
        IrodsPutMetadataOperator(
            task_id="meta", path=f"{home}/s/a.txt", metadata={"k": "v"}, irods_conn_id=conn_id
        ).execute({}),
        IrodsGetMetadataOperator(task_id="get", path=f"{home}/s/a.txt", irods_conn_id=conn_id).execute({}),
        IrodsListCollectionOperator(task_id="ls", path=f"{home}/s", irods_conn_id=conn_id).execute({}),
    ]
    for failing in (
        IrodsDeleteOperator(task_id="rm", paths=f"{home}/missing", irods_conn_id=conn_id),
        IrodsListCollectionOperator(task_id="ls2", path=f"{home}/s/a.txt", irods_conn_id=conn_id),
    ):
        with pytest.raises(IrodsError) as caught:
            failing.execute({})
        outputs += [str(caught.value), repr(caught.value)]
    return outputs


def _hook_texts(conn_id: str) -> list[str]:
    hook = IrodsHook(conn_id)
    session = hook.get_conn()
    texts = [repr(hook), str(hook), repr(hook.settings), str(hook.settings), repr(session), str(session)]
    texts += [repr(session.auth), str(session.auth), repr(getattr(session.auth, "_inner", None))]
    hook.close()
    return texts


def _assert_absent(secrets: dict[str, str], *, caplog, capsys, extra: list[object]) -> dict[str, int]:
    out, err = capsys.readouterr()
    haystacks = {
        "caplog": caplog.text + "\n".join(r.getMessage() for r in caplog.records),
        "stdout": out,
        "stderr": err,
        "xcom/exceptions/reprs": json.dumps(extra, default=repr),
    }
    found = {
        f"{name} in {where}": text.count(value)
        for name, value in secrets.items()
        for where, text in haystacks.items()
        if value and value in text
    }
    assert found == {}, f"secrets leaked: {found}"
    assert len(caplog.records) > 5, "the runs logged nothing: the search proves nothing"
    return dict.fromkeys(secrets, 0)


def test_basic_password_and_minted_tokens_never_appear(irods_emulator, monkeypatch, tmp_path, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    irods_emulator.add_user("alice", PASSWORD)
    monkeypatch.setenv(
        "AIRFLOW_CONN_IRODS_SECRET",
        json.dumps(
            {
                "conn_type": "irods",
                "host": "127.0.0.1",
                "port": irods_emulator.port,
                "schema": "http",
                "login": "alice",
                "password": PASSWORD,
                "extra": {"zone": "tempZone"},
            }
        ),
    )
    home = "/tempZone/home/alice"
    outputs = _run_operators("irods_secret", home, tmp_path)
    outputs += _hook_texts("irods_secret")
    tokens = list(irods_emulator.model.tokens)
    assert tokens, "no Basic token was minted"
    # Wrong password: the failure text names the user, never the password tried.
    monkeypatch.setenv(
        "AIRFLOW_CONN_IRODS_WRONG",
        json.dumps(
            {
                "conn_type": "irods",
                "host": "127.0.0.1",
                "port": irods_emulator.port,
                "schema": "http",
                "login": "alice",
                "password": PASSWORD[::-1],
                "extra": {"zone": "tempZone"},
            }
        ),
    )
    with pytest.raises(IrodsError) as caught:
        IrodsCreateCollectionOperator(task_id="x", path=f"{home}/y", irods_conn_id="irods_wrong").execute({})
    outputs += [str(caught.value), repr(caught.value), IrodsHook("irods_wrong").test_connection()[1]]
    secrets = {"password": PASSWORD, "wrong password": PASSWORD[::-1]}
    secrets.update({f"token{i}": t for i, t in enumerate(tokens)})
    _assert_absent(secrets, caplog=caplog, capsys=capsys, extra=outputs)
    assert HOME  # the admin home is untouched by this user's runs


@pytest.fixture(scope="module")
def openid_emulator(oidc_provider) -> Iterator[object]:  # noqa: F811
    with protected_emulator(oidc_provider) as server:
        yield server


def _openid_conn(emulator, provider: OidcProvider, **extra: str) -> str:
    return json.dumps(
        {
            "conn_type": "irods",
            "host": "127.0.0.1",
            "port": emulator.port,
            "schema": "http",
            "login": "alice",
            "password": provider.users["alice"],
            "extra": {
                "zone": "tempZone",
                "openid_discovery_url": provider.issuer,
                "openid_allow_insecure_http": True,
                "openid_client_id": OPENID_CLIENT,
                "openid_client_secret": provider.clients[OPENID_CLIENT],
                **extra,
            },
        }
    )


@pytest.mark.parametrize("grant", ["openid_password", "openid_refresh_token"])
def test_openid_client_secret_refresh_and_access_tokens_never_appear(
    openid_emulator,
    oidc_provider,  # noqa: F811
    monkeypatch,
    tmp_path,
    caplog,
    capsys,
    grant,
):
    assert OPENID_CLIENT in oidc_provider.long_lived_clients  # its tokens outlive the test
    caplog.set_level(logging.DEBUG)
    openid_emulator.reset()
    openid_emulator.add_user("alice", "alice-irods-only-pw")
    secrets = {
        "client secret": oidc_provider.clients[OPENID_CLIENT],
        "user password": oidc_provider.users["alice"],
    }
    extra = {"auth_mode": grant}
    if grant == "openid_refresh_token":
        issued = oidc_provider.fetch_token(
            OPENID_CLIENT, grant_type="password", username="alice", password=oidc_provider.users["alice"]
        )
        extra["openid_refresh_token"] = issued["refresh_token"]
        secrets["refresh token"] = issued["refresh_token"]
        secrets["first access token"] = issued["access_token"]
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_OIDC", _openid_conn(openid_emulator, oidc_provider, **extra))
    seen_tokens: list[str] = []
    from irods_provider.hooks import irods as hook_module

    real_mask = hook_module._mask_token
    monkeypatch.setattr(hook_module, "_mask_token", lambda t: (seen_tokens.append(t), real_mask(t)))
    outputs = _run_operators("irods_oidc", "/tempZone/home/alice", tmp_path)
    outputs += _hook_texts("irods_oidc")
    assert seen_tokens, "no access token was minted"
    secrets.update({f"access token {i}": t for i, t in enumerate(seen_tokens)})
    # A wrong client secret: the failure names the client, never the secret.
    wrong = "wrong-" + oidc_provider.clients[OPENID_CLIENT]
    monkeypatch.setenv(
        "AIRFLOW_CONN_IRODS_BAD",
        _openid_conn(openid_emulator, oidc_provider, auth_mode=grant, openid_client_secret=wrong),
    )
    with pytest.raises(IrodsError) as caught:
        IrodsCreateCollectionOperator(
            task_id="x", path="/tempZone/home/alice/y", irods_conn_id="irods_bad"
        ).execute({})
    outputs += [str(caught.value), repr(caught.value), IrodsHook("irods_bad").test_connection()[1]]
    secrets["wrong client secret"] = wrong
    _assert_absent(secrets, caplog=caplog, capsys=capsys, extra=outputs)
