"""Benchmark: a large object through parallel_write_init (3 streams) on the emulator, in a subprocess.

Writes ``--size-mib`` MiB (default 1024) with raw httpx2 header-form writes of at most 8 MiB at explicit
offsets from 3 threads, shuts the handle down, reads the object back in ranges, compares SHA-256 with the
server's ``calculate_checksum`` and samples the emulator process's peak RSS. Prints JSON and updates the
"Emulator parallel write" section of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import psutil

MIB = 1024 * 1024
CHUNK = 8 * MIB
STREAMS = 3
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SECTION = "## Emulator parallel write"
BLOCK = os.urandom(CHUNK)


def chunk_at(offset: int, size: int) -> bytes:
    """Deterministic, offset-tagged content for the chunk starting at ``offset``."""
    return offset.to_bytes(8, "big") + BLOCK[8:size]


def start_emulator(spool: Path) -> tuple[subprocess.Popen[str], str]:
    """Start ``python -m irods_provider.testing serve`` and return (process, base URL)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "irods_provider.testing", "serve", "--port", "0", "--spool", str(spool)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    base = proc.stdout.readline().split(": ", 1)[1].strip()
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx2.get(f"{base}/info")
            return proc, base
        except httpx2.ConnectError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class RssSampler(threading.Thread):
    """Samples a process's RSS every 20 ms and keeps the peak."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.peak = 0
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            self.stop_event.wait(0.02)


def write_stream(base: str, token: str, handle: str, index: int, start: int, end: int) -> None:
    """One stream's share: consecutive ≤ 8 MiB writes at explicit offsets."""
    headers = {
        "Authorization": f"Bearer {token}",
        "irods-api-request-op": "write",
        "irods-api-request-parallel-write-handle": handle,
        "irods-api-request-stream-index": str(index),
    }
    with httpx2.Client(timeout=120) as http:
        for offset in range(start, end, CHUNK):
            size = min(CHUNK, end - offset)
            r = http.post(
                f"{base}/data-objects",
                content=chunk_at(offset, size),
                headers={**headers, "irods-api-request-offset": str(offset)},
            )
            r.raise_for_status()
            assert r.json()["irods_response"]["status_code"] == 0


def run(size: int) -> dict[str, object]:
    """Write, checksum and read back one object; return the figures."""
    expected = hashlib.sha256()
    for offset in range(0, size, CHUNK):
        expected.update(chunk_at(offset, min(CHUNK, size - offset)))
    with tempfile.TemporaryDirectory(prefix="emulator-bench-") as tmp:
        proc, base = start_emulator(Path(tmp) / "spool")
        sampler = RssSampler(proc.pid)
        sampler.start()
        try:
            with httpx2.Client(timeout=300) as http:
                token = http.post(f"{base}/authenticate", auth=("rods", "rods-emulator")).text
                auth = {"Authorization": f"Bearer {token}"}
                path = "/tempZone/home/rods/bench.bin"
                started = time.monotonic()
                r = http.post(
                    f"{base}/data-objects",
                    data={"op": "parallel_write_init", "lpath": path, "stream-count": STREAMS},
                    headers=auth,
                )
                handle = r.json()["parallel_write_handle"]
                share = -(-size // STREAMS // CHUNK) * CHUNK
                bounds = [(i, i * share, min(size, (i + 1) * share)) for i in range(STREAMS)]
                with ThreadPoolExecutor(STREAMS) as pool:
                    futures = [
                        pool.submit(write_stream, base, token, handle, i, s, e) for i, s, e in bounds if s < e
                    ]
                    for f in futures:
                        f.result()
                http.post(
                    f"{base}/data-objects",
                    data={"op": "parallel_write_shutdown", "parallel-write-handle": handle},
                    headers=auth,
                )
                write_seconds = time.monotonic() - started
                r = http.post(
                    f"{base}/data-objects", data={"op": "calculate_checksum", "lpath": path}, headers=auth
                )
                server_checksum = r.json()["checksum"]
                read_started = time.monotonic()
                got = hashlib.sha256()
                for offset in range(0, size, 64 * MIB):
                    params = {"op": "read", "lpath": path, "offset": offset, "count": 64 * MIB}
                    with http.stream("GET", f"{base}/data-objects", params=params, headers=auth) as resp:
                        for part in resp.iter_bytes():
                            got.update(part)
                read_seconds = time.monotonic() - read_started
        finally:
            sampler.stop_event.set()
            sampler.join()
            proc.terminate()
            proc.wait(20)
            if proc.stdout is not None:
                proc.stdout.close()
    want = "sha2:" + base64.b64encode(expected.digest()).decode()
    return {
        "size": size,
        "seconds": round(write_seconds, 2),
        "MB/s": round(size / MIB / write_seconds, 1),
        "read_seconds": round(read_seconds, 2),
        "read_MB/s": round(size / MIB / read_seconds, 1),
        "peak_rss_mb": round(sampler.peak / MIB, 1),
        "checksum_ok": server_checksum == want and got.digest() == expected.digest(),
    }


def record(result: dict[str, object]) -> None:
    """Replace (or append) this benchmark's section of RESULTS.md, leaving other sections intact."""
    body = (
        f"{SECTION}\n\n"
        f"`python benchmarks/emulator_parallel_write.py --size-mib {int(result['size']) // MIB}` "  # type: ignore[call-overload]
        f"({time.strftime('%Y-%m-%d')}): 3 streams, 8 MiB header-form writes, emulator in a subprocess.\n\n"
        "| size (MiB) | write s | write MB/s | read s | read MB/s | emulator peak RSS (MB) | checksum ok |\n"
        "|---|---|---|---|---|---|---|\n"
        f"| {int(result['size']) // MIB} | {result['seconds']} | {result['MB/s']} | {result['read_seconds']} "  # type: ignore[call-overload]
        f"| {result['read_MB/s']} | {result['peak_rss_mb']} | {result['checksum_ok']} |\n"
    )
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"{re.escape(SECTION)}\n.*?(?=\n## |\Z)", re.S)
    text = pattern.sub(body.rstrip("\n"), text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + body
    RESULTS.write_text(text.rstrip("\n") + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--no-record", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args()
    result = run(args.size_mib * MIB)
    print(json.dumps(result))
    if not args.no_record:
        record(result)
    return 0 if result["checksum_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
