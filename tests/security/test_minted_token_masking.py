"""Every token the hook mints is registered with Airflow's masker the moment it exists (hooks/irods.py
``_mask_token``, the token sources' ``on_token``): Basic and OpenID client-mode session tokens, OpenID access
and refresh tokens (password, client_credentials and refresh_token grants at the django-oauth-toolkit
provider), from the sync session (tasks) and the async one (triggers), over real HTTP.

A task that logs a token or raises an error quoting it is rendered by Airflow's task-log pipeline: the
``mask_logs`` structlog processor (``airflow.sdk.log``; the supervisor's for a worker's task process), which
redacts every event field, the formatted traceback included. That processor is the observation point: in
this test process ``dag.test()``'s console log is not redacted at all, with masking or without.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from oidc_provider.harness import OidcProvider, oidc_provider, protected_emulator  # noqa: F401

pytestmark = pytest.mark.timeout(90)

CLIENT_MODE = "irods-client-mode"  # the provider's client for the emulator in client mode
MODES = [
    "basic",
    "openid_client_mode",
    "openid_password",
    "openid_client_credentials",
    "openid_refresh_token",
]


@pytest.fixture(scope="module")
def openid_emulator(oidc_provider: OidcProvider) -> Iterator[Any]:  # noqa: F811
    """A protected resource of the provider, with the user the client_credentials grant maps to."""
    with protected_emulator(oidc_provider) as server:
        server.add_user("service-account-irods-cc-long", "sa-irods-only-pw")
        yield server


@contextlib.contextmanager
def client_mode_emulator(provider: OidcProvider) -> Iterator[Any]:
    """A 0.5.0 emulator in OpenID client mode: it runs the password grant and answers with its own token."""
    from irods_provider.testing import EmulatorConfig, EmulatorServer
    from irods_provider.testing._openid_client import OpenIdClientMode

    client = OpenIdClientMode(
        provider.issuer,
        client_id=CLIENT_MODE,
        client_secret=provider.clients[CLIENT_MODE],
        user_claim="preferred_username",
    )
    try:
        with EmulatorServer(EmulatorConfig(api_version="0.5.0", openid_client=client)) as server:
            server.add_user("alice", "alice-irods-only-password")
            yield server
    finally:
        client.close()


def connection(mode: str, server: Any, provider: OidcProvider) -> dict[str, Any]:
    """The connection of ``mode`` (the long-lived OpenID clients: this is about secrets, not expiry)."""
    conn: dict[str, Any] = {"conn_type": "irods", "host": "127.0.0.1", "port": server.port, "schema": "http"}
    extra: dict[str, Any] = {"zone": "tempZone", "auth_mode": mode}
    alice = {"login": "alice", "password": provider.users["alice"]}
    if mode == "basic":
        return {**conn, "login": "rods", "password": "rods-emulator", "extra": extra}
    if mode == "openid_client_mode":
        return {**conn, **alice, "extra": {**extra, "api_version": "0.5.0"}}
    client = "irods-cc-long" if mode == "openid_client_credentials" else "irods-pw-long"
    extra.update(
        openid_discovery_url=provider.issuer,
        openid_allow_insecure_http=True,
        openid_client_id=client,
        openid_client_secret=provider.clients[client],
    )
    if mode == "openid_refresh_token":
        grant = {"username": "alice", "password": provider.users["alice"]}
        extra["openid_refresh_token"] = provider.fetch_token(client, grant_type="password", **grant)[
            "refresh_token"
        ]
    return {**conn, **(alice if mode == "openid_password" else {}), "extra": extra}


def task_log(token: str) -> dict[str, Any]:
    """A task's log event naming ``token`` and its failure quoting it, as Airflow renders them."""
    from airflow.sdk.log import mask_logs

    try:
        raise RuntimeError(f"refused with Authorization: Bearer {token}")
    except RuntimeError as error:
        failure = "".join(traceback.format_exception(error))
    return mask_logs(None, "error", {"event": f"minted: {token}", "exception": failure})


def mint_sync_and_async(minted: list[str]) -> None:
    """A task's hook and a trigger's async session each log in (each mints its own tokens)."""
    from irods_provider.hooks.irods import IrodsHook

    with IrodsHook() as hook:
        hook.get_conn().collections.exists("/tempZone/home")  # an authenticated request: its answer aside
    sync_tokens = len(minted)
    assert sync_tokens, "the task's hook minted no token"

    async def trigger() -> None:
        async with await IrodsHook().get_async_conn() as session:
            await session.collections.exists("/tempZone/home")

    asyncio.run(trigger())
    assert len(minted) > sync_tokens, "the trigger's session minted no token"


@pytest.mark.parametrize("mode", MODES)
def test_every_minted_token_is_masked_in_task_logs_and_tracebacks(
    mode: str,
    irods_emulator: Any,
    oidc_provider: OidcProvider,  # noqa: F811
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from irods_provider.hooks import irods as hook_module

    minted: list[str] = []
    real_mask = hook_module._mask_token
    monkeypatch.setattr(hook_module, "_mask_token", lambda token: (minted.append(token), real_mask(token)))
    with contextlib.ExitStack() as stack:
        if mode == "basic":
            server = irods_emulator
        elif mode == "openid_client_mode":
            server = stack.enter_context(client_mode_emulator(oidc_provider))
        else:
            server = request.getfixturevalue("openid_emulator")
        monkeypatch.setenv("AIRFLOW_CONN_IRODS_DEFAULT", json.dumps(connection(mode, server, oidc_provider)))
        mint_sync_and_async(minted)
        if mode in ("basic", "openid_client_mode"):  # the server's own session tokens, as it issued them
            issued = list(server.model.tokens)
            assert set(minted) <= set(issued)
            minted += issued
    if mode in ("openid_password", "openid_refresh_token"):  # an access and a rotated refresh token each
        assert len(minted) >= 4
    for token in minted:
        rendered = task_log(token)
        assert rendered["event"] == "minted: ***"
        assert "RuntimeError: refused with Authorization: Bearer ***" in rendered["exception"]
        assert token not in json.dumps(rendered)
