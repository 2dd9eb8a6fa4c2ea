"""The live deployment's per-site WAN proxy (``scripts/_live/wan.py``) relays bytes and names each upstream
connection; it subclasses the benchmarks' WAN model, so a change there that breaks it fails here, not only in
``make live-test`` (the Edge workers once never registered after such a change)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(60)

WAN = Path(__file__).resolve().parents[2] / "scripts" / "_live" / "wan.py"


def _echo_server() -> tuple[socket.socket, int]:
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        with server:
            conn, _ = server.accept()
            with conn:
                while data := conn.recv(65536):
                    conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    return server, server.getsockname()[1]


def test_the_site_proxy_relays_bytes_and_names_its_upstream_connection() -> None:
    _, port = _echo_server()
    argv = [sys.executable, str(WAN), "--target-port", str(port), "--rtt", "0.002"]
    proxy = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        assert proxy.stdout is not None
        first = proxy.stdout.readline()
        assert first.startswith("wan proxy listening on 127.0.0.1:"), first
        listen = int(first.split("127.0.0.1:")[1].split()[0])
        payload = bytes(range(256)) * 1024
        with socket.create_connection(("127.0.0.1", listen), timeout=20) as client:
            client.sendall(payload)
            received = b""
            while len(received) < len(payload) and (data := client.recv(65536)):
                received += data
        assert received == payload
        upstream = proxy.stdout.readline()
        assert upstream.startswith("upstream 127.0.0.1:"), upstream
    finally:
        proxy.terminate()
        proxy.communicate(timeout=10)
