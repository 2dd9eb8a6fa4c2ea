"""Benchmark: CPU per GiB of SFTP bulk data, paramiko's default cipher vs AES-GCM (client + sshd).

A task's SSH connections use AES-GCM when the server offers it (first in their cipher preferences before
their first key exchange: :func:`irods_provider.sftp._tcp.tuned_handshakes`); this measures what that
saves, against Debian's sshd on loopback: ``--size-mib`` written over 4 connections (the parallel writer, as
a staged download writes) and read back over one (a range reader), each round once with the cipher
paramiko negotiates and once with the preference production sets, interleaved. CPU is this process's
(every thread) plus every sshd session process's, taken while the connections are still open. The written
file's SHA-256 is checked. Prints JSON and updates the "SFTP ciphers" section of
``benchmarks/RESULTS.md``. Ratios from one run on a shared machine; CPU seconds are less sensitive to the
load than wall time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from irods_provider.sftp._io import AEAD_CIPHERS, open_sftp_channels, open_sftp_reader, open_sftp_writer
from irods_provider.sftp._parallel import ParallelSftpWriter
from irods_provider.sftp._tcp import tuned_handshakes
from irods_provider.testing._sshd import OpenSshServer
from irods_provider.testing.sftp import paramiko_client

MIB = 1024 * 1024
CHUNK = 8 * MIB
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SECTION = "## SFTP ciphers"


def _sshd_cpu(server: OpenSshServer) -> float:
    """CPU seconds of the sshd listener's descendants alive now (the session processes do the crypto)."""
    total = 0.0
    for child in psutil.Process(server._proc.pid).children(recursive=True):  # type: ignore[union-attr]
        try:
            times = child.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            continue
    return total


def round_trip(
    server: OpenSshServer, sftps: list[Any], path: str, data: bytes, size: int, name: str
) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """Write ``size`` bytes (``data`` repeated) to ``path`` over every session (a parallel writer), then read
    them back over the second; each as (client CPU s, sshd CPU s, wall s). The bytes are checked at both
    ends (``name`` names the run in the failure)."""
    sshd, cpu, wall = _sshd_cpu(server), time.process_time(), time.perf_counter()
    first = open_sftp_writer(sftps[0], path)
    writer = ParallelSftpWriter(first, [s.open(path, "r+b", bufsize=0) for s in sftps[1:]])
    for _ in range(size // CHUNK):
        writer.write(data)
    writer.close()
    write = (time.process_time() - cpu, _sshd_cpu(server) - sshd, time.perf_counter() - wall)
    sshd, cpu, wall = _sshd_cpu(server), time.process_time(), time.perf_counter()
    digest = hashlib.sha256()
    with open_sftp_reader(sftps[1], path) as reader:
        while block := reader.read(CHUNK):
            digest.update(block)
    read = (time.process_time() - cpu, _sshd_cpu(server) - sshd, time.perf_counter() - wall)
    expected = hashlib.sha256(data * (size // CHUNK)).hexdigest()
    if digest.hexdigest() != expected or hashlib.sha256(Path(path).read_bytes()).hexdigest() != expected:
        raise SystemExit(f"the {name} round trip did not return the bytes written")
    return write, read


def _one(server: OpenSshServer, data: bytes, size: int, gcm: bool, name: str) -> dict[str, Any]:
    with tuned_handshakes(prefer_aead=gcm):
        clients = [paramiko_client(server) for _ in range(4)]
    try:
        transports = [c.get_transport() for c in clients]
        if gcm and not all(t.local_cipher in AEAD_CIPHERS for t in transports):  # type: ignore[union-attr]
            raise SystemExit("the server did not agree to AES-GCM")
        sftps = [open_sftp_channels(t, 1)[0] for t in transports]  # type: ignore[arg-type]
        path = f"{server.root}/{name}"
        write, read = round_trip(server, sftps, path, data, size, name)
        cipher = transports[1].remote_cipher  # type: ignore[union-attr]
    finally:
        for client in clients:
            client.close()
    os.unlink(path)
    gib = size / (1024 * MIB)
    return {
        "cipher": cipher,
        "write": [round(write[0] / gib, 2), round(write[1] / gib, 2)],
        "read": [round(read[0] / gib, 2), round(read[1] / gib, 2)],
        "write_mb_s": round(size / MIB / write[2], 1),
        "read_mb_s": round(size / MIB / read[2], 1),
    }


def interleaved(
    one: Callable[[OpenSshServer, bytes, int, bool, str], dict[str, Any]], size: int, rounds: int, prefix: str
) -> dict[bool, list[dict[str, Any]]]:
    """``rounds`` rounds on one server, each running ``one`` without, then with, the change measured: each
    side's samples in round order (pairs share a round)."""
    data = os.urandom(CHUNK)
    samples: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
    with OpenSshServer() as server:
        for i in range(rounds):
            for on in (False, True):
                samples[on].append(one(server, data, size, on, f"{prefix}-{i}-{int(on)}.bin"))
    return samples


def cpu_of(row: dict[str, Any], key: str, part: int | None = None) -> float:
    """``key``'s CPU seconds per GiB in one ``row``: client (``part`` 0), sshd (1) or both (None)."""
    return float(sum(row[key]) if part is None else row[key][part])


def cpu_median(rows: list[dict[str, Any]], key: str, part: int | None = None) -> float:
    """The median over ``rows`` of :func:`cpu_of`."""
    return round(statistics.median(cpu_of(r, key, part) for r in rows), 2)


def run(size: int, rounds: int) -> dict[str, Any]:
    samples = interleaved(_one, size, rounds, "bench")

    def median(gcm: bool, key: str, part: int | None = None) -> float:
        return cpu_median(samples[gcm], key, part)

    result: dict[str, Any] = {
        "size_mib": size // MIB,
        "rounds": rounds,
        "ciphers": [samples[False][0]["cipher"], samples[True][0]["cipher"]],
        "load_average": list(os.getloadavg()),
    }
    for key in ("write", "read"):
        for gcm, label in ((False, "default"), (True, "gcm")):
            result[f"{key}_cpu_s_per_gib_{label}"] = {
                "client": median(gcm, key, 0),
                "sshd": median(gcm, key, 1),
                "both": median(gcm, key),
            }
        result[f"{key}_cpu_gcm_over_default"] = round(median(True, key) / median(False, key), 2)
    return result


def record(result: dict[str, Any]) -> None:
    """Replace (or append) this benchmark's section of RESULTS.md, leaving other sections intact."""
    rows = []
    for key, how in (("write", "written over 4 connections"), ("read", "read over 1 connection")):
        for label, cipher in (("default", result["ciphers"][0]), ("gcm", result["ciphers"][1])):
            cpu = result[f"{key}_cpu_s_per_gib_{label}"]
            rows.append(f"| {how} | {cipher} | {cpu['client']} | {cpu['sshd']} | {cpu['both']} |")
    body = (
        f"{SECTION}\n\n"
        f"`python benchmarks/sftp_ciphers.py --size-mib {result['size_mib']} --rounds {result['rounds']}` "
        f"({time.strftime('%Y-%m-%d')}, load average {result['load_average'][0]:.2f}): CPU seconds per GiB "
        "against Debian's sshd on loopback, medians of interleaved rounds. A task's SSH connections use "
        "AES-GCM when the server offers it (first in their cipher preferences before their first key "
        "exchange: `tuned_handshakes(prefer_aead=True)`).\n\n"
        "| data | cipher | client | sshd | both |\n|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
        f"AES-GCM over the default, both ends: written {result['write_cpu_gcm_over_default']}, "
        f"read {result['read_cpu_gcm_over_default']}.\n"
    )
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"{re.escape(SECTION)}\n.*?(?=\n## |\Z)", re.S)
    text = pattern.sub(body.rstrip("\n"), text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + body
    RESULTS.write_text(text.rstrip("\n") + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-record", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args()
    reason = OpenSshServer.unavailable_reason()
    if reason is not None:
        raise SystemExit(f"needs Debian's sshd: {reason}")
    result = run(args.size_mib * MIB - (args.size_mib * MIB) % CHUNK or CHUNK, args.rounds)
    print(json.dumps(result))
    if not args.no_record:
        record(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
