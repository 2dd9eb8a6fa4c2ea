"""An HTTP transport that loses the reply of the first request matching a predicate after the server acted."""

from __future__ import annotations

from collections.abc import Callable

import httpx2


class LoseFirstReply(httpx2.HTTPTransport):
    """Forwards every request; the first one ``matches`` accepts (given its body) is applied by the server,
    but its reply is lost (a read timeout). ``count`` is how many matching requests were sent."""

    def __init__(self, matches: Callable[[httpx2.Request, bytes], bool]) -> None:
        super().__init__()
        self._matches = matches
        self.count = 0

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        body = request.read()
        response = super().handle_request(request)
        if self._matches(request, body):
            self.count += 1
            if self.count == 1:
                response.read()
                response.close()
                raise httpx2.ReadTimeout("reply lost after the server acted", request=request)
        return response
