"""Drop SSH connections at seeded random points with many SFTP channels in flight; count protocol errors.

Each round switches on one random drop (``SshFaults(drop_probability=...)``) on the embedded asyncssh
server while ``--channels`` workers read and write 1 MiB files over ``SftpEndpoint`` channels of
``--connections`` SSH connections, each reconnecting through ``retrying``. It prints one JSON line: drops,
reconnects, bytes verified, the server's ``protocol_errors()`` (connections that ended on a corrupt stream)
and how many ``Sending disconnect`` lines asyncssh logged for anything but a clean close. Both must be zero:
a MAC failure means bytes from elsewhere reached an SSH stream (or, before the fix, the server's own drop
raced asyncssh's parser). ``--busy N`` runs N busy-loop processes meanwhile (a loaded CI machine).

    uv run --frozen python scripts/ssh_drop_stress.py --rounds 60 --busy 2
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import logging
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from irods_provider.testing.sftp import EmbeddedSftpServer, SshFaults, airflow_connection_json

MIB = 1024 * 1024


class _DisconnectCounter(logging.Handler):
    """Counts asyncssh's ``Sending disconnect: <reason> (<code>)`` lines other than a clean close (11)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.reasons: collections.Counter[str] = collections.Counter()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "Sending disconnect:" in message and not message.endswith("(11)"):
            self.reasons[message.split("Sending disconnect:", 1)[1].strip()] += 1


@contextlib.contextmanager
def _busy(processes: int) -> Iterator[None]:
    """``processes`` busy loops (a loaded machine) while the block runs."""
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)]
    try:
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


def _round(sftp: Any, blob: bytes, channels: int, errors: collections.Counter[str]) -> int:
    """One round: half the workers read ``src.bin``, half write ``w<i>.bin``; bytes verified."""
    verified = collections.Counter[int]()

    def work(index: int) -> None:
        def run() -> None:
            with sftp.channel() as client:
                if index % 2:
                    with client.open(f"/w{index}.bin", "wb") as handle:
                        handle.set_pipelined(True)
                        for offset in range(0, len(blob), 32 * 1024):
                            handle.write(blob[offset : offset + 32 * 1024])
                    with client.open(f"/w{index}.bin", "rb") as handle:
                        if handle.read() != blob:
                            raise AssertionError(f"w{index}.bin differs after the write")
                else:
                    with client.open("/src.bin", "rb") as handle:
                        handle.prefetch()
                        if handle.read() != blob:
                            raise AssertionError("src.bin read back differs")
            verified[index] = len(blob)

        try:
            sftp.retrying(run, path=f"w{index}", retries=20)
        except Exception as exc:
            errors[f"{type(exc).__name__}: {exc}"] += 1

    workers = [threading.Thread(target=work, args=(i,)) for i in range(channels)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(verified.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=30, help="drops to inject (one per round)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--channels", type=int, default=8, help="workers (SFTP channels) per round")
    parser.add_argument("--connections", type=int, default=2, help="SSH connections of the endpoint")
    parser.add_argument("--busy", type=int, default=0, help="busy-loop processes running meanwhile")
    args = parser.parse_args(argv)

    counter = _DisconnectCounter()
    asyncssh_log = logging.getLogger("asyncssh")
    asyncssh_log.setLevel(logging.INFO)
    asyncssh_log.addHandler(counter)
    asyncssh_log.propagate = False
    errors: collections.Counter[str] = collections.Counter()
    started = time.monotonic()
    with EmbeddedSftpServer() as server, _busy(args.busy):
        os.environ["AIRFLOW_CONN_STRESS"] = airflow_connection_json(server)
        from airflow.providers.sftp.hooks.sftp import SFTPHook

        from irods_provider.sftp import SftpEndpoint

        blob = random.Random(args.seed).randbytes(MIB)
        (server.root / "src.bin").write_bytes(blob)
        verified = 0
        endpoint = SftpEndpoint(SFTPHook(ssh_conn_id="stress"), connections=args.connections, backoff=0.01)
        with endpoint as sftp:
            for index in range(args.rounds):
                faults = SshFaults(seed=args.seed * 1000 + index, drop_probability=0.02, max_drops=1)
                server.inject(faults)
                verified += _round(sftp, blob, args.channels, errors)
                server.inject()
        deadline = time.monotonic() + 10
        while server.connection_stats()["open"] and time.monotonic() < deadline:
            time.sleep(0.01)  # the server ends the connections it cut (bounded)
        result = {
            "rounds": args.rounds,
            "drops": server.injected_faults().get("drops", 0),
            "reconnects": endpoint.reconnects,
            "bytes_verified": verified,
            "client_errors": dict(errors),
            "server_protocol_errors": server.protocol_errors(),
            "asyncssh_error_disconnects_logged": dict(counter.reasons),
            "seconds": round(time.monotonic() - started, 1),
        }
    print(json.dumps(result))
    clean = not errors and not result["server_protocol_errors"] and not counter.reasons
    return 0 if clean else 1


if __name__ == "__main__":
    raise SystemExit(main())
