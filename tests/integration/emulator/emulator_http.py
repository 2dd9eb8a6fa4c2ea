"""Raw-HTTP helpers for the emulator tests (the project's client is deliberately not used)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2

from irods_provider.testing import EmulatorServer

ZONE = "tempZone"


class Api:
    """A tiny raw client: one token per user, GET/POST helpers returning httpx2 responses."""

    def __init__(self, server: EmulatorServer, http: httpx2.Client) -> None:
        self.server = server
        self.base = server.base_url
        self.http = http
        self._tokens: dict[str, str] = {}

    def token(self, user: str = "rods", password: str | None = None) -> str:
        if user not in self._tokens:
            default = self.server.config.admin_password if user == self.server.config.admin_user else user
            r = self.http.post(f"{self.base}/authenticate", auth=(user, password or default))
            assert r.status_code == 200, r.status_code
            self._tokens[user] = r.text
        return self._tokens[user]

    def headers(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user)}"}

    def get(self, endpoint: str, who: str = "rods", /, **params: Any) -> httpx2.Response:
        return self.http.get(f"{self.base}/{endpoint}", params=params, headers=self.headers(who))

    def post(self, endpoint: str, who: str = "rods", /, **data: Any) -> httpx2.Response:
        return self.http.post(f"{self.base}/{endpoint}", data=data, headers=self.headers(who))

    def post_multipart(self, endpoint: str, who: str = "rods", /, **fields: Any) -> httpx2.Response:
        files = {k: (None, v if isinstance(v, bytes) else str(v).encode()) for k, v in fields.items()}
        return self.http.post(f"{self.base}/{endpoint}", files=files, headers=self.headers(who))

    def write(self, path: str, data: bytes, user: str = "rods", **headers: str) -> httpx2.Response:
        h = {**self.headers(user), "irods-api-request-op": "write", "irods-api-request-lpath": path}
        h.update({f"irods-api-request-{k.replace('_', '-')}": v for k, v in headers.items()})
        return self.http.post(f"{self.base}/data-objects", content=data, headers=h)

    def read(self, path: str, user: str = "rods", **params: Any) -> httpx2.Response:
        return self.get("data-objects", user, op="read", lpath=path, **params)


def code(response: httpx2.Response) -> int:
    """The irods_response.status_code of a JSON response."""
    value: int = response.json()["irods_response"]["status_code"]
    return value


def checksum(api: Api, path: str, **params: Any) -> str:
    """rods's ``calculate_checksum`` of ``path`` (asserted to succeed): the checksum the server answers."""
    r = api.post("data-objects", "rods", op="calculate_checksum", lpath=path, **params)
    assert code(r) == 0, r.text
    value: str = r.json()["checksum"]
    return value


@contextmanager
def serving(spool: Path, *args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``python -m irods_provider.testing serve`` on a free port with ``args``: the process (its banner's
    remaining lines to read) and the base URL its first line names. A block that ends normally interrupts
    it and asserts a clean exit; the process is killed if it is still running after all."""
    argv = [sys.executable, "-m", "irods_provider.testing", "serve", "--port", "0", "--spool", str(spool)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([*argv, *args], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        yield proc, proc.stdout.readline().split(": ", 1)[1].strip()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        if proc.stdout is not None:
            proc.stdout.close()


def authenticate(base: str) -> httpx2.Response:
    """rods's ``/authenticate`` at ``base``, retried for up to 10 s while the server is not listening yet."""
    deadline = time.monotonic() + 10
    while True:
        try:
            return httpx2.post(f"{base}/authenticate", auth=("rods", "rods-emulator"))
        except httpx2.ConnectError:
            assert time.monotonic() < deadline
            time.sleep(0.05)
