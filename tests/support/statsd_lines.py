"""Reading InfluxDB-style StatsD lines (``name,k=v,...:value|c`` / ``|ms``): counter totals by tag set and
timers, for the StatsD tests (a UDP listener in the test process, and the live deployment's)."""

from __future__ import annotations

import socket
from collections import Counter
from types import TracebackType

Totals = Counter[tuple[str, frozenset[tuple[str, str]]]]


def totals(lines: list[str]) -> Totals:
    """Counter totals by (name, tags) from InfluxDB-style StatsD lines ``name,k=v,...:value|c``."""
    found: Totals = Counter()
    for line in lines:
        head, _, rest = line.partition(":")
        value, _, kind = rest.partition("|")
        if kind != "c":
            continue
        name, *tags = head.split(",")
        found[(name, frozenset((k, v) for k, _, v in (t.partition("=") for t in tags)))] += int(value)
    return found


def total(found: Totals, name: str, **tags: str) -> int:
    """Sum of the counter ``name`` over every tag set that includes ``tags``."""
    wanted = set(tags.items())
    return sum(n for (metric, have), n in found.items() if metric == name and wanted <= have)


def timers(lines: list[str], name: str) -> list[tuple[float, dict[str, str]]]:
    """(milliseconds, tags) of every timer line ``name,k=v,...:value|ms``."""
    found = []
    for line in lines:
        head, _, rest = line.partition(":")
        value, _, kind = rest.partition("|")
        metric, *tags = head.split(",")
        if kind == "ms" and metric == name:
            found.append((float(value), {k: v for k, _, v in (t.partition("=") for t in tags)}))
    return found


class StatsdSocket:
    """A UDP socket on 127.0.0.1 standing in for the StatsD daemon of a task process the test starts."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)

    def __enter__(self) -> StatsdSocket:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.sock.close()

    def airflow_config(self) -> dict[str, str]:
        """``[metrics]`` environment pointing Airflow's StatsD client (tags InfluxDB-style) here."""
        return {
            "AIRFLOW__METRICS__STATSD_ON": "True",
            "AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
            "AIRFLOW__METRICS__STATSD_PORT": str(self.sock.getsockname()[1]),
            "AIRFLOW__METRICS__STATSD_PREFIX": "airflow",
            "AIRFLOW__METRICS__STATSD_INFLUXDB_ENABLED": "True",
        }

    def received(self) -> list[str]:
        """Every line already delivered (the sender has exited: nothing more is on the way)."""
        self.sock.setblocking(False)
        lines: list[str] = []
        while True:
            try:
                packet = self.sock.recv(65536)
            except BlockingIOError:
                return lines
            lines += packet.decode().splitlines()
