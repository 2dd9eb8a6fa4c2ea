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
    """An ordinary transport that counts the HTTP status of every response (401s in particular)."""

    def __init__(self) -> None:
        super().__init__()
        self.statuses: Counter[int] = Counter()
        self._lock = threading.Lock()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        response = super().handle_request(request)
        with self._lock:
            self.statuses[response.status_code] += 1
        return response


class RejectCountingAuth:
    """Delegates to a token source and counts renewals forced by a 401 (``reject=`` calls)."""

    def __init__(self, inner: OpenIdPassword) -> None:
        self.inner = inner
        self.rejects = 0

    def get_token(self, *, reject: str | None = None) -> str:
        if reject is not None:
            self.rejects += 1
        return self.inner.get_token(reject=reject)

    async def aget_token(self, *, reject: str | None = None) -> str:
        if reject is not None:
            self.rejects += 1
        return await self.inner.aget_token(reject=reject)

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
    source = OpenIdPassword(
        username="alice",
        password=oidc_provider.users["alice"],
        client_id="irods-pw",
        client_secret=oidc_provider.clients["irods-pw"],
        discovery_url=oidc_provider.issuer,
        allow_insecure_http=True,
        on_token=minted.append,
    )
    auth = RejectCountingAuth(source)
    transport = StatusCountingTransport()
    # retries=0: a chunk refused for any reason fails the upload instead of being quietly resent
    config = TransferConfig(streams=3, chunk_size=MIB, queue_depth=2, retries=0)
    with IrodsSession(emulator.base_url, auth=auth, transport=transport) as session:
        session.collections.exists("/tempZone/home/alice")  # first token minted before the clock starts
        minted_before = len(minted)
        requests_before = oidc_provider.token_requests()
        emulator.set_faults(latency_seconds=0.25)
        try:
            started = time.monotonic()
            result = parallel_upload(session, io.BytesIO(payload), path, config=config, size=SIZE)
            elapsed = time.monotonic() - started
        finally:
            emulator.set_faults(latency_seconds=0.0)
        requests_during = oidc_provider.token_requests() - requests_before
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
        f"\nupload {elapsed:.1f} s; token requests during upload {requests_during}; "
        f"401s {unauthorized}; 401-driven renewals {rejects}; statuses {dict(transport.statuses)}"
    )
    assert elapsed > 5, f"the upload took {elapsed:.1f} s, not long enough to outlive several tokens"
    # tokens live 2 s and are renewed at half-life: about one token request per second of upload
    assert requests_during >= 3
    assert requests_during >= elapsed / 2
    assert len(minted) > minted_before
    assert requests_during - rejects >= 3, "renewals were forced by 401s, not done ahead of expiry"
    # a 401 is rare (a request delayed past its token's half-life) and cured by one renewal and a resend
    assert unauthorized == rejects <= 3
    assert set(transport.statuses) <= {200, 401}
