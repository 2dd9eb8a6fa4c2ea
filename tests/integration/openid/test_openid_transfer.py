"""A long parallel upload with OpenID tokens that live 2 s: renewal is proactive and every byte arrives.

The emulator validates each request's bearer token at the real provider (introspection), so a request
carrying an expired token would be answered 401; the transport below counts every status it sees.
"""

from __future__ import annotations

import hashlib
import io
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator

import httpx2
import pytest
from oidc_provider.harness import OidcProvider

from irods_provider.client import IrodsSession, OpenIdPassword
from irods_provider.client.transfer import TransferConfig, open_reader, parallel_upload, sha2_checksum
from irods_provider.testing import EmulatorConfig, EmulatorServer
from irods_provider.testing._openid import OpenIdIntrospectionValidator

pytestmark = pytest.mark.timeout(60)

MIB = 1024 * 1024
SIZE = 64 * MIB


class StatusCountingTransport(httpx2.HTTPTransport):
    """An ordinary transport that counts the HTTP status of every response (401s in particular) and the
    bearer tokens requests carried, in order of first use."""

    def __init__(self) -> None:
        super().__init__()
        self.statuses: Counter[int] = Counter()
        self.tokens: dict[str, int] = {}  # token -> requests that carried it (insertion = first use)
        self._lock = threading.Lock()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        response = super().handle_request(request)
        with self._lock:
            self.statuses[response.status_code] += 1
            self.tokens[bearer] = self.tokens.get(bearer, 0) + 1
        return response


class RejectCountingAuth:
    """Delegates to a token source and counts renewals forced by a 401 (``reject=`` calls)."""

    def __init__(self, inner: OpenIdPassword) -> None:
        self.inner = inner
        self.rejects = 0
        self.handed_out: list[tuple[float, str]] = []  # (monotonic time, token) of every token given out

    def get_token(self, *, reject: str | None = None) -> str:
        if reject is not None:
            self.rejects += 1
        token = self.inner.get_token(reject=reject)
        self.handed_out.append((time.monotonic(), token))
        return token

    async def aget_token(self, *, reject: str | None = None) -> str:
        if reject is not None:
            self.rejects += 1
        token = await self.inner.aget_token(reject=reject)
        self.handed_out.append((time.monotonic(), token))
        return token

    def close(self) -> None:
        self.inner.close()


@pytest.fixture(scope="module")
def emulator(introspection_validator: OpenIdIntrospectionValidator) -> Iterator[EmulatorServer]:
    server = EmulatorServer(EmulatorConfig(openid=introspection_validator)).start()
    server.add_user("alice", "alice-irods-password")
    yield server
    server.stop()


def test_64_mib_parallel_upload_outlives_two_second_tokens(
    oidc_provider: OidcProvider, emulator: EmulatorServer
) -> None:
    """3 streams x 1 MiB chunks, slowed to span several token lifetimes: byte-identical, renewed ahead."""
    assert oidc_provider.access_token_seconds == 2
    payload = random.Random(6).randbytes(SIZE)
    digest = hashlib.sha256(payload).digest()
    path = "/tempZone/home/alice/openid-64mib.bin"
    minted: list[str] = []
    arrived: dict[str, float] = {}  # token -> when its token answer arrived (monotonic)

    def on_token(token: str) -> None:
        minted.append(token)
        arrived.setdefault(token, time.monotonic())

    source = OpenIdPassword(
        username="alice",
        password=oidc_provider.users["alice"],
        client_id="irods-pw",
        client_secret=oidc_provider.clients["irods-pw"],
        discovery_url=oidc_provider.issuer,
        allow_insecure_http=True,
        on_token=on_token,
    )
    auth = RejectCountingAuth(source)
    transport = StatusCountingTransport()
    # retries=0: a chunk refused for any reason fails the upload instead of being quietly resent
    config = TransferConfig(streams=3, chunk_size=MIB, queue_depth=2, retries=0)
    with IrodsSession(emulator.base_url, auth=auth, transport=transport) as session:
        session.collections.exists("/tempZone/home/alice")  # first token minted before the clock starts
        minted_before = len(minted)
        requests_before = oidc_provider.token_requests()
        tokens_before = set(transport.tokens)
        # 0.25 s per request and 22 rounds of 3 chunks: the upload lasts at least ~5.5 s, i.e. several
        # 2 s token lifetimes, however fast the machine (a slow one only makes it longer).
        emulator.set_faults(latency_seconds=0.25)
        try:
            result = parallel_upload(session, io.BytesIO(payload), path, config=config, size=SIZE)
        finally:
            emulator.set_faults(latency_seconds=0.0)
        requests_during = oidc_provider.token_requests() - requests_before
        minted_during = minted[minted_before:]
        used_during = [t for t in transport.tokens if t and t not in tokens_before]  # "" = unauthenticated
        unauthorized = transport.statuses[401]
        rejects = auth.rejects

        assert result.size == SIZE
        assert result.sha256 == digest
        with open_reader(session, path, chunk_size=8 * MIB) as reader:
            read_back = hashlib.sha256(reader.read()).digest()
        assert read_back == digest
        assert session.data_objects.calculate_checksum(path) == sha2_checksum(digest)
        assert session.data_objects.stat(path).size == SIZE
        session.data_objects.remove(path, no_trash=True)
    auth.close()

    print(
        f"\ntoken requests during upload {requests_during}; tokens used {len(used_during)}; "
        f"401s {unauthorized}; 401-driven renewals {rejects}; statuses {dict(transport.statuses)}"
    )
    # Counted events, not rates: the upload outlived its first token and went on with renewed ones.
    assert len(used_during) >= 2, "the upload never needed a renewed token"
    # Each token request gave one access token that requests then carried (no wasted or parallel renewals).
    assert set(used_during) <= set(minted_during)
    assert len(used_during) == requests_during
    # Renewal is proactive: no token was handed out in the second half of its 2 s life (counted from when its
    # token answer arrived, later than the source's own start of the clock). A 401 can still happen when a
    # request carrying a young token reaches the introspecting server late (a loaded machine), and is cured
    # below; whether any renewal beat every 401 depends on that delay, so it is not asserted.
    ages = [at - arrived[token] for at, token in auth.handed_out if token in arrived]
    assert len(ages) >= requests_during
    assert max(ages) < oidc_provider.access_token_seconds / 2, f"a token was handed out {max(ages):.2f} s old"
    # Every 401 was cured by exactly one renewal and a resend (the upload had retries=0).
    assert unauthorized == rejects
    assert rejects <= config.streams * requests_during
    assert set(transport.statuses) <= {200, 401}
