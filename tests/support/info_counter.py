"""Counting the ``/info`` requests this process sends over real sockets (the version probe and sessions)."""

from __future__ import annotations

import httpx2
import pytest


def count_info_requests(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Patch httpx2's socket transports to record the path of every ``/info`` request, in order."""
    seen: list[str] = []
    real_sync, real_async = (
        httpx2.HTTPTransport.handle_request,
        httpx2.AsyncHTTPTransport.handle_async_request,
    )

    def handle(self: httpx2.HTTPTransport, request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/info"):
            seen.append(request.url.path)
        return real_sync(self, request)

    async def ahandle(self: httpx2.AsyncHTTPTransport, request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/info"):
            seen.append(request.url.path)
        return await real_async(self, request)

    monkeypatch.setattr(httpx2.HTTPTransport, "handle_request", handle)
    monkeypatch.setattr(httpx2.AsyncHTTPTransport, "handle_async_request", ahandle)
    return seen
