"""Start the django-oauth-toolkit test provider in a subprocess and describe it (plus a pytest fixture).

Use from a conftest::

    sys.path.insert(0, str(<repo>/"tests"/"support"))
    from oidc_provider.harness import oidc_provider  # session fixture yielding OidcProvider
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from oidc_provider.constants import CLIENTS, LONG_LIVED_CLIENTS, LONG_TOKEN_SECONDS, USERS

_SUPPORT_DIR = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 60.0


@dataclass
class OidcProvider:
    """A running provider: URLs, seeded credentials, the signing key, and test helpers.

    ``access_token_seconds`` is the lifetime of every client's access tokens except the long-lived clients'
    (``long_lived_clients``: ``long_token_seconds``), meant for tests that are not about expiry.
    """

    url: str
    access_token_seconds: int
    private_key_pem: str
    process: subprocess.Popen[bytes]
    users: dict[str, str] = field(default_factory=lambda: dict(USERS))
    clients: dict[str, str] = field(default_factory=lambda: {k: v[0] for k, v in CLIENTS.items()})
    long_lived_clients: frozenset[str] = LONG_LIVED_CLIENTS
    long_token_seconds: int = LONG_TOKEN_SECONDS

    @property
    def issuer(self) -> str:
        return f"{self.url}/o"

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def token_url(self) -> str:
        return f"{self.issuer}/token/"

    @property
    def introspection_url(self) -> str:
        return f"{self.issuer}/introspect/"

    @property
    def revocation_url(self) -> str:
        return f"{self.issuer}/revoke_token/"

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/.well-known/jwks.json"

    def token_requests(self, grant_type: str = "total") -> int:
        """How many POSTs the token endpoint received since start (all grants, or one grant type)."""
        response = httpx2.get(f"{self.url}/test/stats", timeout=10)
        response.raise_for_status()
        return int(response.json().get(grant_type, 0))

    def fetch_token(self, client_id: str, **form: str) -> dict[str, Any]:
        """Ask the token endpoint directly (client_secret_basic); returns the JSON answer."""
        auth = (client_id, self.clients[client_id])
        response = httpx2.post(self.token_url, data=form, auth=auth, timeout=10)
        response.raise_for_status()
        return dict(response.json())

    def revoke(self, token: str, *, client_id: str, token_type_hint: str = "refresh_token") -> None:
        """Revoke a token at the RFC 7009 endpoint."""
        response = httpx2.post(
            self.revocation_url,
            data={"token": token, "token_type_hint": token_type_hint},
            auth=(client_id, self.clients[client_id]),
            timeout=10,
        )
        response.raise_for_status()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _write_key(path: Path) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path.write_text(pem)
    return pem


def _read_ready_line(process: subprocess.Popen[bytes], timeout: float) -> dict[str, Any]:
    assert process.stdout is not None
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    if not lines or not lines[0]:
        raise RuntimeError(f"OpenID test provider did not report readiness within {timeout} s")
    return dict(json.loads(lines[0]))


@contextlib.contextmanager
def start_oidc_provider(
    workdir: Path,
    *,
    access_token_seconds: int = 2,
    reuse_protection: bool = False,
    extra_users: dict[str, str] | None = None,
) -> Iterator[OidcProvider]:
    """Run a fresh provider (own sqlite DB and RSA key in ``workdir``) until the block exits.

    ``reuse_protection``: a revoked refresh token presented again revokes its whole family (Keycloak-like).
    ``extra_users``: more users (name: password), replacing a seeded user's password when the name is one.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    pem = _write_key(workdir / "oidc-rsa.pem")
    env = dict(os.environ)
    env.update(
        OIDC_TEST_DB=str(workdir / "oidc.sqlite3"),
        OIDC_TEST_RSA_KEY_FILE=str(workdir / "oidc-rsa.pem"),
        ACCESS_TOKEN_EXPIRE_SECONDS=str(access_token_seconds),
        OIDC_REFRESH_TOKEN_REUSE_PROTECTION="1" if reuse_protection else "0",
        OIDC_TEST_EXTRA_USERS=json.dumps(extra_users or {}),
        PYTHONPATH=os.pathsep.join(filter(None, [str(_SUPPORT_DIR), env.get("PYTHONPATH")])),
        DJANGO_SETTINGS_MODULE="oidc_provider.settings",
    )
    stderr = (workdir / "provider.stderr").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "oidc_provider.serve"], env=env, stdout=subprocess.PIPE, stderr=stderr
    )
    try:
        ready = _read_ready_line(process, STARTUP_TIMEOUT)
        provider = OidcProvider(
            url=f"http://127.0.0.1:{ready['port']}",
            access_token_seconds=access_token_seconds,
            private_key_pem=pem,
            process=process,
            users={**USERS, **(extra_users or {})},
        )
        deadline = time.monotonic() + 10
        while httpx2.get(provider.discovery_url, timeout=5).status_code != 200:
            if time.monotonic() > deadline:
                raise RuntimeError("OpenID test provider never served its discovery document")
        yield provider
    except BaseException:
        stderr.flush()
        sys.stderr.write((workdir / "provider.stderr").read_text()[-4000:])
        raise
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        stderr.close()
        if process.stdout is not None:
            process.stdout.close()


@contextlib.contextmanager
def protected_emulator(provider: OidcProvider) -> Iterator[Any]:
    """An emulator as a protected resource of ``provider`` (bearer tokens introspected there as the resource
    server ``irods-rs``, the user from ``preferred_username``), with alice, iRODS password
    ``alice-irods-only-pw``; stopped, and its validator closed, when the block exits."""
    from irods_provider.testing import EmulatorConfig, EmulatorServer
    from irods_provider.testing._openid import OpenIdIntrospectionValidator

    validator = OpenIdIntrospectionValidator(
        provider.issuer,
        client_id="irods-rs",
        client_secret=provider.clients["irods-rs"],
        user_claim="preferred_username",
    )
    server = EmulatorServer(EmulatorConfig(openid=validator)).start()
    try:
        server.add_user("alice", "alice-irods-only-pw")
        yield server
    finally:
        server.stop()
        validator.close()


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    """One django-oauth-toolkit provider per test session; access tokens live 2 s (an hour for the
    long-lived clients ``irods-pw-long`` and ``irods-cc-long``)."""
    with start_oidc_provider(tmp_path_factory.mktemp("oidc-provider")) as provider:
        yield provider
