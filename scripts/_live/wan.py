"""A site's WAN link as its own process: ``benchmarks/_wanproxy.py`` in front of the central API server.

    python scripts/_live/wan.py --target-port 8080 [--rtt 0.02] [--bandwidth 25e6]

Prints ``wan proxy listening on 127.0.0.1:<port>`` once it accepts connections, then forwards until SIGTERM,
printing ``upstream 127.0.0.1:<port>`` for each connection it opens to the target: the API server's access log
names that address as the client, so a test can tell which site's link carried a request.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from _wanproxy import WanProxy


class LoggingWanProxy(WanProxy):
    """The WAN proxy, printing the local address of every upstream connection it opens."""

    def _opened(self, upstream: asyncio.StreamWriter) -> None:
        host, port = upstream.get_extra_info("sockname")[:2]
        print(f"upstream {host}:{port}", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run one proxy until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--target-port", type=int, required=True)
    parser.add_argument("--rtt", type=float, default=0.02, help="round-trip time in seconds")
    parser.add_argument("--bandwidth", type=float, default=25e6, help="bytes per second per connection")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda _signum, _frame: stop.set())
    with LoggingWanProxy("127.0.0.1", args.target_port, rtt=args.rtt, bandwidth=args.bandwidth) as proxy:
        print(f"wan proxy listening on 127.0.0.1:{proxy.port} -> 127.0.0.1:{args.target_port}", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
