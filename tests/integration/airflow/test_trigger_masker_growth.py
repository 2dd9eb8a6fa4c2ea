"""A long-lived triggerer's secrets masker stays bounded: polls and deferred sensors coming one after another
add no secret while the connection's token is valid; each token the server ends adds one (its renewal's).

Airflow's masker keeps every secret for the process's life and runs one alternation of them all over every
log line (airflow.sdk._shared.secrets_masker ``SecretsMasker.add_mask``): before sessions opened in turn
shared one token source (hooks/_token_sources.py), each deferred sensor logged in again and left one more.
The polls are counted by the trigger's sleep, which ends the trigger after ``polls`` checks (no clock).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from irods_provider.triggers.irods import IrodsPathTrigger

pytestmark = pytest.mark.timeout(120)


def masked_secrets() -> int:
    from airflow.sdk._shared.secrets_masker.secrets_masker import _secrets_masker

    return len(_secrets_masker().patterns)


async def _first_event(trigger: IrodsPathTrigger) -> None:
    async for event in trigger.run():
        raise AssertionError(f"the path never appears, yet: {event}")


class Triggerer:
    """Deferred path sensors' triggers run one after another in one process, as a triggerer runs them; the
    server ends the token every ``expire_every`` checks in all (its lifetime elapsed; 0: never)."""

    def __init__(self, server: Any, monkeypatch: pytest.MonkeyPatch, *, expire_every: int = 0) -> None:
        self.server, self.expire_every, self.checks = server, expire_every, 0
        self.issued: list[str] = []
        issue = server.model.issue_token

        def recorded(username: str, lifetime_seconds: float) -> str:
            self.issued.append(issue(username, lifetime_seconds))
            return self.issued[-1]

        monkeypatch.setattr(server.model, "issue_token", recorded)

    async def run(self, polls: int) -> None:
        """One trigger checking ``polls`` times (its sleep counts the checks, then ends it)."""
        trigger = IrodsPathTrigger(path="/tempZone/home/rods/never", irods_conn_id="irods_default")
        left = polls

        async def sleep(_seconds: float) -> None:
            nonlocal left
            self.checks, left = self.checks + 1, left - 1
            if self.expire_every and self.checks % self.expire_every == 0:
                for token in list(self.server.model.tokens):
                    self.server.model.expire_token(token)
            if left == 0:
                raise asyncio.CancelledError

        trigger._sleep = sleep  # type: ignore[method-assign]
        with pytest.raises(asyncio.CancelledError):
            await _first_event(trigger)


def test_sensors_in_turn_and_their_polls_add_no_secret_while_the_token_is_valid(irods, monkeypatch) -> None:
    triggerer = Triggerer(irods, monkeypatch)

    async def run() -> int:
        await triggerer.run(1)  # the connection's secrets and its first token
        before = masked_secrets()
        await triggerer.run(200)  # one sensor polling long
        for _ in range(100):  # sensors deferring one after another: each opens the shared session anew
            await triggerer.run(2)
        return masked_secrets() - before

    assert asyncio.run(run()) == 0
    assert triggerer.checks == 1 + 200 + 100 * 2
    assert len(triggerer.issued) == 1  # one login for all of them


def test_each_token_the_server_ends_adds_one_secret_its_renewal_still_masked(irods, monkeypatch) -> None:
    from airflow.sdk.log import redact

    triggerer = Triggerer(irods, monkeypatch, expire_every=10)

    async def run() -> int:
        await triggerer.run(1)
        before = masked_secrets()
        for _ in range(20):  # sensors in turn, 5 checks each; the token ends every 10 checks in all
            await triggerer.run(5)
        return masked_secrets() - before

    added = asyncio.run(run())
    assert triggerer.checks == 101
    assert added == 100 // 10  # one renewal per lifetime, not one per sensor or per check
    assert len(triggerer.issued) == 1 + 10
    assert all(redact(f"Bearer {token}") == "Bearer ***" for token in triggerer.issued)
