"""A triggerer's OpenID token source is shared by the sensors it runs in turn (hooks/_token_sources.py): one
login for all of them, one renewal per token lifetime, and the secrets masker grows only by the renewals'
tokens; several triggers that find the token ended at once renew it once.

The provider is the real one (django-oauth-toolkit, refresh tokens rotated) and the emulator its protected
resource (tokens introspected at each request). Token lifetimes elapse on the source's own clock, which the
test advances every ``lifetime_every`` checks in all (no wall clock); a token the provider revoked is ended
for the server at once (the next introspection says inactive: 401). Checks are counted by the trigger's
sleep, which ends the trigger after ``polls`` checks.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from oidc_provider.harness import OidcProvider, protected_emulator

from irods_provider.triggers.irods import IrodsPathTrigger

pytestmark = pytest.mark.timeout(240)

CONN_ID = "irods_oidc_sensors"
LIFETIME = 3600.0  # the long-lived clients' tokens: only the source's clock ends them here
GRANTS = {
    "openid_password": "irods-pw-long",
    "openid_client_credentials": "irods-cc-long",
    "openid_refresh_token": "irods-pw-long",
}


def masked_secrets() -> int:
    from airflow.sdk._shared.secrets_masker.secrets_masker import _secrets_masker

    return len(_secrets_masker().patterns)


class SourceClock:
    """The clock of every OpenID token source the hook builds (their public ``clock``): a lifetime passes
    when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sources: list[Any] = []

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def emulator(oidc_provider: OidcProvider) -> Iterator[Any]:
    with protected_emulator(oidc_provider) as server:
        server.add_user("service-account-irods-cc-long", "sa-irods-only-pw")
        yield server


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SourceClock:
    from irods_provider.hooks.irods import IrodsHook

    clock, build = SourceClock(), IrodsHook._auth

    def auth(settings: Any) -> Any:
        source = build(settings)
        source.clock = clock  # the source's lifetime clock (its ``clock=`` argument)
        clock.sources.append(source)
        return source

    monkeypatch.setattr(IrodsHook, "_auth", staticmethod(auth))
    return clock


def connect(monkeypatch: pytest.MonkeyPatch, mode: str, server: Any, provider: OidcProvider) -> None:
    client = GRANTS[mode]
    extra = {
        "zone": "tempZone",
        "auth_mode": mode,
        "openid_discovery_url": provider.issuer,
        "openid_allow_insecure_http": True,
        "openid_client_id": client,
        "openid_client_secret": provider.clients[client],
    }
    conn: dict[str, Any] = {"conn_type": "irods", "host": "127.0.0.1", "port": server.port, "schema": "http"}
    alice = {"username": "alice", "password": provider.users["alice"]}
    if mode == "openid_password":
        conn |= {"login": "alice", "password": provider.users["alice"]}
    elif mode == "openid_refresh_token":  # an offline token of alice's, rotated at each use
        offline = provider.fetch_token(client, grant_type="password", **alice)
        extra["openid_refresh_token"] = offline["refresh_token"]
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps({**conn, "extra": extra}))


class Counts:
    """What the provider and the masker saw since the last ``take``."""

    def __init__(self, provider: OidcProvider, grant: str) -> None:
        self.provider, self.grant = provider, grant
        self.start = self._now()

    def _now(self) -> dict[str, int]:
        return {
            "logins": self.provider.token_requests(self.grant),
            "refreshes": self.provider.token_requests("refresh_token"),
            "secrets": masked_secrets(),
        }

    def take(self) -> dict[str, int]:
        now = self._now()
        taken = {key: now[key] - self.start[key] for key in now}
        self.start = now
        return taken


async def _first_event(trigger: IrodsPathTrigger) -> None:
    async for event in trigger.run():
        raise AssertionError(f"the path never appears, yet: {event}")


class Sensors:
    """Deferred path sensors' triggers, as one triggerer runs them; every ``lifetime_every`` checks in all a
    token lifetime passes on the sources' clock, and ``at_check`` (check number → action) runs its actions."""

    def __init__(self, clock: SourceClock, *, lifetime_every: int = 0) -> None:
        self.clock, self.lifetime_every, self.checks = clock, lifetime_every, 0
        self.at_check: dict[int, Any] = {}

    async def run(self, polls: int) -> None:
        trigger = IrodsPathTrigger(path="/tempZone/home/alice/never", irods_conn_id=CONN_ID)
        left = polls

        async def sleep(_seconds: float) -> None:
            nonlocal left
            self.checks, left = self.checks + 1, left - 1
            if self.lifetime_every and self.checks % self.lifetime_every == 0:
                self.clock.now += LIFETIME
            action = self.at_check.pop(self.checks, None)
            if action is not None:
                action()
            if left == 0:
                raise asyncio.CancelledError
            await asyncio.sleep(0)  # let the other triggers of the loop check in between

        trigger._sleep = sleep  # type: ignore[method-assign]
        with pytest.raises(asyncio.CancelledError):
            await _first_event(trigger)


@pytest.mark.parametrize("mode", sorted(GRANTS))
def test_sensors_in_turn_log_in_once_and_renew_once_per_lifetime(
    mode: str,
    emulator: Any,
    oidc_provider: OidcProvider,
    clock: SourceClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    connect(monkeypatch, mode, emulator, oidc_provider)
    grant = mode.removeprefix("openid_")
    sensors = Sensors(clock, lifetime_every=10)
    counts: list[dict[str, int]] = []

    async def run() -> None:
        await sensors.run(1)  # the connection's secrets and its first token
        counts.append(Counts(oidc_provider, grant).take())
        counter = Counts(oidc_provider, grant)
        for _ in range(100):  # sensors in turn, 2 checks each: a lifetime passes every 10 checks in all
            await sensors.run(2)
        counts.append(counter.take())

    asyncio.run(run())
    assert sensors.checks == 201
    renewals = 200 // 10
    # One login for all 100 sensors; each lifetime renews once: with the rotated refresh token (password
    # and refresh_token grants: 3 secrets, this provider's refresh answer holding an access, a refresh and
    # an ID token) or the grant again (client credentials: no refresh token, 1 secret).
    expected = {
        "password": {"logins": 0, "refreshes": renewals, "secrets": 3 * renewals},
        "refresh_token": {"logins": renewals, "refreshes": renewals, "secrets": 3 * renewals},
        "client_credentials": {"logins": renewals, "refreshes": 0, "secrets": renewals},
    }[grant]
    assert counts[1] == expected
    assert len(clock.sources) == 1  # one token source for the process


def test_triggers_finding_their_token_ended_at_once_renew_it_once(
    emulator: Any, oidc_provider: OidcProvider, clock: SourceClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect(monkeypatch, "openid_password", emulator, oidc_provider)
    sensors = Sensors(clock)

    def lifetime_passes() -> None:
        clock.now += LIFETIME

    def revoke(hint: str) -> None:
        """End the token for the server now: revoke its access or its refresh token (RFC 7009). This
        provider revokes the pair either way (DOT's ``revoke_token``: "revoking an access token MAY also
        revoke the bound refresh token. We do"), so the renewal's refresh is refused."""
        current = clock.sources[-1]._current
        token = current.access_token if hint == "access_token" else current.refresh_token
        oidc_provider.revoke(token, client_id=GRANTS["openid_password"], token_type_hint=hint)

    async def run() -> list[dict[str, int]]:
        await sensors.run(1)
        counter, taken = Counts(oidc_provider, "password"), []
        for check, action in ((40, lifetime_passes), (140, lambda: revoke("access_token"))):
            sensors.at_check[check] = action
            await asyncio.gather(*(sensors.run(10) for _ in range(10)))  # ten triggers waiting together
            taken.append(counter.take())
        sensors.at_check[240] = lambda: revoke("refresh_token")
        await asyncio.gather(*(sensors.run(10) for _ in range(10)))
        taken.append(counter.take())
        return taken

    lifetime, access_revoked, refresh_revoked = asyncio.run(run())
    assert sensors.checks == 1 + 300
    # The lifetime passed for all ten at once: one refresh (a new access, refresh and ID token).
    assert lifetime == {"logins": 0, "refreshes": 1, "secrets": 3}
    # The triggers that met the 401 renewed together: one refresh, refused (invalid_grant), then one
    # password login (an access and a refresh token), once for all of them.
    assert access_revoked == {"logins": 1, "refreshes": 1, "secrets": 2}
    assert refresh_revoked == {"logins": 1, "refreshes": 1, "secrets": 2}
    assert len(clock.sources) == 1
