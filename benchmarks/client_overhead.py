"""Client overhead benchmark: our session vs raw pooled httpx2, and vs the ``irods-http`` 0.1.0 package.

Starts the emulator in a subprocess (so client and server do not share a GIL), then measures:
- ``stat_overhead_ratio``: time per data-object ``stat`` through :class:`IrodsSession` divided by the
  same GET sent raw on one pooled ``httpx2.Client`` (goal <= 1.15);
- ``irods_http_small_ops_ratio``: time for 200 small operations (100 stats + 100 metadata adds) with
  ``irods-http`` 0.1.0 divided by the same operations with our session (> 1 means we are faster).

Usage: ``python benchmarks/client_overhead.py --json`` (prints one JSON object and updates the
client section of benchmarks/RESULTS.md unless ``--no-write``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx2

from irods_provider.client import AVU, BasicAuth, EntryKind, IrodsSession

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _emulator import emulator_process

HOME = "/tempZone/home/rods"
TARGET = f"{HOME}/bench-object.txt"
RESULTS = Path(__file__).with_name("RESULTS.md")
MARK = "<!-- client_overhead -->"


def timed(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def stat_overhead(base: str, rounds: int, n: int) -> dict[str, float]:
    with IrodsSession(base, auth=BasicAuth("rods", "rods-emulator")) as session, httpx2.Client() as raw:
        session.data_objects.write(TARGET, b"benchmark")
        token = session.auth.get_token()  # type: ignore[union-attr]
        headers = {"Authorization": f"Bearer {token}"}
        params = {"op": "stat", "lpath": TARGET}

        def ours() -> object:
            return session.data_objects.stat(TARGET)

        def baseline() -> object:
            return raw.get(f"{base}/data-objects", params=params, headers=headers).json()

        for fn in (ours, baseline):
            timed(fn, 50)  # warm up pools
        ours_t, raw_t = [], []
        for _ in range(rounds):
            ours_t.append(timed(ours, n))
            raw_t.append(timed(baseline, n))
    ours_s, raw_s = statistics.median(ours_t), statistics.median(raw_t)
    return {
        "stat_ours_ms": ours_s * 1e3,
        "stat_raw_httpx2_ms": raw_s * 1e3,
        "stat_overhead_ratio": ours_s / raw_s,
    }


def stat_overhead_in_process(n: int) -> dict[str, float]:
    """The same comparison over httpx2.MockTransport: pure client-side CPU cost, no network or server."""
    body = json.dumps(
        {
            "irods_response": {"status_code": 0},
            "type": "data_object",
            "size": 9,
            "checksum": "",
            "modified_at": 1,
            "permissions": [{"name": "rods", "zone": "tempZone", "type": "rodsadmin", "perm": "own"}],
        }
    ).encode()

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/authenticate"):
            return httpx2.Response(200, content=b"token")
        return httpx2.Response(200, content=body, headers={"Content-Type": "application/json"})

    base = "http://mock/irods-http-api/0.7.0"
    transport = httpx2.MockTransport(handler)
    params = {"op": "stat", "lpath": TARGET}
    with (
        IrodsSession(base, auth=BasicAuth("rods", "rods-emulator"), transport=transport) as session,
        httpx2.Client(transport=transport) as raw,
    ):
        ours = min(timed(lambda: session.data_objects.stat(TARGET), n) for _ in range(5))
        theirs = min(
            timed(
                lambda: raw.get(
                    f"{base}/data-objects", params=params, headers={"Authorization": "Bearer t"}
                ).json(),
                n,
            )
            for _ in range(5)
        )
    return {
        "stat_in_process_ours_us": ours * 1e6,
        "stat_in_process_raw_us": theirs * 1e6,
        "stat_overhead_ratio_in_process": ours / theirs,
    }


def small_ops(base: str, ops: int) -> dict[str, float]:
    import irods_http

    half = ops // 2
    with IrodsSession(base, auth=BasicAuth("rods", "rods-emulator")) as session:
        session.data_objects.write(TARGET, b"benchmark")
        session.data_objects.stat(TARGET)
        start = time.perf_counter()
        for i in range(half):
            session.data_objects.stat(TARGET)
            session.metadata.add(TARGET, AVU("ours", str(i)), kind=EntryKind.DATA_OBJECT)
        ours = time.perf_counter() - start
    theirs_session = irods_http.authenticate(base, "rods", "rods-emulator")
    start = time.perf_counter()
    for i in range(half):
        r1 = irods_http.data_objects.stat(theirs_session, TARGET)
        r2 = irods_http.data_objects.modify_metadata(
            theirs_session, TARGET, [{"operation": "add", "attribute": "theirs", "value": str(i)}]
        )
        if r1["status_code"] != 200 or r2["status_code"] != 200:
            raise RuntimeError(f"irods-http call failed: {r1} {r2}")
    theirs = time.perf_counter() - start
    return {
        "small_ops_ours_s": ours,
        "small_ops_irods_http_s": theirs,
        "irods_http_small_ops_ratio": theirs / ours,
    }


def write_results(result: dict[str, object]) -> None:
    section = (
        f"{MARK}\n## Client overhead (`benchmarks/client_overhead.py`)\n\n"
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()} / Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; emulator in a subprocess on loopback.\n\n"
        "| metric | value |\n|---|---|\n"
        + "".join(
            f"| `{k}` | {v:.3f} |\n" if isinstance(v, float) else f"| `{k}` | {v} |\n"
            for k, v in result.items()
        )
        + "\n`stat_overhead_ratio`: our `data_objects.stat` ÷ the same GET on one pooled httpx2 client "
        "(goal ≤ 1.15). `irods_http_small_ops_ratio`: 200 small ops (stat + metadata add) with "
        "irods-http 0.1.0 ÷ with ours (> 1: ours faster; irods-http opens a new connection per call).\n\n"
        "`stat_overhead_ratio_in_process` (httpx2.MockTransport, no "
        "network) isolates our client's own CPU cost per stat.\n"
        f"{MARK}\n"
    )
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    pattern = re.compile(re.escape(MARK) + r".*?" + re.escape(MARK) + r"\n?", re.DOTALL)
    text = (
        pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    )
    RESULTS.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--n", type=int, default=200, help="stats per round")
    parser.add_argument("--ops", type=int, default=200)
    parser.add_argument("--no-write", action="store_true", help="do not update benchmarks/RESULTS.md")
    args = parser.parse_args()
    with emulator_process() as base:
        result: dict[str, object] = {}
        result.update(stat_overhead(base, args.rounds, args.n))
        result.update(small_ops(base, args.ops))
        result.update(stat_overhead_in_process(2000))
    if not args.no_write:
        write_results(result)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
