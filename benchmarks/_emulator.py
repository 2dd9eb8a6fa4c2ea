"""The emulator in a subprocess for benchmarks, so client and server do not share a GIL."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A loopback port free at the time of asking."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def emulator_process(*serve_args: str, spool: Path | None = None) -> Iterator[str]:
    """Run ``python -m irods_provider.testing serve serve_args...``; yield its base URL once it answers."""
    port = free_port()
    cmd = [sys.executable, "-m", "irods_provider.testing", "serve", "--port", str(port), *serve_args]
    if spool is not None:
        cmd += ["--spool", str(spool)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    base = f"http://127.0.0.1:{port}/irods-http-api/0.7.0"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx2.TransportError):
                if httpx2.get(f"{base}/info", timeout=1).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the emulator did not start")
            time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)
