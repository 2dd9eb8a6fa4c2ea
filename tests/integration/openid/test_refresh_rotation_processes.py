"""Refresh-token rotation across OS processes against the real provider with reuse protection on.

django-oauth-toolkit rotates refresh tokens, refuses a used one (no grace period) and, with
REFRESH_TOKEN_REUSE_PROTECTION, revokes the whole token family when a used one comes back — as Keycloak's
"revoke refresh token" does. The provider itself counts reuse and invalid_grant answers.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from oidc_provider.harness import OidcProvider, start_oidc_provider

from irods_provider.client import (
    OpenIdRefreshToken,
    SqliteTokenStore,
)

pytestmark = pytest.mark.timeout(60)

WORKER = Path(__file__).with_name("rotation_worker.py")
CLIENT = "irods-pw"


@pytest.fixture(scope="module")
def rotating_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    """A provider of its own: reuse protection on, access tokens of 2 s."""
    with start_oidc_provider(tmp_path_factory.mktemp("oidc-rotating"), reuse_protection=True) as provider:
        yield provider


def _offline_token(provider: OidcProvider) -> str:
    answer = provider.fetch_token(
        CLIENT, grant_type="password", username="alice", password=provider.users["alice"]
    )
    return str(answer["refresh_token"])


def _run_workers(
    provider: OidcProvider,
    tmp_path: Path,
    *,
    refresh_token: str,
    store: Path | None,
    processes: int,
    renewals: int,
) -> list[dict[str, object]]:
    """Start the workers, release them together once all are ready, and collect their results."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    go = tmp_path / "go"
    children = []
    for n in range(processes):
        args = {
            "refresh_token": refresh_token,
            "client_id": CLIENT,
            "client_secret": provider.clients[CLIENT],
            "token_url": provider.token_url,
            "store": str(store) if store else None,
            "renewals": renewals,
            "ready": str(tmp_path / f"ready-{n}"),
            "go": str(go),
        }
        cmd = [sys.executable, str(WORKER), json.dumps(args)]
        children.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    deadline = time.monotonic() + 30
    while not all((tmp_path / f"ready-{n}").exists() for n in range(processes)):
        assert time.monotonic() < deadline, "workers did not start within 30 s"
        assert all(child.poll() is None for child in children), [c.communicate() for c in children]
        time.sleep(0.01)
    go.touch()
    results = []
    for child in children:
        out, err = child.communicate(timeout=40)
        assert child.returncode == 0, err[-2000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def _counts(provider: OidcProvider) -> dict[str, int]:
    names = ("refresh_token", "refresh_token_invalid_grant", "refresh_token_reuse")
    return {name: provider.token_requests(name) for name in names}


def test_three_processes_share_one_rotating_refresh_token(rotating_provider, tmp_path) -> None:
    processes, renewals = 3, 6
    offline = _offline_token(rotating_provider)
    store = tmp_path / "tokens.sqlite3"
    before = _counts(rotating_provider)
    results = _run_workers(
        rotating_provider,
        tmp_path,
        refresh_token=offline,
        store=store,
        processes=processes,
        renewals=renewals,
    )
    after = _counts(rotating_provider)
    assert [r["errors"] for r in results] == [[]] * processes
    assert [r["renewed"] for r in results] == [renewals] * processes
    # Counted at the provider: every renewal presented a token exactly once, and none was refused.
    assert after["refresh_token"] - before["refresh_token"] == processes * renewals
    assert after["refresh_token_reuse"] == before["refresh_token_reuse"]
    assert after["refresh_token_invalid_grant"] == before["refresh_token_invalid_grant"]
    # The store holds the newest token of the family, which the provider still honours (not revoked).
    key = OpenIdRefreshToken(
        refresh_token=offline,
        client_id=CLIENT,
        token_url=rotating_provider.token_url,
        allow_insecure_http=True,
    ).store_key
    newest = SqliteTokenStore(store).get(key)
    assert newest is not None
    assert newest != offline
    answer = rotating_provider.fetch_token(CLIENT, grant_type="refresh_token", refresh_token=newest)
    assert answer["access_token"]


def test_without_a_shared_store_the_next_process_presents_a_revoked_token(
    rotating_provider, tmp_path
) -> None:
    """The control: a later process with its own store presents the rotated-away token: refused."""
    offline = _offline_token(rotating_provider)
    before = _counts(rotating_provider)
    first = _run_workers(
        rotating_provider, tmp_path / "a", refresh_token=offline, store=None, processes=1, renewals=2
    )
    second = _run_workers(
        rotating_provider, tmp_path / "b", refresh_token=offline, store=None, processes=1, renewals=1
    )
    after = _counts(rotating_provider)
    assert first == [{"renewed": 2, "errors": []}]
    assert second[0]["renewed"] == 0
    assert "invalid_grant" in str(second[0]["errors"])
    assert after["refresh_token_reuse"] - before["refresh_token_reuse"] == 1
    assert after["refresh_token_invalid_grant"] - before["refresh_token_invalid_grant"] == 1
