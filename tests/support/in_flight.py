"""An httpx2 transport that counts GenQuery requests and the most in flight at once, each held ``hold``
seconds (a WAN round trip), so that overlapping requests really overlap."""

from __future__ import annotations

import threading
import time

import httpx2


class InFlight(httpx2.HTTPTransport):
    """Counts ``/query`` requests (``queries``) and the most in flight at once (``most``)."""

    def __init__(self, hold: float) -> None:
        super().__init__()
        self.hold = hold
        self.queries = 0
        self.now = 0
        self.most = 0
        self._lock = threading.Lock()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if not request.url.path.endswith("/query"):
            return super().handle_request(request)
        with self._lock:
            self.queries += 1
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            time.sleep(self.hold)
            return super().handle_request(request)
        finally:
            with self._lock:
                self.now -= 1
