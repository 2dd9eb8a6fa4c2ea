"""Counting the GenQuery requests this process sends over real sockets, by ``op`` (catalog scans' cost)."""

from __future__ import annotations

from collections import Counter

import httpx2
import pytest

#: The key counting the GenQueries that looked for objects overwrites moved aside (``.<name>.irods-old-...``).
MOVED_ASIDE = "moved-aside lookups"


def count_query_requests(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Patch httpx2's socket transports to count every ``/query`` request by its ``op`` parameter (and the
    lookups of objects moved aside under :data:`MOVED_ASIDE`)."""
    seen: Counter[str] = Counter()
    real_sync, real_async = (
        httpx2.HTTPTransport.handle_request,
        httpx2.AsyncHTTPTransport.handle_async_request,
    )

    def record(request: httpx2.Request) -> None:
        if request.url.path.endswith("/query"):
            seen[request.url.params.get("op", "")] += 1
            if "irods-old-" in (request.url.params.get("query") or ""):
                seen[MOVED_ASIDE] += 1

    def handle(self: httpx2.HTTPTransport, request: httpx2.Request) -> httpx2.Response:
        record(request)
        return real_sync(self, request)

    async def ahandle(self: httpx2.AsyncHTTPTransport, request: httpx2.Request) -> httpx2.Response:
        record(request)
        return await real_async(self, request)

    monkeypatch.setattr(httpx2.HTTPTransport, "handle_request", handle)
    monkeypatch.setattr(httpx2.AsyncHTTPTransport, "handle_async_request", ahandle)
    return seen
