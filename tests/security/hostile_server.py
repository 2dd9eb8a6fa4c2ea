"""A tiny hostile HTTP server on 127.0.0.1 for the security suite: each test gives it a reply function.

Built on ``http.server`` so it can send what no well-behaved server would: gzip bombs, endless bodies,
lying Content-Length headers. It counts the bytes it managed to send (a client that stops reading makes
the send fail early). ``trickling_server`` sends a reply a byte at a time.
"""

from __future__ import annotations

import http.server
import socket
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    """What the handler saw: method, path, query parameters, headers, body."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    """Status, headers and body chunks (sent chunked unless a Content-Length header is given)."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    chunks: Iterable[bytes] = ()


Handler = Callable[[Request], Reply]


@dataclass
class HostileServer:
    """Where the server listens and what it did."""

    url: str
    requests: list[Request] = field(default_factory=list)
    sent_bytes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def hostile_server(handler: Handler, *, tls: ssl.SSLContext | None = None) -> Iterator[HostileServer]:
    """Serve ``handler`` on a free loopback port (https with ``tls``) for the duration of the block."""
    state = HostileServer(url="")

    class _H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            request = Request(self.command, parts.path, parse_qs(parts.query), dict(self.headers), body)
            with state.lock:
                state.requests.append(request)
            reply = handler(request)
            self.send_response(reply.status)
            chunked = "Content-Length" not in reply.headers
            for key, value in reply.headers.items():
                self.send_header(key, value)
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for chunk in reply.chunks:
                    data = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if chunked else chunk
                    self.wfile.write(data)
                    with state.lock:
                        state.sent_bytes += len(chunk)
                if chunked:
                    self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        do_GET = _serve
        do_POST = _serve

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _H)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    state.url = f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="hostile-http", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@contextmanager
def trickling_server(body: bytes, *, gap: float = 0.05) -> Iterator[str]:
    """Serve ``body`` to every request on a loopback port after its headers, one byte every ``gap`` seconds
    (each read well within any timeout), so only a deadline on the whole body ends the request."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:  # the accept timeout, or the listener closed
                continue
            with conn:
                request = b""
                while b"\r\n\r\n" not in request and (piece := conn.recv(65536)):
                    request += piece
                head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n"
                try:
                    conn.sendall(head.encode())
                    for i in range(len(body)):
                        if stop.wait(gap):
                            return
                        conn.sendall(body[i : i + 1])
                except OSError:
                    continue  # the client gave up

    thread = threading.Thread(target=serve, name="trickling-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()
        thread.join(10)
