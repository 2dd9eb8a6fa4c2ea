from __future__ import annotations

import httpx2
import pytest

from irods_provider.client import AsyncIrodsSession, BasicAuth, IrodsSession, RetryPolicy

HOME = "/tempZone/home/rods"
PLUGIN = "irods_provider.testing.pytest_plugin"


def pytest_configure(config: pytest.Config) -> None:
    # The root conftest is expected to load the emulator plugin; load it here if it does not (yet).
    if not config.pluginmanager.has_plugin(PLUGIN):
        config.pluginmanager.import_plugin(PLUGIN)


class CountingTransport(httpx2.HTTPTransport):
    """A real transport that counts requests per endpoint (to prove retries and single logins)."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: dict[str, int] = {}

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        endpoint = request.url.path.rsplit("/", 1)[-1]
        self.counts[endpoint] = self.counts.get(endpoint, 0) + 1
        return super().handle_request(request)


def fast_retry(**kw) -> RetryPolicy:
    return RetryPolicy(sleep=lambda s: None, initial_backoff=0.0, **kw)


@pytest.fixture
def session(irods_emulator):
    with IrodsSession(
        irods_emulator.base_url, auth=BasicAuth("rods", "rods-emulator"), retry=fast_retry()
    ) as s:
        yield s


@pytest.fixture
def counted(irods_emulator):
    transport = CountingTransport()
    with IrodsSession(
        irods_emulator.base_url,
        auth=BasicAuth("rods", "rods-emulator"),
        retry=fast_retry(max_attempts=6),
        transport=transport,
    ) as s:
        yield s, transport


@pytest.fixture
async def asession(irods_emulator):
    async def no_sleep(seconds: float) -> None:
        return None

    retry = RetryPolicy(asleep=no_sleep, initial_backoff=0.0)
    async with AsyncIrodsSession(
        irods_emulator.base_url, auth=BasicAuth("rods", "rods-emulator"), retry=retry
    ) as s:
        yield s
