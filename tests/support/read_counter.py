"""A real transport that counts ``data-objects`` reads, and a retry policy that never sleeps."""

from __future__ import annotations

import httpx2

from irods_provider.client import RetryPolicy


class ReadCounter(httpx2.HTTPTransport):
    """Counts the GET ``op=read`` requests it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "GET" and request.url.params.get("op") == "read":
            self.reads += 1
        return super().handle_request(request)


def no_wait_retry(max_attempts: int = 4) -> RetryPolicy:
    """The default attempts, without the waits between them."""
    return RetryPolicy(sleep=lambda s: None, initial_backoff=0.0, max_attempts=max_attempts)
