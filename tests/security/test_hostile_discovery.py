"""The ``auto`` API version probe (``GET <root>/<v>/info``, sent before any session exists) reads its
reply as bounded as the session does: a hostile server cannot make it inflate a gzip bomb, hold an
endless body in memory or trickle its ``/info`` reply forever.

Before the fix the probe used ``client.get``: httpx2 inflated a 200 MiB gzip bomb (peak 600 MiB) and
accepted it as an ``/info`` answer, read an endless body whole, and waited on a trickle per read only.
"""

from __future__ import annotations

import gzip
import json
import tracemalloc
from collections.abc import Iterator

import pytest
from hostile_server import Reply, hostile_server, trickling_server

from irods_provider.client import RetryPolicy, Timeouts
from irods_provider.client._discovery import discover_api_version, forget_discovered_versions
from irods_provider.exceptions import IrodsProtocolError, IrodsTimeoutError

pytestmark = pytest.mark.timeout(60)

INFO = b'{"api_version": "0.7.0", "irods_zone": "tempZone", "pad": "'


@pytest.fixture(autouse=True)
def _no_cache() -> Iterator[None]:
    forget_discovered_versions()
    yield
    forget_discovered_versions()


def _discover(url: str, timeout: object = 10.0) -> str:
    return discover_api_version(f"{url}/irods-http-api", retry=RetryPolicy.never(), timeout=timeout)  # type: ignore[arg-type]


def test_a_gzip_bomb_as_the_info_answer_is_refused_without_inflating_it() -> None:
    bomb = gzip.compress(INFO + b" " * (200 * 1024 * 1024) + b'"}', 9)
    reply = Reply(headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}, chunks=[bomb])
    with hostile_server(lambda request: reply) as server:
        tracemalloc.start()
        try:
            with pytest.raises(IrodsProtocolError, match=r"compressed \(gzip\)") as caught:
                _discover(server.url)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert server.requests[0].headers.get("Accept-Encoding") == "identity"
    assert caught.value.operation == "info"
    assert peak < 16 * 1024 * 1024, f"peak {peak} bytes: the bomb was inflated"


def _endless() -> Iterator[bytes]:
    yield INFO
    for _ in range(64 * 16):  # stops at 64 MiB so a client without a bound fails instead of hanging
        yield b"a" * 65536


def test_an_endless_info_answer_stops_at_the_json_bound() -> None:
    reply = Reply(headers={"Content-Type": "application/json"}, chunks=_endless())
    with (
        hostile_server(lambda request: reply) as server,
        pytest.raises(IrodsProtocolError, match="limit of 16777216 bytes") as caught,
    ):
        _discover(server.url)
    assert caught.value.operation == "info"
    assert server.sent_bytes < 40 * 1024 * 1024, "the probe kept reading past its bound"


def test_a_trickled_info_answer_meets_a_whole_body_deadline() -> None:
    body = INFO + b" " * 10_000 + b'"}'  # a byte every 50 ms, each within the 1.5 s read timeout: 500 s whole
    with (
        trickling_server(body) as url,
        pytest.raises(IrodsTimeoutError, match="still arriving") as caught,
    ):
        _discover(url, Timeouts(connect=5.0, read=1.5))
    assert caught.value.operation == "info"


def test_a_well_formed_info_answer_is_still_found() -> None:
    body = json.dumps({"api_version": "0.7.0", "irods_zone": "tempZone"}).encode()
    reply = Reply(headers={"Content-Type": "application/json"}, chunks=[body])
    with hostile_server(lambda request: reply) as server:
        assert _discover(server.url) == "0.7.0"
