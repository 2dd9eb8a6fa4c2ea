"""Requests per random 64 KiB read through ``irods://`` (an fsspec file open for reading), by operation.

    python benchmarks/fs_random_reads.py [--json] [--reads 200] [--size-mib 16]

The emulator runs in a subprocess; one object of ``--size-mib`` MiB is read at ``--reads`` random offsets,
64 KiB each, through ``IrodsFileSystem.open(path, "rb")`` with several fsspec caches and block sizes. Every
request this process sends is counted by its operation: ``open`` is what the open asked, ``per_read`` the
mean per read after it (``read``: ranged reads; ``execute_genquery``: the object's identity confirmed, one
per ``read()`` that fetched). Counts, not times: they do not depend on the machine.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import sys
from pathlib import Path
from typing import Any

import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))
from _emulator import emulator_process
from op_counter import request_op

from irods_provider.fs import IrodsFileSystem

KIB = 1024
PATH = "/tempZone/home/rods/random.bin"
CASES: list[tuple[str, dict[str, Any]]] = [
    ("readahead, default blocks", {}),
    ("readahead, 64 KiB blocks", {"block_size": 64 * KIB}),
    ("blockcache, 64 KiB blocks", {"block_size": 64 * KIB, "cache_type": "blockcache"}),
    ("blockcache, 16 KiB blocks", {"block_size": 16 * KIB, "cache_type": "blockcache"}),
    ("none, 64 KiB blocks", {"block_size": 64 * KIB, "cache_type": "none"}),
]


def _counting() -> collections.Counter[str]:
    """Count every request this process sends over a real socket, by its operation."""
    seen: collections.Counter[str] = collections.Counter()
    real = httpx2.HTTPTransport.handle_request

    def handle(self: httpx2.HTTPTransport, request: httpx2.Request) -> httpx2.Response:
        seen[request_op(request)] += 1
        return real(self, request)

    httpx2.HTTPTransport.handle_request = handle  # type: ignore[method-assign]
    return seen


def measure(base_url: str, *, reads: int, size: int) -> dict[str, Any]:
    """Per cache: the open's requests and the mean requests per random 64 KiB read, by operation."""
    seen = _counting()
    fs = IrodsFileSystem(
        base_url=base_url, username="rods", password="rods-emulator", skip_instance_cache=True
    )
    data = random.Random(1).randbytes(size)
    fs.pipe(PATH, data)
    out: dict[str, Any] = {}
    try:
        for name, options in CASES:
            rng = random.Random(2)
            seen.clear()
            with fs.open(PATH, "rb", **options) as f:
                opened = dict(seen)
                seen.clear()
                for _ in range(reads):
                    at = rng.randrange(0, size - 64 * KIB)
                    f.seek(at)
                    if f.read(64 * KIB) != data[at : at + 64 * KIB]:
                        raise AssertionError(f"{name}: wrong bytes at {at}")
            per_read = {op: round(n / reads, 2) for op, n in sorted(seen.items())}
            out[name] = {
                "open": opened,
                "per_read": per_read,
                "total_per_read": round(sum(seen.values()) / reads, 2),
            }
    finally:
        fs.close_session()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--reads", type=int, default=200, help="random reads per case")
    parser.add_argument("--size-mib", type=int, default=16, help="size of the object read")
    args = parser.parse_args()
    with emulator_process() as base_url:
        figures = measure(base_url, reads=args.reads, size=args.size_mib * 1024 * KIB)
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    for name, row in figures.items():
        print(f"{name:28s} open {row['open']}  per read {row['total_per_read']} {row['per_read']}")


if __name__ == "__main__":
    main()
