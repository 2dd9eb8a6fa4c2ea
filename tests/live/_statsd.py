"""A StatsD stand-in for live tests: a UDP socket on 127.0.0.1, drained by a thread that keeps the provider's
lines."""

from __future__ import annotations

import socket
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from statsd_lines import Totals, timers, total, totals

__all__ = ["PREFIX", "StatsdListener", "Totals", "timers", "total", "totals"]

PREFIX = "airflow.irods."


class StatsdListener:
    """Receives every datagram (the deployment's own metrics too, so the buffer never fills and drops ours)
    and keeps the ``airflow.irods.*`` lines in arrival order."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        self.sock.settimeout(0.2)
        self.port: int = self.sock.getsockname()[1]
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drain, name="statsd-listener", daemon=True)
        self._thread.start()

    def airflow_config(self) -> dict[str, str]:
        """``[metrics]`` settings pointing Airflow's StatsD client (tags InfluxDB-style) at this socket."""
        return {
            "AIRFLOW__METRICS__STATSD_ON": "True",
            "AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
            "AIRFLOW__METRICS__STATSD_PORT": str(self.port),
            "AIRFLOW__METRICS__STATSD_PREFIX": "airflow",
            "AIRFLOW__METRICS__STATSD_INFLUXDB_ENABLED": "True",
        }

    def mark(self) -> int:
        """The number of provider lines received so far (pass it to :meth:`since`)."""
        with self._lock:
            return len(self._lines)

    def since(self, mark: int) -> list[str]:
        """The provider lines received after ``mark``."""
        with self._lock:
            return self._lines[mark:]

    def close(self) -> None:
        """Stop the thread and close the socket."""
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()

    def _drain(self) -> None:
        while not self._stop.is_set():
            try:
                packet = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            lines = [x for x in packet.decode(errors="replace").splitlines() if x.startswith(PREFIX)]
            if lines:
                with self._lock:
                    self._lines += lines
