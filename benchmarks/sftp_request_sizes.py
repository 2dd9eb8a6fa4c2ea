"""Benchmark: CPU per GiB of SFTP bulk data with the requests sized by the server's ``limits@openssh.com``
answer (261120 bytes against sshd) vs the fixed 128 KiB used before (client + sshd).

Against Debian's sshd on loopback, AES-GCM (production's preference): ``--size-mib`` written over 4
connections (the parallel writer, as a staged download writes) and read back over one (a range reader),
each round once with the limits ignored (each session as if its server told none: 128 KiB requests) and
once as production sizes them, interleaved. CPU is this process's (every thread) plus every sshd session
process's, taken while the connections are still open. The written file's SHA-256 is checked. Prints JSON
(no RESULTS.md section: ratios from one run on a shared machine; CPU seconds are less sensitive to the load
than wall time).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from typing import Any

import paramiko
from sftp_ciphers import cpu_median, cpu_of, interleaved, round_trip

from irods_provider.sftp._io import open_sftp_channels
from irods_provider.sftp._session import _LimitsAnswer, read_request_size, write_request_size
from irods_provider.sftp._tcp import tuned_handshakes
from irods_provider.testing._sshd import OpenSshServer
from irods_provider.testing.sftp import paramiko_client

MIB = 1024 * 1024
CHUNK = 8 * MIB


def _sessions(server: OpenSshServer, limits: bool) -> tuple[list[paramiko.SSHClient], list[Any]]:
    with tuned_handshakes(prefer_aead=True):
        clients = [paramiko_client(server) for _ in range(4)]
    sftps: list[Any] = [open_sftp_channels(c.get_transport(), 1)[0] for c in clients]  # type: ignore[arg-type]
    for sftp in sftps:
        sftp.stat(".")  # the limits answer is read with the first answer
        if not limits:
            sftp._limits = _LimitsAnswer()  # never answered: as a server that tells none
    return clients, sftps


def _one(server: OpenSshServer, data: bytes, size: int, limits: bool, name: str) -> dict[str, Any]:
    clients, sftps = _sessions(server, limits)
    path = f"{server.root}/{name}"
    try:
        sizes = [write_request_size(sftps[0]), read_request_size(sftps[1])]
        write, read = round_trip(server, sftps, path, data, size, name)
    finally:
        for client in clients:
            client.close()
        os.unlink(path)
    gib = size / (1024 * MIB)
    return {
        "request_sizes": sizes,
        "write": [write[0] / gib, write[1] / gib],
        "read": [read[0] / gib, read[1] / gib],
        "write_mb_s": size / MIB / write[2],
        "read_mb_s": size / MIB / read[2],
    }


def run(size: int, rounds: int) -> dict[str, Any]:
    samples = interleaved(_one, size, rounds, "sizes")

    def median(limits: bool, key: str, part: int | None = None) -> float:
        return cpu_median(samples[limits], key, part)

    result: dict[str, Any] = {
        "size_mib": size // MIB,
        "rounds": rounds,
        "request_sizes_write_read": {
            "fixed": samples[False][0]["request_sizes"],
            "limits": samples[True][0]["request_sizes"],
        },
        "load_average": list(os.getloadavg()),
    }
    for key in ("write", "read"):
        for limits, label in ((False, "fixed"), (True, "limits")):
            result[f"{key}_cpu_s_per_gib_{label}"] = {
                "client": median(limits, key, 0),
                "sshd": median(limits, key, 1),
                "both": median(limits, key),
                "mb_s": round(statistics.median(r[f"{key}_mb_s"] for r in samples[limits]), 1),
            }
        for part, who in ((0, "client"), (1, "sshd"), (None, "both")):
            pairs = zip(samples[False], samples[True], strict=True)
            ratios = [cpu_of(after, key, part) / cpu_of(before, key, part) for before, after in pairs]
            result[f"{key}_cpu_limits_over_fixed_{who}"] = [round(r, 2) for r in ratios]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    reason = OpenSshServer.unavailable_reason()
    if reason is not None:
        raise SystemExit(f"needs Debian's sshd: {reason}")
    print(json.dumps(run(args.size_mib * MIB - (args.size_mib * MIB) % CHUNK or CHUNK, args.rounds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
