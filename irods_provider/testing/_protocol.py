"""A uvicorn HTTP protocol that mirrors Boost.Beast's body limit: drop the connection, no response.

uvicorn answers 500 whenever an ASGI app fails before responding, so "close without a response"
cannot be done from the app alone. This subclass of uvicorn's httptools protocol checks the
``Content-Length`` as soon as the headers are parsed and closes the transport when it exceeds the
current limit (no ASGI task is started). It also puts an ``irods_emulator.abort`` callable into
the ASGI scope so the app can drop a connection mid-body (fault injection, chunked overflow).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

ABORT_KEY = "irods_emulator.abort"


def make_protocol(body_limit: Callable[[], int]) -> type[HttpToolsProtocol]:
    """Build a protocol class bound to a function returning the current body limit in bytes."""

    class LimitedHttpToolsProtocol(HttpToolsProtocol):
        _irods_dropped = False

        def data_received(self, data: bytes) -> None:
            if self._irods_dropped:
                return
            super().data_received(data)

        def on_headers_complete(self) -> None:
            for name, value in self.headers:
                if name == b"content-length" and value.strip().isdigit() and int(value) > body_limit():
                    self._irods_drop()
                    return
            self.scope[ABORT_KEY] = self._irods_drop  # type: ignore[literal-required]
            super().on_headers_complete()

        def on_body(self, body: bytes) -> None:
            if not self._irods_dropped:
                super().on_body(body)

        def on_message_complete(self) -> None:
            if not self._irods_dropped:
                super().on_message_complete()

        def _irods_drop(self) -> None:
            self._irods_dropped = True
            transport: Any = self.transport
            transport.close()

    return LimitedHttpToolsProtocol
