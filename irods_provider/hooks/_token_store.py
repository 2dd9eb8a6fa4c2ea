"""The deployment-wide refresh-token store on Airflow Variables (through the Task SDK), and the store choice.

Variables reach every worker through the execution API, so the current refresh token of an OpenID
connection survives the task (process) that received it. Each value is encrypted with Airflow's Fernet key
(``[core] fernet_key``; the metadata DB encrypts Variables with it too) and registered with the log masker;
the Variable names contain ``token``, so the UI and API mask them as well.

Variables have no compare-and-set, so the lease is *write, settle, verify*: a process writes
``{holder, expires}`` into the lease Variable, waits ``settle_seconds`` and proceeds only if its own write is
still there; a lease past its expiry is taken over. Two processes can both proceed only if one writes after
the other has verified but read the lease before the other wrote — a window of one Variable round trip,
narrowed by the settle delay; for strict exclusion point several hosts at a store with a real lock (the
client's :class:`~irods_provider.client.TokenStore` protocol). A renewal that lost that race gets
``invalid_grant`` and continues from the token the winner stored (``OpenIdRefreshToken`` re-reads the store).

Choice (``IRODS_PROVIDER_TOKEN_STORE``): ``variables`` or ``process``; by default Variables in a task
process run by an Airflow worker's supervisor and in the triggerer's trigger process (a deferred sensor's
trigger must present the token the workers rotated to, and they the one it rotated to), the process's own
store elsewhere (``dag.test()``, scripts and tests).

In the triggerer the store is used only from the renewal's worker thread (``aget_token`` renews in
``asyncio.to_thread``): the Task SDK's ``TriggerCommsDecoder.send`` then hands the Variable request to the
event loop with ``run_coroutine_threadsafe`` and waits in that thread, so the loop never blocks, neither on
the request nor on the lease's settle delay.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

from airflow.sdk.log import mask_secret

from irods_provider.client._token_store import PROCESS_TOKEN_STORE, TokenStore, new_holder, wait_for

__all__ = ["TOKEN_STORE_ENV", "VariableTokenStore", "default_token_store"]

TOKEN_STORE_ENV = "IRODS_PROVIDER_TOKEN_STORE"
_PREFIX = "irods_openid_refresh_token_"


def _get_variable(name: str) -> str | None:
    from airflow.sdk import Variable
    from airflow.sdk.execution_time.cache import SecretCache

    # With [secrets] use_cache a cached value would be another process's rotated-away token (or lease).
    SecretCache.invalidate_variable(name)
    value = Variable.get(name, default=None)
    return None if value is None else str(value)


def _set_variable(name: str, value: str) -> None:
    from airflow.sdk import Variable

    Variable.set(name, value, description="airflow-provider-irods: OpenID refresh-token rotation")


def _fernet() -> Any:
    from airflow.sdk.crypto import get_fernet

    return get_fernet()


class VariableTokenStore:
    """Refresh tokens and renewal leases in Airflow Variables, values encrypted with the Fernet key."""

    exclusive_lease = False  # write-settle-verify: two holders remain possible (see the module docstring)

    def __init__(
        self,
        *,
        settle_seconds: float = 0.3,
        get: Callable[[str], str | None] = _get_variable,
        set_: Callable[[str, str], None] = _set_variable,
        fernet: Callable[[], Any] = _fernet,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settle_seconds = settle_seconds
        self._get, self._set, self._fernet, self._clock = get, set_, fernet, clock

    def __repr__(self) -> str:
        return "VariableTokenStore()"

    @staticmethod
    def variable_name(key: str, *, lease: bool = False) -> str:
        """The Variable holding ``key``'s token (or its lease); the key is a digest, never the token."""
        digest = hashlib.sha256(key.encode()).hexdigest()[:24]
        return f"{_PREFIX}{'lease_' if lease else ''}{digest}"

    def get(self, key: str) -> str | None:
        """The stored token (decrypted and masked), or None."""
        stored = self._get(self.variable_name(key))
        if not stored:
            return None
        value = self._fernet().decrypt(stored.encode()).decode()
        mask_secret(value)
        return str(value)

    def put(self, key: str, value: str) -> None:
        """Encrypt ``value`` with the Fernet key and store it."""
        mask_secret(value)
        self._set(self.variable_name(key), self._fernet().encrypt(value.encode()).decode())

    def _read_lease(self, name: str) -> tuple[str, float]:
        raw = self._get(name)
        try:
            data = json.loads(raw) if raw else {}
            return str(data.get("holder", "")), float(data.get("expires", 0.0))
        except (ValueError, TypeError, AttributeError):
            return "", 0.0

    def _take(self, name: str, holder: str, seconds: float) -> bool:
        current, expires = self._read_lease(name)
        if current and current != holder and expires > self._clock():
            return False
        self._set(name, json.dumps({"holder": holder, "expires": self._clock() + seconds}))
        time.sleep(self.settle_seconds)  # let a concurrent writer's write land before verifying
        return self._read_lease(name)[0] == holder

    @contextlib.contextmanager
    def lease(self, key: str, *, seconds: float) -> Iterator[None]:
        """Write-settle-verify lease in a Variable; released (expired) at the end of the block."""
        name = self.variable_name(key, lease=True)
        holder = new_holder()
        wait_for(lambda: self._take(name, holder, seconds), key=key, seconds=seconds)
        try:
            yield
        finally:
            if self._read_lease(name)[0] == holder:
                self._set(name, json.dumps({"holder": "", "expires": 0.0}))


def _reaches_variables() -> bool:
    """True where the Task SDK reaches the API server's Variables: a task process run by a worker's
    supervisor (``CommsDecoder``) and the triggerer's trigger process (``TriggerCommsDecoder``, a
    subclass); not ``dag.test()`` (in-process comms, one process anyway), scripts or tests."""
    try:
        from airflow.sdk.execution_time import task_runner
        from airflow.sdk.execution_time.comms import CommsDecoder
    except ImportError:  # pragma: no cover - Airflow 3 always has them
        return False
    return isinstance(getattr(task_runner, "SUPERVISOR_COMMS", None), CommsDecoder)


def default_token_store() -> TokenStore:
    """The store rotated refresh tokens go to: see the module docstring for the choice."""
    choice = os.environ.get(TOKEN_STORE_ENV, "").strip().lower()
    if choice == "variables" or (not choice and _reaches_variables()):
        return VariableTokenStore()
    return PROCESS_TOKEN_STORE
