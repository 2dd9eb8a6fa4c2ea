"""Test hook: requests paused at their bearer-token check, so a test decides when their tokens expire.

The server checks a token when it serves the request, and refuses one whose lifetime ended meanwhile with 401
(``resolve_client_identity``: core/src/common.cpp:410 at 0.7.0): a token sent valid can expire in flight.
A short ``token_lifetime_seconds`` and injected latency make that likely, never certain (a loaded machine
delays a fresh token past its lifetime too). :meth:`TokenCheckHold.release` makes it certain: the requests
waiting at the check are let go, their tokens expired first or not, in rounds the test counts.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

__all__ = ["TokenCheckHold"]

#: Longest a request waits at the check: a hold a test forgot never wedges the server.
HOLD_LIMIT_SECONDS = 60.0
_POLL_SECONDS = 0.005


class TokenCheckHold:
    """Every authenticated request waits at its token check until released; ``rounds`` lists the tokens
    each :meth:`release` let go, in arrival order. Armed until :meth:`stop`."""

    def __init__(self, expire: Callable[[str], None]) -> None:
        self._expire = expire
        self._cond = threading.Condition()
        self._held: list[str] = []
        self._round = 0
        self._armed = True
        self.rounds: list[list[str]] = []

    @property
    def armed(self) -> bool:
        """Whether requests are still held (False once :meth:`stop` ran)."""
        with self._cond:
            return self._armed

    @property
    def waiting(self) -> int:
        """How many requests wait at the check now."""
        with self._cond:
            return len(self._held)

    def wait_held(self, count: int, timeout: float) -> bool:
        """Whether ``count`` requests wait at the check within ``timeout`` seconds."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._held) >= count, timeout)

    def release(self, *, expire: bool) -> list[str]:
        """Let the waiting requests go on, their tokens expired first when ``expire`` (each then gets 401);
        the tokens they carry. Requests arriving later wait again."""
        with self._cond:
            tokens, self._held = self._held, []
            if expire:
                for token in dict.fromkeys(tokens):
                    self._expire(token)
            self.rounds.append(tokens)
            self._round += 1
        return tokens

    def stop(self) -> None:
        """Disarm: the waiting requests go on unexpired and later ones are not held."""
        with self._cond:
            self._armed = False
            self._held = []
            self._round += 1

    async def pause(self, token: str) -> None:
        """Called by the token check (on the event loop): wait while this round is held."""
        with self._cond:
            if not self._armed:
                return
            self._held.append(token)
            mine = self._round
            self._cond.notify_all()
        give_up = time.monotonic() + HOLD_LIMIT_SECONDS
        while time.monotonic() < give_up:
            with self._cond:
                if self._round != mine:
                    return
            await asyncio.sleep(_POLL_SECONDS)
        with self._cond:
            if token in self._held:
                self._held.remove(token)
