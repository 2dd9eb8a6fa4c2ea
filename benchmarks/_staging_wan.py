"""``staging.py --wan``: both legs behind the WAN model, loopback CPU per GiB, and the download RSS ratio.

WAN: the OpenSSH server and the emulator each sit behind :class:`WanProxy` (30 ms RTT, 512 KiB in flight per
TCP connection and direction, 1 Gbit/s shared link), so one TCP connection carries at most ~17 MB/s. Every
operation runs in its own process (see ``staging.py``). Ratios:

- ``wan_sftp_to_irods_over_openssh_sftp``: SFTPToIrodsOperator (default ``sftp_connections``) / OpenSSH's
  ``sftp get`` to local disk (one connection) through the same model
- ``wan_sftp_to_irods_over_min_leg``: the operator / slower of (SFTP parallel read over the same number of
  SSH connections, iRODS ``upload_object`` with its default streams and checksum verification)
- ``wan_irods_to_sftp_over_min_leg``: IrodsToSFTPOperator / slower of (iRODS read + verify over the
  streams the operator reads with, 4 by default, SFTP parallel write over the same connections)
- ``wan_over_two_step``: the operator / (SFTP download to a local file, then upload it), with its bound
  1 + slower/faster leg
- ``*_marginal``: the same ratios from streaming rates without each operation's fixed cost: MB/s between a
  4 MiB run (once, before the rounds) and each round's full-size run of the same operation and connection
  count (on a 30 ms path an operator spends 1.5-2 s on handshakes, planning and the iRODS round trips
  around the bytes)
- ``*_site_streams_8``: the same against a second emulator configured like a site that raised the server's
  ``max_number_of_streams_per_parallel_write_handle`` from its default 3 to 8, the operator and the iRODS
  write leg asked for 8 streams (``streams=8``; the client never uses more than ``/info`` advertises); the
  SFTP side and OpenSSH are the same as above
- ``wan_sftp_to_irods_over_min_leg_run_together``, ``wan_irods_to_sftp_over_min_leg_run_together``: the
  operator / the slower leg when both legs run at the same time in two processes (what the shared machine
  gives both legs at once: separates the pipeline's own losses from CPU contention)

Every WAN ratio is paired per round: the run goes through ``--rounds`` rounds (3 by default), and each
round runs every operation once, back to back in blocks of an operator and what its ratios compare it with
(the upload, its two legs and OpenSSH; the download and its legs; the upload over one connection and the
two-step copy; the site's upload and iRODS leg; the legs run together), blocks and the runs within each
block rotated between rounds so no run is always first (``wan_round_orders``). Each ratio is computed
within each round, never across rounds (the goal ratios within one block: an operator and its legs under a
minute apart); the figure is the median of the rounds' ratios, ``<ratio>_range`` their min-max and
``wan_ratios_rounds`` every round's value. ``wan_mb_s`` holds each rate's median over the rounds (a ratio
of two medians need not equal the median ratio), ``wan_mb_s_rounds`` every round's rate, in round order.
Until the eighteenth session each rate was the best of two runs made minutes apart (see the notes).
``wan_phases``: each operator once more on 4 MiB and on the full size with every round trip traced (HTTP
requests, blocking SFTP requests, SSH connections) and the wall time of its phases, in ms (the full timeline
is in the JSON: ``wan_phases_timeline``).

Loopback (no proxy, every leg CPU-bound): ``cpu_seconds_per_gib`` of staging vs the two legs alone, counting
the CPU time of the client process (all threads, from ``time.process_time`` around the operation only: no
interpreter start-up or imports), every sshd process (the listener and all session processes, including
those orphaned before they end: see ``_ServerCpu``) and the emulator process. ``cpu_*_over_legs`` compare
the marginal cost per GiB streamed (CPU at the full size minus CPU of the same operation on 4 MiB, which
stands for the fixed per-task cost: SSH handshakes, planning, Airflow and lineage bookkeeping);
``*_with_fixed_costs`` divide the whole CPU by the size. Every operation runs in ``--rounds`` interleaved
rounds (``cpu_repeat``): the ratios are the median of the rounds' ratios, ``*_range`` their spread,
``cpu_seconds_per_gib`` medians (min-max). ``cpu_down_sha256_pinned_over_legs``: IrodsToSFTPOperator told
the zone's scheme (``checksum_scheme="sha256"``), so it hashes SHA-256 only, like the iRODS read leg; unset,
a fresh process does not know the scheme before its first verification and hashes MD5 too.
``rss_ratio_4g_over_256m_down``: peak RSS of IrodsToSFTPOperator on 4 GiB / 256 MiB (each in its own
process, default ``sftp_connections``: 6 for both sizes). ``wan_sftp_connections`` (uploads) and
``wan_sftp_connections_down`` (6 each at 256 MiB): the operators' automatic counts, which the SFTP legs use
too.
"""

from __future__ import annotations

import ctypes
import datetime
import json
import os
import shutil
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
from _wanproxy import WanProxy
from staging import (
    CHECKSUM_ENV,
    MIB,
    ROOT,
    STREAMS_ENV,
    _upload_object,
    emulator,
    make_file,
    measure,
    openssh_get,
)

RTT = 0.030
WINDOW = 512 * 1024
LINK = 125e6  # 1 Gbit/s shared by all connections of a direction
GIB = 1024 * MIB
SMALL = 4 * MIB  # the size whose CPU stands for an operation's fixed cost
ROUNDS = 3  # interleaved rounds of every WAN and loopback CPU operation: medians of per-round ratios
_PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>
SITE_STREAMS = 8  # a site's max_number_of_streams_per_parallel_write_handle (the server's default is 3)


def wan_proxy(port: int) -> WanProxy:
    return WanProxy("127.0.0.1", port, rtt=RTT, bandwidth=1e9, window=WINDOW, link_bandwidth=LINK)


def check_model(nbytes: int = 16 * MIB) -> dict[str, float]:
    """MB/s through the model over one TCP connection and over two at once (each): the window must cap
    each connection near window / RTT, and two connections must get about twice as much."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def sink() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=_drain, args=(conn,), daemon=True).start()

    threading.Thread(target=sink, daemon=True).start()
    try:
        with wan_proxy(port) as proxy:
            one = _send_through(proxy.port, nbytes, 1)
            two = _send_through(proxy.port, nbytes, 2)
    finally:
        listener.close()
    return {
        "one_connection_mb_s": round(one, 1),
        "each_of_two_connections_mb_s": round(two, 1),
        "window_over_rtt_mb_s": round(WINDOW / RTT / 1e6, 1),
    }


def _drain(conn: socket.socket) -> None:
    """Receive an 8-byte length, then that many bytes; answer one byte once all arrived."""
    with conn:
        header = b""
        while len(header) < 8:
            header += conn.recv(8 - len(header))
        left = int.from_bytes(header, "big")
        while left > 0 and (data := conn.recv(min(left, 1 << 20))):
            left -= len(data)
        conn.sendall(b"k")  # the sender stops its clock on this answer


def _send_through(port: int, nbytes: int, connections: int) -> float:
    """Per-connection MB/s of ``connections`` senders of ``nbytes`` each (until the receiver has it all)."""
    payload = nbytes.to_bytes(8, "big") + os.urandom(nbytes)
    seconds: list[float] = []

    def send() -> None:
        with socket.create_connection(("127.0.0.1", port)) as s:
            start = time.perf_counter()
            s.sendall(payload)
            s.recv(1)
            seconds.append(time.perf_counter() - start)

    threads = [threading.Thread(target=send) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return nbytes / max(seconds) / 1e6


def _envs(work: Path, server: Any, irods_port: int, sftp_port: int) -> dict[str, str]:
    from irods_provider.testing.sftp import airflow_connection_json

    sftp = json.loads(airflow_connection_json(server))
    sftp["port"] = sftp_port
    return {
        **os.environ,
        "AIRFLOW_HOME": str(work / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "IRODS_PROVIDER_STATE_DIR": str(work / "state"),
        # Each operation a fresh process that learns no scheme from earlier ones, as in the earlier runs
        # (what keeping it saves is measured by scheme_cache.py).
        "IRODS_PROVIDER_CHECKSUM_SCHEME_CACHE": "off",
        "AIRFLOW_CONN_IRODS_DEFAULT": f"irods://rods:rods-emulator@127.0.0.1:{irods_port}/http?zone=tempZone",
        "AIRFLOW_CONN_BENCH_SFTP": json.dumps(sftp),
    }


class _ServerCpu:
    """CPU seconds of sshd (the listener and every session process) and the emulator process.

    sshd's session processes are mostly orphaned before they end (the privileged monitor exits without
    waiting for the user's session process, which does the crypto and the SFTP work), so their CPU never
    reaches the listener's children's times and is lost to init: counted that way, writing 256 MiB over four
    SSH connections cost sshd 0.09 s, and which sessions were counted varied from run to run. This process
    therefore becomes a child subreaper (Linux ``prctl``): orphans are re-parented here, and :meth:`total`
    reaps them with ``wait4`` and adds their CPU (with that of the children they reaped).
    """

    def __init__(self, sshd_pid: int, emulator_port: int) -> None:
        self.sshd = psutil.Process(sshd_pid)
        me = psutil.Process()
        self.emulator = next(
            p
            for p in me.children(recursive=True)
            if "irods_provider.testing" in (line := " ".join(p.cmdline()))
            and f"--port {emulator_port}" in line
        )
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")
        self.orphans = 0.0  # CPU seconds of the sshd session processes reaped here

    def _reap_orphans(self) -> int:
        """Reap the sshd processes re-parented here that ended; how many are still running."""
        running = 0
        for child in psutil.Process().children():
            try:
                if child.pid in (self.sshd.pid, self.emulator.pid) or child.name() != "sshd":
                    continue
                ended = child.status() == psutil.STATUS_ZOMBIE
            except psutil.Error:
                continue
            if not ended:
                running += 1
                continue
            pid, _, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                self.orphans += usage.ru_utime + usage.ru_stime

        return running

    def total(self) -> float:
        deadline = time.monotonic() + 10
        while (self.sshd.children() or self._reap_orphans()) and time.monotonic() < deadline:
            time.sleep(0.05)  # sessions still ending
        s, e = self.sshd.cpu_times(), self.emulator.cpu_times()
        listener = s.user + s.system + s.children_user + s.children_system
        return listener + self.orphans + e.user + e.system


def _cpu(env: dict[str, str], servers: _ServerCpu, op: str, size: int, arg: str = "", n: int = 0) -> float:
    """CPU seconds of one ``op`` of ``size`` bytes: the client process plus the servers."""
    before = servers.total()
    result = measure(env, op, size, arg, connections=n)
    return float(result["cpu_seconds"]) + servers.total() - before


def _per_gib(
    env: dict[str, str], servers: _ServerCpu, op: str, size: int, args: tuple[str, str], n: int = 0
) -> tuple[float, float]:
    """(CPU seconds per GiB of ``op`` on ``size`` bytes, the same without its fixed per-task cost).

    The fixed cost (connections, planning, checksums of an empty task, lineage) is the CPU of the same op
    on ``SMALL`` bytes; the second figure is the marginal cost per GiB streamed between the two sizes.
    """
    big = _cpu(env, servers, op, size, args[0], n)
    small = _cpu(env, servers, op, SMALL, args[1], n)
    return big / (size / GIB), (big - small) / ((size - SMALL) / GIB)


def auto_counts(size: int) -> tuple[int, int]:
    """The operators' automatic SSH connection counts for one file of ``size`` bytes: (upload, download)."""
    from irods_provider.client.transfer import TransferConfig
    from irods_provider.transfers._staging import auto_connections, irods_requests_in_flight

    config = TransferConfig()
    up = auto_connections([size], irods_connections=irods_requests_in_flight(config, upload=True))
    down = auto_connections([size], irods_connections=irods_requests_in_flight(config, upload=False))
    return up, down


#: One measurement of a round: the ``wan_mb_s`` names it yields (two for legs run at once) and the run.
Measurement = tuple[tuple[str, ...], Callable[[], list[float]]]

#: Each paired ``wan_*`` ratio: (operator, its legs...) as names of ``wan_mb_s``; per round the operator's
#: rate over the slower of its legs (or over the one), the figure the median of the rounds' ratios.
_WAN_RATIOS: dict[str, tuple[str, ...]] = {
    "wan_sftp_to_irods_over_openssh_sftp": ("sftp_to_irods", "openssh_sftp_get"),
    "wan_sftp_to_irods_over_min_leg": ("sftp_to_irods", "sftp_read_alone", "irods_write_alone"),
    "wan_irods_to_sftp_over_min_leg": ("irods_to_sftp", "irods_read_alone", "sftp_write_alone"),
    "wan_over_two_step": ("sftp_to_irods", "two_step"),
    "wan_1_connection_over_openssh_sftp": ("sftp_to_irods_1_connection", "openssh_sftp_get"),
    f"wan_sftp_to_irods_over_openssh_sftp_site_streams_{SITE_STREAMS}": (
        f"sftp_to_irods_site_streams_{SITE_STREAMS}",
        "openssh_sftp_get",
    ),
    f"wan_irods_write_alone_over_openssh_sftp_site_streams_{SITE_STREAMS}": (
        f"irods_write_alone_site_streams_{SITE_STREAMS}",
        "openssh_sftp_get",
    ),
    f"wan_sftp_to_irods_over_min_leg_site_streams_{SITE_STREAMS}": (
        f"sftp_to_irods_site_streams_{SITE_STREAMS}",
        "sftp_read_alone",
        f"irods_write_alone_site_streams_{SITE_STREAMS}",
    ),
    # The same legs run at the same time in two processes: what the machine gives both at once.
    "wan_sftp_to_irods_over_min_leg_run_together": (
        "sftp_to_irods",
        "sftp_read_with_irods_write_at_once",
        "irods_write_with_sftp_read_at_once",
    ),
    "wan_irods_to_sftp_over_min_leg_run_together": (
        "irods_to_sftp",
        "irods_read_with_sftp_write_at_once",
        "sftp_write_with_irods_read_at_once",
    ),
}
#: The ratios of streaming rates without each operation's fixed cost (names of ``wan_mb_s_marginal``).
_MARGINAL_RATIOS: dict[str, tuple[str, ...]] = {
    "wan_sftp_to_irods_over_openssh_sftp_marginal": ("sftp_to_irods", "openssh_sftp_get"),
    "wan_sftp_to_irods_over_min_leg_marginal": ("sftp_to_irods", "sftp_read_alone", "irods_write_alone"),
    "wan_irods_to_sftp_over_min_leg_marginal": ("irods_to_sftp", "irods_read_alone", "sftp_write_alone"),
}


def _wan_blocks(
    envs: tuple[dict[str, str], dict[str, str]],
    via: Any,
    size: int,
    work: Path,
    paths: tuple[str, str],
    counts: tuple[int, int],
) -> list[list[Measurement]]:
    """Every WAN measurement of one round, in blocks of an operator and what its ratios compare it with.

    ``envs``: the zone's and the site's (``SITE_STREAMS``); ``paths``: the SFTP source and the iRODS object;
    ``counts``: SSH connections of the upload's and the download's SFTP legs (the operators' automatic ones).
    """
    env, site_env = envs
    src, obj = paths
    n, n_down = counts

    def rate(
        op_env: dict[str, str], op: str, arg: str = "", connections: int = 0
    ) -> Callable[[], list[float]]:
        return lambda: [measure(op_env, op, size, arg, connections=connections)["mb_s"]]

    def openssh() -> list[float]:
        return [size / openssh_get(via, src, size, work) / 1e6]

    def together_up() -> list[float]:
        return _together(env, ("sftp_read_n", size, src, n), ("irods_upload", size, "", 0))

    def together_down() -> list[float]:
        return _together(env, ("irods_read_verify", size, obj, 0), ("sftp_write_n", size, "", n_down))

    site = f"site_streams_{SITE_STREAMS}"
    return [
        [
            (("sftp_to_irods",), rate(env, "stage_up", src)),
            (("sftp_read_alone",), rate(env, "sftp_read_n", src, n)),
            (("irods_write_alone",), rate(env, "irods_upload")),
            (("openssh_sftp_get",), openssh),
        ],
        [
            (("irods_to_sftp",), rate(env, "stage_down", obj)),
            (("irods_read_alone",), rate(env, "irods_read_verify", obj)),
            (("sftp_write_alone",), rate(env, "sftp_write_n", "", n_down)),
        ],
        [
            (("sftp_to_irods_1_connection",), rate(env, "stage_up", src, 1)),
            (("two_step",), rate(env, "two_step_n", src, n)),
        ],
        [
            ((f"sftp_to_irods_{site}",), rate(site_env, "stage_up", src)),
            ((f"irods_write_alone_{site}",), rate(site_env, "irods_upload")),
        ],
        [
            (("sftp_read_with_irods_write_at_once", "irods_write_with_sftp_read_at_once"), together_up),
            (("irods_read_with_sftp_write_at_once", "sftp_write_with_irods_read_at_once"), together_down),
        ],
    ]


def _rotated(items: list[Any], k: int) -> list[Any]:
    """``items`` rotated left by ``k``: round k starts with the k-th, so no run is always first."""
    i = k % len(items)
    return items[i:] + items[:i]


def _run_rounds(blocks: list[list[Measurement]], rounds: int) -> tuple[dict[str, list[float]], list[str]]:
    """Run every measurement once per round, blocks and the runs within each block rotated between rounds;
    (each rate's values in round order, each round's order)."""
    rates: dict[str, list[float]] = {}
    orders = []
    for k in range(rounds):
        order = []
        for block in _rotated(blocks, k):
            for names, run in _rotated(block, k):
                for name, value in zip(names, run(), strict=True):
                    rates.setdefault(name, []).append(value)
                order.append(" + ".join(names))
        orders.append(", ".join(order))
    return rates, orders


def paired_ratios(
    rates: dict[str, list[float]], table: dict[str, tuple[str, ...]]
) -> tuple[dict[str, Any], dict[str, list[float]]]:
    """Each ratio of ``table`` per round (the operator over the slower of its legs measured in the same
    round), the median of the rounds' ratios as the figure and ``<key>_range`` (min-max) beside it;
    also the per-round ratios."""
    figures: dict[str, Any] = {}
    per_round: dict[str, list[float]] = {}
    for key, (staged, *legs) in table.items():
        values = [rate / min(rates[leg][i] for leg in legs) for i, rate in enumerate(rates[staged])]
        per_round[key] = [round(v, 3) for v in values]
        figures[key] = round(statistics.median(values), 2)
        figures[f"{key}_range"] = f"{min(values):.2f}-{max(values):.2f}"
    return figures, per_round


def _fixed_seconds(
    env: dict[str, str], via: Any, work: Path, small: tuple[str, str], counts: tuple[int, int]
) -> dict[str, float]:
    """Seconds of each operation whose marginal rate is reported on ``SMALL`` bytes (once, before the
    rounds): its fixed cost (SSH handshakes, planning, the iRODS round trips before and after the bytes)."""
    src, obj = small
    n, n_down = counts
    ops = {
        "sftp_to_irods": ("stage_up", src, n),
        "sftp_read_alone": ("sftp_read_n", src, n),
        "irods_write_alone": ("irods_upload", "", 0),
        "irods_to_sftp": ("stage_down", obj, n_down),
        "irods_read_alone": ("irods_read_verify", obj, 0),
        "sftp_write_alone": ("sftp_write_n", "", n_down),
    }
    fixed = {
        name: measure(env, op, SMALL, arg, connections=c)["seconds"] for name, (op, arg, c) in ops.items()
    }
    fixed["openssh_sftp_get"] = openssh_get(via, src, SMALL, work)
    return fixed


def _marginal(rates: dict[str, list[float]], fixed: dict[str, float], size: int) -> dict[str, list[float]]:
    """Per round, MB/s between the ``SMALL`` run and that round's full-size run of each operation."""
    return {
        name: [(size - SMALL) / (size / rate / 1e6 - seconds) / 1e6 for rate in rates[name]]
        for name, seconds in fixed.items()
    }


def _wan_figures(
    envs: tuple[dict[str, str], dict[str, str]],
    server: Any,
    proxy_port: int,
    size: int,
    work: Path,
    rounds: int,
) -> dict[str, Any]:
    """Every WAN throughput figure from ``rounds`` interleaved rounds: per-round ratios, their medians and
    spreads, each rate's median and its value in every round."""
    counts = auto_counts(size)
    known = server.known_hosts_line.replace(f"]:{server.port} ", f"]:{proxy_port} ")
    via = _via(server, proxy_port, known)
    small = (make_file(server, "wan-small.bin", SMALL), _upload_object(envs[0], SMALL))
    fixed = _fixed_seconds(envs[0], via, work, small, counts)
    paths = (make_file(server, "wan-src.bin", size), _upload_object(envs[0], size))
    started = time.monotonic()
    rates, orders = _run_rounds(_wan_blocks(envs, via, size, work, paths, counts), rounds)
    seconds = time.monotonic() - started
    marginal = _marginal(rates, fixed, size)
    figures, per_round = paired_ratios(rates, _WAN_RATIOS)
    marginal_figures, marginal_rounds = paired_ratios(marginal, _MARGINAL_RATIOS)
    legs = [(rates["sftp_read_alone"][i], rates["irods_write_alone"][i]) for i in range(rounds)]
    bounds = [1 + min(pair) / max(pair) for pair in legs]
    per_round["wan_over_two_step_bound"] = [round(b, 3) for b in bounds]
    return {
        "wan_sftp_connections": counts[0],
        "wan_sftp_connections_down": counts[1],
        "wan_rounds": rounds,
        **figures,
        "wan_over_two_step_bound": round(statistics.median(bounds), 2),
        "wan_over_two_step_bound_range": f"{min(bounds):.2f}-{max(bounds):.2f}",
        "wan_site_streams": SITE_STREAMS,
        **marginal_figures,
        "wan_rounds_seconds": round(seconds, 1),
        "wan_mb_s": {k: round(statistics.median(v), 1) for k, v in rates.items()},
        "wan_mb_s_marginal": {k: round(statistics.median(v), 1) for k, v in marginal.items()},
        "wan_mb_s_rounds": {k: [round(x, 1) for x in v] for k, v in rates.items()},
        "wan_ratios_rounds": {**per_round, **marginal_rounds},
        "wan_round_orders": {f"round {k + 1}": order for k, order in enumerate(orders)},
    }


def _together(env: dict[str, str], *ops: tuple[str, int, str, int]) -> list[float]:
    """MB/s of each op when all run at once, each in its own process."""
    rates: list[float] = [0.0] * len(ops)

    def one(i: int, op: str, size: int, arg: str, n: int) -> None:
        rates[i] = measure(env, op, size, arg, connections=n)["mb_s"]

    threads = [threading.Thread(target=one, args=(i, *op)) for i, op in enumerate(ops)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return rates


class _via:
    """``server`` as ``openssh_get`` sees it, but reached through the proxy port."""

    def __init__(self, server: Any, port: int, known_hosts_line: str) -> None:
        self._server = server
        self.port = port
        self.known_hosts_line = known_hosts_line

    def __getattr__(self, name: str) -> Any:
        return getattr(self._server, name)


def _loopback_figures(
    env: dict[str, str], server: Any, emulator_port: int, size: int, rss_large: int, rounds: int
) -> dict[str, Any]:
    objects = (_upload_object(env, 256 * MIB), _upload_object(env, rss_large))
    small = measure(env, "stage_down", 256 * MIB, objects[0])["rss_mib"]
    large = measure(env, "stage_down", rss_large, objects[1])["rss_mib"]
    # Diagnosis: glibc's dynamic mmap threshold off (big buffers always mmapped, never left in arenas).
    fixed = {**env, "MALLOC_MMAP_THRESHOLD_": str(MIB)}
    small_fixed = measure(fixed, "stage_down", 256 * MIB, objects[0])["rss_mib"]
    large_fixed = measure(fixed, "stage_down", rss_large, objects[1])["rss_mib"]
    return {
        **_cpu_figures(env, server, emulator_port, size, rounds),
        "rss_ratio_4g_over_256m_down": round(large / small, 3),
        "rss_ratio_4g_over_256m_down_glibc_mmap_threshold_1m": round(large_fixed / small_fixed, 3),
        "peak_rss_mib_down": {
            "256m": round(small, 1),
            f"{rss_large // MIB}m": round(large, 1),
            "256m_glibc_mmap_threshold_1m": round(small_fixed, 1),
            f"{rss_large // MIB}m_glibc_mmap_threshold_1m": round(large_fixed, 1),
        },
    }


#: (staged, leg, leg) of each ``cpu_*_over_legs`` ratio.
_CPU_RATIOS = {
    "cpu_up_over_legs": ("sftp_to_irods", "sftp_read_alone", "irods_write_alone"),
    "cpu_down_over_legs": ("irods_to_sftp", "irods_read_alone", "sftp_write_alone"),
    "cpu_down_sha256_pinned_over_legs": (
        "irods_to_sftp_sha256_pinned",
        "irods_read_alone",
        "sftp_write_alone",
    ),
}


def _cpu_figures(
    env: dict[str, str], server: Any, emulator_port: int, size: int, rounds: int
) -> dict[str, Any]:
    """CPU per GiB of each operation, ``rounds`` rounds interleaved; medians, and the ratios' spread."""
    n, n_down = auto_counts(size)
    servers = _ServerCpu(server._proc.pid, emulator_port)
    src = (make_file(server, "cpu-src.bin", size), make_file(server, "cpu-small.bin", SMALL))
    obj = (_upload_object(env, size), _upload_object(env, SMALL))
    none = ("", "")
    pinned = {**env, CHECKSUM_ENV: "sha256"}
    ops = {
        "sftp_to_irods": ("stage_up", src, n, env),
        "sftp_read_alone": ("sftp_read_n", src, n, env),
        "irods_write_alone": ("irods_upload", none, 0, env),
        "irods_to_sftp": ("stage_down", obj, n_down, env),
        "irods_to_sftp_sha256_pinned": ("stage_down", obj, n_down, pinned),
        "irods_read_alone": ("irods_read_verify", obj, 0, env),
        "sftp_write_alone": ("sftp_write_n", none, n_down, env),
    }
    raw: dict[str, list[float]] = {name: [] for name in ops}
    marginal: dict[str, list[float]] = {name: [] for name in ops}
    for _ in range(rounds):  # rounds interleaved, so a burst of load hits every operation alike
        for name, (op, args, count, op_env) in ops.items():
            whole, streamed = _per_gib(op_env, servers, op, size, args, count)
            raw[name].append(whole)
            marginal[name].append(streamed)
    out: dict[str, Any] = {}
    for key, (staged, a, b) in _CPU_RATIOS.items():
        for suffix, cpu in (("", marginal), ("_with_fixed_costs", raw)):
            ratios = [cpu[staged][i] / (cpu[a][i] + cpu[b][i]) for i in range(rounds)]
            out[f"{key}{suffix}"] = round(statistics.median(ratios), 3)
            out[f"{key}{suffix}_range"] = f"{min(ratios):.3f}-{max(ratios):.3f}"
    out["cpu_repeat"] = rounds
    out["cpu_seconds_per_gib"] = {k: _median_range(v) for k, v in marginal.items()}
    out["cpu_seconds_per_gib_with_fixed_costs"] = {k: _median_range(v) for k, v in raw.items()}
    return out


def _median_range(values: list[float]) -> str:
    """``median (min-max)``, two decimals."""
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


#: The traced runs of :func:`phases`: both operators and the upload's slower leg (the iRODS write alone).
PHASE_OPS = ("phases_up", "phases_down", "phases_irods_upload")


def phases(
    env: dict[str, str], server: Any, size: int = SMALL, ops: tuple[str, ...] = PHASE_OPS
) -> dict[str, Any]:
    """Both operators (and the upload's iRODS leg alone) on ``size`` bytes through the WAN model, each call
    traced (see ``_phases.py``): where the fixed cost of one task goes, with its round trips, beside the
    leg's."""
    import subprocess
    import sys

    src = make_file(server, "phases-src.bin", size)
    obj = _upload_object(env, size) if "phases_down" in ops else ""
    args = {"phases_up": src, "phases_down": obj, "phases_irods_upload": ""}
    out: dict[str, Any] = {}
    for op in ops:
        arg = args[op]
        done = subprocess.run(
            [
                sys.executable,
                str(ROOT / "benchmarks" / "staging.py"),
                "--child",
                op,
                "--size",
                str(size),
                "--arg",
                arg,
            ],
            env=env,
            cwd=ROOT,
            check=False,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode:
            raise SystemExit(done.stderr[-3000:])
        out[op] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def run_phases(size: int = SMALL, ops: tuple[str, ...] = PHASE_OPS) -> dict[str, Any]:
    """Only the traced runs of :func:`phases` (``ops``), behind the WAN model."""
    from irods_provider.testing.sftp import OpenSshServer

    work = Path(tempfile.mkdtemp(prefix="staging-phases-"))
    try:
        with (
            OpenSshServer() as server,
            emulator(work / "spool") as port,
            wan_proxy(server.port) as sftp_proxy,
            wan_proxy(port) as irods_proxy,
        ):
            return phases(_envs(work, server, irods_proxy.port, sftp_proxy.port), server, size, ops)
    finally:
        shutil.rmtree(work, ignore_errors=True)


_PHASES = {
    "ssh connect #0": "first SSH connection (TCP, key exchange, auth, SFTP channel; VERSION with the plan)",
    "phase irods hook.get_conn": "iRODS hook and session",
    "phase plan": "plan (stat, listing, destination)",
    "phase endpoint.widen": "more SSH connections (auto count)",
    "sftp channel x1": "SFTP channels for range readers/writers",
    "phase stream bytes": "bytes (until the last chunk is handed over)",
    "phase verify irods checksum": "iRODS checksum",
    "phase finalize + publish": "AVUs + rename (iRODS)",
    "phase publish (sftp rename)": "checks + rename (SFTP)",
    "phase lineage": "lineage",
}


def _phase_table(traced: dict[str, dict[str, Any]]) -> dict[str, str]:
    """One row per traced run: seconds, round trips, and the main phases (wall ms: parallel calls once)."""
    rows = {}
    for size, runs in traced.items():
        for op, run in runs.items():
            per = run["per_label"]
            parts = ", ".join(
                f"{text} {per[label]['wall'] * 1000:.0f}"
                + (f" (x{per[label]['calls']})" if per[label]["calls"] > 1 else "")
                for label, text in _PHASES.items()
                if label in per
            )
            rows[f"{op.removeprefix('phases_')}_{size}"] = (
                f"{run['seconds']} s; {run['http_requests']} HTTP requests, {run['sftp_blocking_requests']} "
                f"blocking SFTP requests, {run['ssh_connections']} SSH connections; ms: {parts}"
                + _ramp_text(run)
            )
    return rows


def _ramp_text(run: dict[str, Any]) -> str:
    """The traced run's write ramp (``_phases._write_ramp``), when it wrote to iRODS."""
    if run.get("first_write_ms") is None:
        return ""
    return (
        f"; first iRODS write at {run['first_write_ms']}, every write stream writing at "
        f"{run['all_streams_writing_ms']}, last write answered at {run['last_write_answered_ms']}"
    )


def run_wan(size: int, *, rss_large: int, rounds: int = ROUNDS) -> dict[str, Any]:
    """Every figure of ``--wan`` in one run."""
    from irods_provider.testing.sftp import OpenSshServer

    reason = OpenSshServer.unavailable_reason()
    if reason is not None:
        raise SystemExit(f"cannot run: {reason}")
    load_before = os.getloadavg()
    started = time.monotonic()
    model = check_model()
    work = Path(tempfile.mkdtemp(prefix="staging-wan-"))
    try:
        site_args = ("--streams-per-handle", str(SITE_STREAMS))
        with (
            OpenSshServer() as server,
            emulator(work / "spool") as port,
            emulator(work / "spool-site", *site_args) as site_port,
        ):
            with (
                wan_proxy(server.port) as sftp_proxy,
                wan_proxy(port) as irods_proxy,
                wan_proxy(site_port) as site_proxy,
            ):
                env = _envs(work, server, irods_proxy.port, sftp_proxy.port)
                site_env = {
                    **_envs(work, server, site_proxy.port, sftp_proxy.port),
                    STREAMS_ENV: str(SITE_STREAMS),
                }
                wan = _wan_figures((env, site_env), server, sftp_proxy.port, size, work, rounds)
                traced = {f"{n // MIB}mib": phases(env, server, n) for n in (SMALL, size)}
            loopback = _loopback_figures(
                _envs(work, server, port, server.port), server, port, size, rss_large, rounds
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "size_mib": size // MIB,
        "rss_large_mib": rss_large // MIB,
        **{k: v for k, v in wan.items() if not isinstance(v, dict)},
        **{k: v for k, v in loopback.items() if not isinstance(v, dict)},
        "wan_model": {"rtt_ms": RTT * 1000, "window_kib": WINDOW // 1024, "link_mb_s": LINK / 1e6, **model},
        **{k: v for k, v in wan.items() if isinstance(v, dict)},
        "cpu_seconds_per_gib": loopback["cpu_seconds_per_gib"],
        "cpu_seconds_per_gib_with_fixed_costs": loopback["cpu_seconds_per_gib_with_fixed_costs"],
        "peak_rss_mib_down": loopback["peak_rss_mib_down"],
        "wan_phases": _phase_table(traced),
        "wan_phases_timeline": traced,
        "load_average": {
            "before": [round(x, 2) for x in load_before],
            "after": [round(x, 2) for x in os.getloadavg()],
        },
        "seconds": round(time.monotonic() - started, 1),
    }


def write_wan_results(result: dict[str, Any]) -> None:
    """Add or rewrite the ``<!-- staging_wan -->`` section of RESULTS.md (the others are kept)."""
    rows = "\n".join(f"| `{k}` | {v} |" for k, v in result.items() if not isinstance(v, dict | list))
    result = {k: v for k, v in result.items() if k != "wan_phases_timeline"}
    tables = "\n\n".join(
        f"| {name} | value |\n| --- | --- |\n" + "\n".join(f"| {k} | {v} |" for k, v in result[name].items())
        for name in (
            "wan_model",
            "wan_mb_s",
            "wan_mb_s_marginal",
            "wan_mb_s_rounds",
            "wan_ratios_rounds",
            "wan_round_orders",
            "cpu_seconds_per_gib",
            "cpu_seconds_per_gib_with_fixed_costs",
            "peak_rss_mib_down",
            "wan_phases",
            "load_average",
        )
    )
    section = (
        "<!-- staging_wan -->\n## SFTP ↔ iRODS staging over a WAN model (`benchmarks/staging.py --wan`)\n\n"
        f"Run {datetime.date.today()}, {result['size_mib']} MiB per transfer, one run of "
        f"{result['wan_rounds']} interleaved rounds (every ratio within a round; the median and range of the "
        "rounds' ratios). "
        f"{__doc__.split(chr(10) + chr(10), 1)[1].strip().replace(':class:', '').replace('``', '`')}\n\n"
        f"{_before_table(result)}\n\n"
        f"| metric | value |\n| --- | --- |\n{rows}\n\n{tables}\n\n{_wan_notes(result)}\n<!-- staging_wan -->"
    )
    path = ROOT / "benchmarks" / "RESULTS.md"
    text = path.read_text()
    if "<!-- staging_wan -->" in text:
        head, _, rest = text.partition("<!-- staging_wan -->")
        _, _, tail = rest.partition("<!-- staging_wan -->")
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


#: The previous full run (2026-12-06, ninth session, load 0.3 at its start): two write requests per
#: parallel-write stream, 6 SSH connections up and 4 down, downloads over 4 ranged reads in byte order.
BEFORE: dict[str, Any] = {
    "wan_sftp_to_irods_over_openssh_sftp": 2.76,
    "wan_sftp_to_irods_over_min_leg": 0.91,
    "wan_irods_to_sftp_over_min_leg": 0.84,
    "wan_over_two_step": 1.65,
    "wan_over_two_step_bound": 1.72,
    "wan_1_connection_over_openssh_sftp": 0.95,
    "wan_sftp_to_irods_over_min_leg_run_together": 0.87,
    "wan_sftp_to_irods_over_openssh_sftp_marginal": 3.18,
    "wan_sftp_to_irods_over_min_leg_marginal": 1.01,
    "wan_irods_to_sftp_over_min_leg_marginal": 0.85,
    "cpu_up_over_legs": 0.964,
    "cpu_down_over_legs": 0.872,
    "rss_ratio_4g_over_256m_down": 1.018,
    "rss_ratio_4g_over_256m_down_glibc_mmap_threshold_1m": 1.016,
    "sftp_to_irods MB/s": 41.7,
    "sftp_read_alone MB/s": 64.1,
    "irods_write_alone MB/s": 46.1,
    "openssh_sftp_get MB/s": 15.1,
    "irods_to_sftp MB/s": 38.2,
    "irods_read_alone MB/s": 51.3,
    "sftp_write_alone MB/s": 45.4,
    "peak RSS 256 MiB down (MiB)": 235.2,
    "peak RSS 4 GiB down (MiB)": 239.4,
    "load_average before, after": "[0.3, 1.03, 1.35], [2.04, 1.83, 1.58]",
}


def _now(r: dict[str, Any], key: str) -> Any:
    """This run's value of a ``BEFORE`` key."""
    if key.endswith(" MB/s"):
        return r["wan_mb_s"][key.removesuffix(" MB/s")]
    if key.startswith("peak RSS"):
        return r["peak_rss_mib_down"]["256m" if "256" in key else f"{r['rss_large_mib']}m"]
    if key.startswith("load_average"):
        return f"{r['load_average']['before']}, {r['load_average']['after']}"
    return r[key]


def _before_table(r: dict[str, Any]) -> str:
    rows = "\n".join(f"| `{k}` | {v} | {_now(r, k)} |" for k, v in BEFORE.items())
    return f"| figure | ninth session's run | this run |\n| --- | --- | --- |\n{rows}"


def _goal(value: float, goal: float, *, at_most: bool = False) -> str:
    met = value <= goal if at_most else value >= goal
    return f"{value} ({'met' if met else 'not met'}: goal {'<=' if at_most else '>='} {goal})"


def _paired_goal(r: dict[str, Any], key: str, goal: float) -> str:
    """A paired ratio against its goal, with the range of its rounds."""
    return f"{_goal(r[key], goal)[:-1]}; rounds {r[f'{key}_range']})"


def _rounds_reading(r: dict[str, Any]) -> str:
    """Each goal ratio round by round beside the rates it compares, so a leg's drift shows in the leg."""
    ratios, rates = r["wan_ratios_rounds"], r["wan_mb_s_rounds"]

    def series(values: list[float]) -> str:
        return ", ".join(f"{v:.2f}" for v in values)

    def mb_s(name: str) -> str:
        return ", ".join(str(v) for v in rates[name])

    return (
        f"Round by round ({r['wan_rounds']} rounds, {r['wan_rounds_seconds']} s; orders in "
        f"`wan_round_orders`): upload over its min leg {series(ratios['wan_sftp_to_irods_over_min_leg'])} "
        f"(upload {mb_s('sftp_to_irods')} MB/s; iRODS write leg {mb_s('irods_write_alone')}, SFTP read leg "
        f"{mb_s('sftp_read_alone')}); download over its min leg "
        f"{series(ratios['wan_irods_to_sftp_over_min_leg'])} (download {mb_s('irods_to_sftp')}; iRODS read "
        f"leg {mb_s('irods_read_alone')}, SFTP write leg {mb_s('sftp_write_alone')}); upload over OpenSSH "
        f"{series(ratios['wan_sftp_to_irods_over_openssh_sftp'])} (OpenSSH {mb_s('openssh_sftp_get')})."
    )


def _together_reading(r: dict[str, Any]) -> str:
    """Whether the machine or the pipeline explains the gap to the legs measured alone."""
    alone = min(r["wan_mb_s"]["sftp_read_alone"], r["wan_mb_s"]["irods_write_alone"])
    rates = r["wan_mb_s"]
    together = min(rates["sftp_read_with_irods_write_at_once"], rates["irods_write_with_sftp_read_at_once"])
    if together >= 0.9 * alone:
        return (
            "The legs together ran nearly as fast as alone, so the rest of the gap is the operator's own, "
            "mostly its fixed cost per task on a 30 ms path (without it: "
            f"{r['wan_sftp_to_irods_over_min_leg_marginal']}; see `wan_phases`)."
        )
    return "The machine could not give both legs their solo rates at once; part of the gap is CPU contention."


def _together_down(r: dict[str, Any]) -> str:
    """The download's legs run at once in two processes, against the operator."""
    rates = r["wan_mb_s"]
    return (
        f"Run at the same time in two processes, its legs gave {rates['irods_read_with_sftp_write_at_once']} "
        f"(iRODS read) and {rates['sftp_write_with_irods_read_at_once']} MB/s (SFTP write), against "
        f"{rates['irods_read_alone']} and {rates['sftp_write_alone']} alone; the download reached "
        f"{r['wan_irods_to_sftp_over_min_leg_run_together']} of the slower of those "
        "(`wan_irods_to_sftp_over_min_leg_run_together`)."
    )


#: What changed since the previous run (the notes' second paragraph).
_CHANGES = (
    "Twenty-fifth session (2026-12-07): the download's one lead left, early reads in whole 8 MiB "
    "chunks with the early budget at the reader's whole window (96 MiB), settled in 30 paired, "
    "interleaved rounds against main with an A/A control and both legs in every round (256 MiB, this "
    "model, `/work/notes/exp/d25/`; the other work on the machine ran as SCHED_IDLE, 1-minute load "
    "12-28): 1.012 of the geometric mean of main's two runs (95 % interval 0.965-1.060, median 0.997,"
    " rounds 0.69-1.45); A/A 0.952 (median 1.001). Over the slower leg, medians: main 0.887 and "
    "0.887, the variant 0.885; peak RSS 282 against 284 and 286 MiB. No gain: closed, nothing kept. "
    "The same session's full run before (load 0.4 rising to 8): upload 0.89, download 0.78 over the "
    "slower leg, the legs run together 0.92 and 0.85. The run this table shows came after the helpers"
    " had stopped (load 0.6 at its start, 1.6 at its end). "
    "Twenty-fourth session (2026-12-07, down24): no change to the download kept. (1) Early reads in "
    "whole 8 MiB chunks (no ramp), alone and with the early budget at the reader's whole window (96 "
    "MiB), in 15 paired, interleaved rounds against main with an A/A control and both legs in every "
    "round (256 MiB, this model, `/work/notes/exp/d24/`; 1-minute load 1.8-24 at the rounds' starts, "
    "other sessions' suites): against the geometric mean of main's two runs, whole chunks 1.065 (95 %"
    " interval 0.97-1.17, median 1.038, rounds 0.84-1.50), with 96 MiB 1.074 (1.00-1.16, median "
    "1.033, 0.88-1.50); A/A 0.986 (median 1.000, rounds 0.66-1.73); with the twenty-third session's 8"
    " rounds whole chunks 1.061 (0.98-1.15, 23 rounds). Over the slower leg, medians: main 0.89 and "
    "0.84, whole chunks 0.90, with 96 MiB 0.92; peak RSS 282 against 285 MiB. Inside the spread, and "
    "it would undo the ramp's first bytes before any full chunk (`test_sftp_sink_first_bytes`): "
    "built, tested and reverted. (2) Where the writer starves after the start, traced (8 tasks, load "
    "18-20; each ranged read's submit, start and end, each placement, the window and the sessions "
    "every 10 ms): the read-ahead window never held a reading thread idle (window full with fewer "
    "than 6 reads running: 0.00-0.02 thread-seconds per task). In main's 4 tasks the sessions waited "
    "with nothing queued 0.10-4.60 session-seconds after the first 1.5 s (4.91 in all), always with "
    "all 6 reads running; 3.64 of it ended when the oldest read completed, and that read had taken "
    "1.01 times the task's median 8 MiB read (at most 1.27): no stream lagged, the iRODS side as a "
    "whole was the slower then (its reads at 49-60 MB/s in the task, the leg alone at 50-57 in the "
    "same hour), so neither splitting a lagging range to an idle stream nor other window accounting "
    "has anything to take. Reading threads stood idle only before the sink opened (0.29-0.52 "
    "thread-seconds: the 48 MiB early budget spent by ~0.72 s, the temporary open at 0.82-1.02 s, "
    "then 6 reads of 8 MiB started together) and in the taper (0.39-0.88). At the writer's start the "
    "ramp's chunks (1-5 MiB) make pieces of 0.17-0.9 MiB: 1.7-8 MiB in flight in its first 0.5 s "
    "against 11-13 MiB when fed 8 MiB chunks; whole chunks had 78 and 102 MiB placed 1.5 and 2 s "
    "after the first write against 68 and 92 (means), their first write 0.1 s later (0.95-1.11 s "
    "against 0.82-1.02). Six more traced tasks at load 31-40 (main, the 96 MiB budget, both changes) "
    "showed the same: main's waits after the start ended by reads of 1.02 times the median (at most "
    "1.46), and the window held reading threads idle (up to 10 thread-seconds) only while the writer "
    "was the slower side, never while the writer waited. "
    "Twenty-fourth session (2026-12-07, up24): the upload's bytes phase traced piece by piece (256 "
    "MiB, this model; `/work/notes/exp/u24/`: each SFTP session's piece reads, its waits for a "
    "readable or claimable piece, the copy loop's waits for a chunk), no runtime change kept. Main, "
    "3 tasks at load 18-20: the copy loop waited 1.08, 1.08 and 2.25 s per task for SFTP bytes, "
    "0.43-0.51 s of it on the first two chunks (the start) and 0.57-1.82 s on whole chunks, "
    "0.36-1.08 s of that on one last piece. During those waits the 6 sessions had nothing to read "
    "for 0.15, 0.45 and 1.31 session-seconds, read the awaited chunk 1.6-3.6 and later chunks "
    "2.3-7.0; each session idled 1.3-4.3 s per task in all, mostly while the iRODS side was the "
    "slower (the read-ahead full), and read at 9-19 MB/s. Work stealing was not built: a lagging "
    "piece's bytes are already requested (three pieces, up to the 4 MiB pipeline, claimed per "
    "session, answers queued behind the 2 MiB channel window), so a thief would ask again for bytes "
    "on the wire and get them only behind its own queued requests, and free sessions during the "
    "waits added up to 0.15-1.31 session-seconds per task. Smaller pieces instead: every chunk after "
    "the first two cut into two pieces per session (704 KiB of 8 MiB, three claimed, ~2.1 MiB, still "
    "above the channel window). Traced against main (4 interleaved pairs, load 31-38): each chunk's "
    "pieces finished within 0.17-0.26 s of each other (median per task) against 0.34-0.40 s, the "
    "wait on one last piece 0.24-0.78 s per task against 1.04-1.31, the task faster in all 4 pairs "
    "(9.9-14.3 s against 13.1-16.0). In 15 paired, interleaved rounds (main, two pieces, main again, "
    "both legs; load 13-31) it ran at 1.056 of main's rate (geometric mean; rounds 0.75-1.39) and "
    "1.113 of the two main runs' (0.78-1.43), fastest of the three in 8 rounds (5 by chance), "
    "slowest in 3; the A/A control gave 0.900 (0.58-1.31); over the slower leg 1.007 against 0.954 "
    "and 0.859; peak RSS 279 MiB against 278 and 282 (medians). Inside the A/A spread at this load, "
    "so reverted (commits f97b20e and 2bb5373, the change and its test, to re-measure on a quiet "
    "machine). Two pieces per session with six claimed (~4 MiB, as before) instead of three ran at "
    "0.87 of main's rate in 3 rounds and was dropped. "
    "Twenty-third session (2026-12-07), the model's proxies: down23 saw the SFTP proxy's event loop "
    "late to take waiting bytes for 4.2 connection-seconds per download against 1.9 per write leg (a "
    "download keeps two proxies busy, both threads of the benchmark's process; a leg one). So each link "
    "was run in a process of its own (no shared interpreter lock) against the threads, in 8 paired, "
    "interleaved rounds (256 MiB, main's code; per model, per round: both operators and their four legs; "
    "`/work/notes/exp/p23/`; load 14.5 falling to 1.8): download over its slower leg 0.822 (threads) "
    "against 0.878 (processes), medians, rounds 0.67-0.92 against 0.74-1.07; upload 0.829 against "
    "0.811; the three quietest rounds (load under 4) 0.83/0.80/0.90 against 0.79/0.95/0.85 (download) and "
    "0.86/0.90/0.81 against 0.79/0.75/0.84 (upload). No steady difference, as in the eighteenth "
    "session: the model stays as it was (threads), so its figures compare with every earlier run. "
    "Twenty-third session (2026-12-07, up23): the upload's fixed cost traced call by call (256 "
    "MiB, this model; `/work/notes/exp/u23/`), no runtime change kept. Quiet run (load 0.4-1.3): "
    "the upload 6.79 s against its iRODS leg's 5.89 s; its first HTTP write at 503 ms (leg 240), "
    "every write stream writing at 1700 ms (leg 299), first write to last answer 5.85 s (leg "
    "5.20), the tail (shutdown, replica listing, checksum, AVUs, rename) 431 ms (leg 457): of the "
    "0.9 s lost, ~0.26 s is before the first write and ~0.66 s in the bytes phase. The first "
    "write waits for the SFTP side: the first connection (key exchange ~3 round trips, login 1 "
    "with the userauth sent behind the service request, channel open 1, subsystem 1), the "
    "source's lstat+realpath behind INIT (1), its lstat+open (1), then the fstat and first READs "
    "(1) and one connection's first MiB; the iRODS side (info, login, the destination's stats "
    "during the handshake, then the temporary's choice beside the open, parallel_write_init and "
    "the handle's record) was ready 53 ms before those bytes. Full width needs the other 5 "
    "connections, started 2 ms after the lstat answered (6 round trips each), then their open and "
    "fstat+READs: ~15 round trips (~650 ms) against the leg's 5. Overlaps considered and not "
    "made: opening the source with its first lstat (sftp-server opens without O_NONBLOCK, a FIFO "
    "would hang the session, and each file is lstat-ed before its open), choosing the temporary "
    "or opening the iRODS handle before that lstat (the temporary's name is keyed by the listed "
    "size and mtime, and a small file gets no handle), the channel open behind the login (sshd "
    "drops non-auth messages before success), a guessed key exchange (OpenSSH 9.2 prefers "
    "sntrup761x25519, so a curve25519 guess is always wrong), the replica listing beside the "
    "checksum (a replicated collection would hash one replica twice), dropping the resume record "
    "beside the checksum (kept until the bytes are verified, on purpose), smaller first requests "
    "(15-35 ms at most, more requests on every large upload, and the leg changes alike). Traced "
    "runs now record each connection's steps (`ssh step ...`), the SFTP pieces read and the write "
    "ramp (`first_write_ms`, `all_streams_writing_ms`, `last_write_answered_ms`). In loaded runs "
    "(load 7-12, another helper's benchmark) the SFTP pieces of one chunk finished up to 3x apart "
    "between connections (4-13 MB/s each) and the upload's streams all wrote only at 2.0-4.2 s "
    "(leg 0.3-0.5 s): most of the gap is the bytes phase, each chunk waiting for its slowest "
    "piece. "
    "Twenty-third session (2026-12-07, down23): no change to the download kept. Its bytes phase traced "
    "against the SFTP write leg alone (`/work/notes/exp/d23/`; 22 operator and 6 leg runs of 256 MiB on "
    "this model, 1-minute load 6-31 from other sessions' test runs): every 10 ms each SFTP write "
    "session's bytes sent and not acknowledged and its state (sending, waiting for an answer, waiting "
    "for a piece), the read-ahead window, and in the SFTP proxy each connection's window use. The "
    "sessions keep 1.78 MiB (operator) and 1.96 MiB (leg) in flight on average, about OpenSSH's 2 MiB "
    "channel window and 3.5 TCP windows; a session had less than one 512 KiB window in flight while it "
    "had bytes to send for 0.9 and 0.7 session-seconds per task (of about 32 and 27): the writer's own "
    "scheduling loses nothing measurable, so one thread driving every session (acks learnt without the "
    "interpreter lock's hand-offs) was not built. Against the leg, the operator's bytes phase took 5.37 "
    "s against 4.43 s (means) and its first write came 0.85 s after its start against 0.57 s (medians). "
    "Its extra connection-time in the SFTP proxy: the model's event loop late to take bytes already "
    "waiting (4.2 against 1.9 connection-seconds per task; a download keeps both proxies of the parent "
    "process busy, the leg one), connections with nothing to send (3.2 against 1.6) and full windows "
    "held longer (23.8 against 22.2: slower window cycles on the shared cores). The sessions waited for "
    "a piece with nothing queued 2.4 session-seconds per task against 0.1, 1.1 of it in the bytes "
    "phase's first 1.5 s, while all 6 streams were reading: the writer's start (12 MiB into its windows "
    "at once) outruns reads ramped up from 0.67 MiB. Two experiments on that start, each traced (6 tasks "
    "each way) and measured in 8 paired, interleaved rounds against main with an A/A control (main "
    "against main) and both legs in every round: (1) early reads of the reader's whole window (96 MiB) "
    "instead of one chunk per stream (48 MiB): idle at the start 1.05 against 1.03 session-seconds, "
    "1.029 of main's rate (geometric mean; rounds 0.81-1.26; A/A 0.99, 0.77-1.19; load 7-17), peak RSS "
    "282 against 283 MiB; (2) early reads without the ramp (8 MiB ranges from the first): idle at the "
    "start 0.60 against 1.38 session-seconds, the first write 0.15 s later, 1.088 of main's rate "
    "(0.73-1.89; A/A 1.065, 0.63-2.23; load 17-31, where every rate halved): both inside the A/A spread. "
    "Twenty-second session (2026-12-07), this run: the session's final code "
    "(`file_mode`/`directory_mode` for SFTP publishes, upload trees planned once, unlistable directories "
    "reported, stricter reply shapes; nothing on the per-byte path), quiet machine (load 0.6). Upload "
    "over its min leg 0.87 (0.86-1.03) against 1.00 in the last run: an A/B of the upload on this code "
    "against the last session's final code (6 paired, interleaved rounds, 256 MiB, this model, both legs "
    "in every round) gave the new code 1.005 of the old one's rate (0.96-1.09), and the old code "
    "0.86-1.04 of its slower leg in the same rounds (new: 0.86-1.00): the drop is the spread between "
    "runs, not this code. "
    "Twenty-second session (2026-12-07, down22): no change to the download kept; three experiments, each "
    "an A/B in paired, interleaved rounds on this model (256 MiB, main's code against a variant, the "
    "iRODS read leg and the SFTP write leg in every round; `/work/notes/exp/d22/`), at 1-minute load "
    "8-19 (other sessions' test runs on the same 2 cores). First the noise: two runs of the same code "
    "(main against main, 4 paired rounds) gave one 1.21, 0.94, 1.74 and 1.04 times the other's rate "
    "(median 1.13), so at this load a change needs far more than 4-6 rounds to show a few per cent. (1) "
    "More read-ahead, the ceiling of a window decoupled from the oldest chunk: 3 and 4 reads per stream "
    "instead of 2 (a configuration override): 1.026 (0.97-1.19) and 1.033 (0.92-1.09) of main's rate "
    "over 5 rounds, peak RSS 288 and 282 MiB against 286: inside the A/A spread. (2) Hedging a lagging "
    "range (prototype: a second GET for the oldest outstanding range once it has run 1.5 or 3 times the "
    "median time per byte of the last 12 ranges while a reading thread is free; the first read to "
    "complete is placed and hashed, the other's buffer returned): it fired once in 12 tasks, because the "
    "6 reading threads are rarely free (12 reads queued or running for 6 threads), and those tasks ran "
    "at 0.73-0.99 (1.5x) and 0.74-1.09 (3x) of main's rate; the same worktree without hedging 0.81-0.99 "
    "(4 rounds), so most of that is the noise above, not the hedge. The last 12 ranges of those tasks "
    "took 0.57 s (min), 0.85 (median), 1.42 (p90) and 2.57 s (max) per 8 MiB. (3) The read-ahead window "
    "sampled every 20 ms in two tasks (reads queued or running / read and waiting for the copy loop): "
    "one task had 11-12 of 12 reads outstanding and at most 2 waiting for most of its bytes phase (the "
    "iRODS side was the slower one then), the other 7-8 outstanding and 4-5 waiting (the writer slower); "
    "both ended with 0.5-0.8 s in which every read had completed and the SFTP writer still drained 6-12 "
    "chunks. Whichever leg is slower changes between tasks, which is why neither a wider window nor a "
    "hedge shows a steady gain. HTTP reads with the SFTP write leg in threads of the same process "
    "against the two in two processes (4 rounds): the reads ran at 40.2/56.1, 56.1/49.0, 49.7/51.5 and "
    "55.1/56.4 MB/s, the writes at 0.97 of their rate alone either way: one interpreter costs neither "
    "leg measurably. "
    "Twenty-first session (2026-12-07), its final run: the session's final code (SFTP temporaries "
    "created 0600 with their mode set in the close's round trip, a tree's directories settled up front, "
    "the realpath check against directories swapped for links inside existing round trips), quiet "
    "machine. An earlier run the same day, before the last two merges, had CPU up over legs at 1.11 "
    "(0.988-1.139), its legs measured cheaper than the operator's own share; here 0.994 (0.913-1.047). "
    "No change to the download was kept; each experiment an A/B in paired,"
    " interleaved rounds on this model (256 MiB; the iRODS read leg and the SFTP write leg in every round), "
    "on a machine shared with other work (load 3-20). (1) Ranged reads of 4 MiB instead of 8 into the "
    "parallel SFTP writer, the same bytes read ahead (4 reads per stream instead of 2), so that a lagging "
    "read holds the in-order read-ahead for less: through a configuration override 1.07 (4 rounds, 0.73-1.19)"
    " and 1.10 (6 rounds, 0.92-1.13) of the download's rate, 3 reads ahead 1.08 (1.03-1.21)"
    ", again 1.005 (8 rounds, 0.84-1.30, load 7); built (a sink "
    "read size with its test) and measured against main: 1.02 (8 rounds, 0.88-1.23, load 4.7-16) and 1.03 (8 "
    "rounds, 0.93-1.06, load 3-5), ratio to the slower leg 0.87 against main's 0.88 in the quieter run; "
    "reverted. It lowered the download's peak RSS from 280-283 to 243-250 MiB (medians) at the same client "
    "CPU. The SFTP write leg fed 4 MiB chunks ran at 0.94 and 0.92 of its rate with 8 MiB chunks (16 rounds):"
    " smaller pieces do not speed the writer. (2) Every SSH connection opened with the first (explicit "
    "`sftp_connections=6`) instead of once the plan knows the size: 0.99 of the download's rate (4 rounds, "
    "0.98-1.11). (3) A third piece buffer per SFTP session (download and write leg alike): download 0.89 (5 "
    "rounds, 0.79-1.15), write leg 1.01, more client CPU in both. (4) The potential of reading iRODS in a "
    "separate process: the SFTP write leg with HTTP reads of the same object at full speed (6 streams, "
    "SHA-256) in threads of its own process kept 0.97 of its rate alone (5 rounds, 0.71-1.08), with the reads"
    " in a second process 0.92 (0.89-1.14): sharing the interpreter lock with the HTTP readers costs the "
    "writer nothing measurable, so no child-process reader was built. Traced with wait counters (2 quiet "
    "runs, download against write leg: 59.4 against 65.2 and 57.3 against 57.7 MB/s): the iRODS streams were "
    "reading 62 % of the time, the 6 write sessions waited for pieces 0.2 s in one run and 5.9 s in the other"
    " (summed), so the loss is the coupling of reads and writes through the in-order read-ahead, in some runs"
    " only; the same code's ratio moved from 0.73 to 1.07 between rounds of one run. "
    "Twentieth session (2026-12-07): SFTP requests are now sized by the server's limits@openssh.com "
    "answer (255 KiB on OpenSSH instead of 128 KiB; asked right behind the session's INIT, no round trip "
    "added). The download's code is otherwise unchanged; four experiments on it, each an A/B in paired "
    "rounds on this model against the same legs, moved it only within the noise, so none was kept: an "
    "interpreter switch interval of 0.5 ms instead of 5 ms (1.02-1.05 of its rate, 3 rounds); 8 iRODS "
    "read streams instead of 6 with the same 6 SSH connections (median 0.998, 4 rounds); 255 KiB SFTP "
    "requests for the operator and its write leg alike, before the limits work (download 0.90-0.99 of its"
    " rate, leg 0.97-1.01, client CPU 3-8 % lower); HTTP reads of 1 MiB instead of httpcore's 64 KiB "
    "(median 0.989, 4 rounds). One 256 MiB download's CPU (2 rounds, load under 1): client 1.45 s, sshd "
    "0.8 s, emulator 0.17 s, the model's proxies 0.9 s: 3.3 CPU seconds in 4.6-5.3 s on 2 cores, so the "
    "machine is not saturated on average. Traced, the 6 SFTP write sessions waited for pieces 0.2 s "
    "together in one run and 4.9 s in the next: at times the iRODS streams, slowed in the same process, "
    "starve the writer, at times the writer runs below its solo rate. This run gave the upload 0.88 of "
    "its slower leg (last run 0.95): an A/B of this code against the last run's (4 paired rounds, this "
    "model) gave the old code 1.11, 0.99, 0.95 and 1.09 of the new one's rate (median 1.04), and a traced"
    " 64 MiB upload made the same 28 HTTP and 5 blocking SFTP requests with the same timings on both, so "
    "the drop is within the spread between runs (about 0.1, see below). "
    "Nineteenth session (2026-12-07): the staged download got two changes. Its ranged reads no longer "
    "place their chunk in the SFTP writer themselves: a placing thread does, so an iRODS stream goes on "
    "to its next read while the SFTP sessions are busy (before, a reading thread waited there: in one "
    "traced 6.1 s download the reading threads waited 4.6 s there together). The parallel SFTP writer "
    "hands each piece to whichever session got a buffer back first, instead of piece j to session j: a "
    "lagging connection no longer holds every chunk up. A/B on this model (6 paired rounds, machine "
    "loaded by other work): the download at 1.11 times its previous rate, ahead in every round, and 0.94 "
    "of its slower leg against 0.84 before. The same writer carries the SFTP write leg, which also got "
    "faster (60.6 -> 64.0 MB/s between the two quiet runs); on the quiet machine the download itself did "
    "not (53.0 -> 53.5), so its ratio in this run is 0.82 (0.82-0.87). The legs run together in two "
    "processes reached only 0.85 of the slower leg alone in this run (0.83-0.85): on these 2 cores the "
    "two legs, sshd, the emulator and the model cannot all run at full speed at once, and the operator "
    "reached 0.96 of what its legs reach together. One run an hour earlier, at load 2-4, gave the "
    "download 0.87 (0.80-0.94) and a marginal 0.93 (0.89-0.97). Tried and not kept: SFTP writes of 255 "
    "KiB (OpenSSH's limit) instead of 128 KiB cut client and sshd CPU by about 15 % but moved the "
    "download within the noise (5 paired rounds, median 1.07 of the 128 KiB runs, one round 0.81), and "
    "needs the server's limits@openssh.com answer to be safe elsewhere. "
    "Since the eighteenth session (2026-12-07) every WAN ratio is paired per round (see above). Its first "
    "paired run (quiet machine, load 0.2 at its start) gave the upload 0.94 of its slower leg (rounds "
    "0.90-0.97: every round met 0.9) and the download 0.86 (0.82-0.89). The download's marginal ratio, "
    "without its fixed cost, is the same 0.86 (0.81-0.90): what it loses is in the bytes phase, not the "
    "set-up. Its legs run together in two processes reach 0.89 of their slower leg alone, and the operator "
    "0.92 of what they reach together; the operator runs both legs in one process, one interpreter lock "
    "for the HTTP readers and paramiko's packet code. In the same session, letting the download's first "
    "SSH handle write while the other connections open (each joining handle proven by reading back bytes "
    "already acknowledged) gave no measurable gain under load (5 rounds: 5.56 against 5.55 s), so it was "
    "not merged. Until then "
    "each rate was the best of two runs, and an operator and its legs ran minutes apart in a run of about "
    "8.5 minutes, so a leg's drift between those moments moved the ratio: in the seventeenth session's "
    "two quiet runs on the same code the iRODS write leg alone ran at 45.4 and then 51.2 MB/s, the upload "
    "at 41.2 and 41.4, and the upload's ratio went from 0.91 to 0.81 with its leg, not with the upload. "
    "Over the twelve runs measured that way: download over its min leg 0.85, 0.90, 0.83, 0.94, 0.88, "
    "0.92, 0.91, 0.81, 0.88, 0.83, 0.89 and 0.88; upload over its min leg 0.89, 0.87, 0.89, 0.82, 0.91, "
    "0.88, 0.83, 0.84, 0.87, 0.95, 0.91 and 0.81; over OpenSSH 2.78, 2.69, 2.72, 2.60, 2.81, 2.71, 2.71, "
    "2.68, 2.83, 2.51, 2.70 and 2.79: a spread between runs (about 0.1) larger than the distance to the "
    "0.9 goal. Each ratio now compares runs of one round (an operator and its legs within one block, under "
    "a minute apart), and `*_range` shows how far the rounds of one run spread. In the seventeenth "
    "session, run together in two processes, the "
    "legs gave the upload 0.93 and the download 0.93 of their slower leg (0.99 and 1.00 in its first run): "
    "most of the gap to the legs alone is the 2 cores both legs, sshd and the emulator share here. "
    "Where the upload loses, traced call by call (`staging.py --phases` against the iRODS leg "
    "alone): its first HTTP write leaves 230-290 ms after the leg's (the SSH handshake, about 9.5 round"
    " trips: 284 ms, then the source's realpath, lstat+open and first reads), and the other 5 SSH "
    "connections, opened once the plan knows the size, come up about 300 ms after the first: until then"
    " one TCP window feeds the writer (about 17 MB/s), so its bytes phase took 5.36 s against the leg's"
    " 4.50 s (the eleventh session saw the same as 32 MiB acknowledged after 1305-1374 ms against "
    "850-975 ms). Opening all connections with the first (explicit `sftp_connections=6`, or a "
    "speculative open, tried): bytes phase 4.39-4.65 s, the task 4.3 % faster (8 interleaved rounds: "
    "6.53 against 6.82 s); 3 at once and 3 more after the plan gained 1.3 %. The provider does not open"
    " connections it may not need (a task that turns out to move one small file would log in several "
    "times for nothing, and login nodes count and rate-limit SSH logins); a task that knows it moves "
    "one large file over a long link sets `sftp_connections`. The WAN model's two proxies share the "
    "benchmark's process; in processes of their own they changed nothing (3 rounds: upload 0.84, "
    "download 0.86 of their slower legs). The upload's other loss is that fixed cost, about 0.6 s, which"
    " a 256 MiB task cannot bring under 10 %: without it (`*_marginal`) the upload ran at 0.91-1.01 of "
    "its slower leg over the last runs. `wan_phases` is one task's timeline through the model (each "
    "call traced, `staging.py --phases`)."
)
#: What holds the download below its legs, traced chunk by chunk (the notes' download paragraph).
_DOWNLOAD = (
    "What holds the download under its slower leg, traced chunk by chunk (each ranged read's start and "
    "end, each hand-over to the SFTP writer, 256 MiB tasks). With 6 reads and 6 SSH connections in byte "
    "order, the SFTP writer ran at its solo rate while fed, but single ranged reads lagged (8 MiB take "
    "~0.58 s per stream; single reads took 0.8-1.4 s) and stopped it for 0.2-0.7 s each time, 0.7-2.0 s "
    "per task, while the chunks after it waited in memory. Written at their offsets as they arrive, the "
    "later chunks keep the writer busy through such a lag: from its first write to its last "
    "acknowledgement the writer then moved 256 MiB at 59-62 MB/s, its rate alone, and the task's bytes "
    "phase ran at ~64 MB/s (`wan_phases`). What is left is the fixed cost around the bytes (the SSH "
    "connections, the plan, opening the temporary on six connections: ~0.6 s of a ~5 s task) and the "
    "machine: both legs at once cannot both run at their solo rates on 2 cores. Traced call by call in the "
    "twelfth session against the SFTP write leg alone (6 connections each): first byte written after 611 "
    "and 582 ms, bytes phase 4.45 and 4.05 s, tail 155 and 33 ms (the zone's checksum, the closes, the "
    "publish's lstat pair and the rename; the close now shares its round trip with the last writes)."
)
#: The previous code and this branch measured side by side (a separate run of the same operations).
_SIDE_BY_SIDE = (
    "The first full run of this code (load average 4.9 -> 12.6, before the download kept its iRODS "
    "read-ahead over several SSH connections) gave `over_openssh_sftp` 1.82, `over_min_leg` 0.84 up and "
    "0.75 down (marginal: 1.02 and 0.92), `cpu_up_over_legs` 1.175, `cpu_down_over_legs` "
    "1.532, `rss_ratio_4g_over_256m_down` 1.018. "
    "Measured separately, the previous code and this one side by side with the same servers (loopback, "
    "each operation twice per tree and interleaved, the lower kept; load average 5.6-11): CPU seconds "
    "per GiB of staging up 9.98 -> 10.77 and down 11.19 -> 10.02; SFTP parallel read alone 5.69 -> "
    "4.32, SFTP parallel write alone 4.01 -> 4.76, iRODS write alone 5.17 -> 5.18, iRODS read + verify "
    "3.56 -> 3.79; so `cpu_up_over_legs` 0.919 -> 1.134 and `cpu_down_over_legs` 1.478 -> 1.172. Single "
    "figures move by 20-30 % between repetitions on this shared machine (the previous code's SFTP read "
    "leg gave 6.91 and 5.69 in two passes minutes apart), so these ratios straddle 1.1 from run to run; "
    "what the changes add by themselves is one copy of each chunk into the SFTP writer's piece buffers "
    "(a memcpy, well under 0.1 s per GiB). Peak RSS of the download in that comparison (load 7-13): "
    "264.7 -> 298.5 MiB from 256 MiB to 4 GiB before (1.128), 192.0 -> 195.1 MiB now (1.016)."
)


def _cpu_reading(r: dict[str, Any]) -> str:
    """Where the CPU of staging goes beside its legs, with this run's medians and spreads."""
    return (
        f"CPU over {r['cpu_repeat']} interleaved rounds (median, spread): `cpu_up_over_legs` "
        f"{r['cpu_up_over_legs']} ({r['cpu_up_over_legs_range']}), `cpu_down_over_legs` "
        f"{r['cpu_down_over_legs']} ({r['cpu_down_over_legs_range']}), with the scheme given "
        f"{r['cpu_down_sha256_pinned_over_legs']} ({r['cpu_down_sha256_pinned_over_legs_range']}). "
        "Two causes of the earlier 1.33 down (and of CPU figures moving 20-30 % between repetitions) were "
        "found: (1) the benchmark lost most of sshd's CPU. sshd's privileged monitor exits without waiting "
        "for the session process that does the crypto and the SFTP work, so that process was re-parented to "
        "init and its CPU never reached the listener's children's times; which sessions were counted "
        "depended on the order they ended (writing 256 MiB over 4 SSH connections: 0.09 s counted, about "
        "1.7 s spent). The SFTP write leg, whose sessions carry every byte, lost the most, so the legs' sum "
        "was too small. The benchmark now makes itself a child subreaper and reaps those sessions. (2) "
        "IrodsToSFTPOperator hashes MD5 as well as SHA-256: `hasher_for(config.checksum_scheme, session, "
        "source)` in a fresh process does not know the zone's scheme, although the operator already holds "
        "the zone's checksum of the source (`stat`, else `calculate_checksum`) before it streams; MD5 costs "
        "about 1.7 CPU seconds per GiB here (SHA-256 0.7), which the `sha256_pinned` figure leaves out. "
        "Learning the scheme from that checksum before creating the hasher "
        "(`learn_checksum_scheme(session, source, checksum)`) removes it without pinning."
    )


def _wan_notes(r: dict[str, Any]) -> str:
    """What the figures say, goal by goal, and what limits them on this machine."""
    rates, model, load = r["wan_mb_s"], r["wan_model"], r["load_average"]
    ceiling = rates["irods_write_alone"] / rates["openssh_sftp_get"]
    return (
        f"Goals in this run (each the median of its {r['wan_rounds']} rounds' ratios, with their range): "
        "`wan_sftp_to_irods_over_openssh_sftp` "
        f"{_paired_goal(r, 'wan_sftp_to_irods_over_openssh_sftp', 2.5)}, "
        f"`wan_sftp_to_irods_over_min_leg` {_paired_goal(r, 'wan_sftp_to_irods_over_min_leg', 0.9)}, "
        f"`wan_irods_to_sftp_over_min_leg` {_paired_goal(r, 'wan_irods_to_sftp_over_min_leg', 0.9)}, "
        f"`wan_over_two_step` {r['wan_over_two_step']} (bound {r['wan_over_two_step_bound']}), "
        "without each operation's fixed cost (`*_marginal`): "
        f"{r['wan_sftp_to_irods_over_openssh_sftp_marginal']} over OpenSSH, "
        f"{r['wan_sftp_to_irods_over_min_leg_marginal']} and {r['wan_irods_to_sftp_over_min_leg_marginal']} "
        "over the min leg; "
        f"`cpu_up_over_legs` {_goal(r['cpu_up_over_legs'], 1.1, at_most=True)}, "
        f"`cpu_down_over_legs` {_goal(r['cpu_down_over_legs'], 1.1, at_most=True)}, "
        f"`rss_ratio_4g_over_256m_down` {_goal(r['rss_ratio_4g_over_256m_down'], 1.1, at_most=True)}.\n\n"
        f"{_rounds_reading(r)}\n\n{_CHANGES}\n\n{_DOWNLOAD} {_together_down(r)}\n\n"
        "The iRODS leg bounds the upload. One object is written through one parallel-write handle of at "
        "most 3 streams: the real server's default `max_number_of_streams_per_parallel_write_handle` "
        "(irods_client_http_api 0.7.0: README and `endpoints/data_objects/src/main.cpp`, a larger "
        "`stream-count` is refused with HTTP 400; 15 streams server-wide, then 503), which the emulator's "
        "`max_streams_per_handle` = 3 mirrors; iRODS locks a replica opened for writing, so a second handle "
        "on the same object cannot add streams (inferred from iRODS's replica locking, not tested here). "
        "With two requests in flight per stream (the second held, see above) the iRODS leg alone ran at "
        f"{rates['irods_write_alone']} MB/s, {ceiling:.2f} times OpenSSH's one connection "
        f"({rates['openssh_sftp_get']} MB/s). Staging stays under it: inside one process the SFTP source "
        "(paramiko, six connections) and the HTTP writers share 2 cores with sshd, the emulator and both "
        "proxies, and a trace of the writer shows it waiting for source bytes about 3.3-3.9 s of a 5.1-5.4 s "
        "stream (the iRODS leg alone, fed from memory, waits 0.6 s). Against an emulator configured like a "
        f"site that allows more streams per handle ({SITE_STREAMS}, the operator and the leg asked for "
        f"{SITE_STREAMS}), the iRODS leg alone ran at "
        f"{rates[f'irods_write_alone_site_streams_{SITE_STREAMS}']} MB/s "
        f"({r[f'wan_irods_write_alone_over_openssh_sftp_site_streams_{SITE_STREAMS}']} times OpenSSH) and "
        f"staging at {rates[f'sftp_to_irods_site_streams_{SITE_STREAMS}']} MB/s: "
        f"`wan_sftp_to_irods_over_openssh_sftp_site_streams_{SITE_STREAMS}` "
        f"{_goal(r[f'wan_sftp_to_irods_over_openssh_sftp_site_streams_{SITE_STREAMS}'], 2.5)}, "
        f"{r[f'wan_sftp_to_irods_over_min_leg_site_streams_{SITE_STREAMS}']} of its slower leg "
        "(the SFTP read over the upload's connections). The client reads the cap from `/info` and uses "
        "min(`streams`, cap) streams, never more. "
        "The model holds each TCP connection to one window per round trip: "
        f"{model['one_connection_mb_s']} MB/s through one connection and "
        f"{model['each_of_two_connections_mb_s']} MB/s through each of two at once "
        f"(window / RTT = {model['window_over_rtt_mb_s']} MB/s); staging over one SSH connection is held "
        f"there ({rates['sftp_to_irods_1_connection']} MB/s).\n\n"
        f"Load average (1, 5, 15 min) {load['before']} before and {load['after']} after the run, on 2 cores "
        "shared with other jobs (paramiko, sshd, the emulator and the Python proxy all use them): every "
        "ratio is taken within this one run. Run at the same time in two processes, the legs gave "
        f"{rates['sftp_read_with_irods_write_at_once']} (SFTP) and "
        f"{rates['irods_write_with_sftp_read_at_once']} MB/s (iRODS); staging reached "
        f"{r['wan_sftp_to_irods_over_min_leg_run_together']} of the slower of those. "
        f"{_together_reading(r)}\n\n"
        f"{_cpu_reading(r)}\n\n"
        f"{_SIDE_BY_SIDE}\n\n"
        "Before issue 17's work (its own link model, also 30 ms RTT and a 512 KiB window, where one "
        "connection reached about twice what this model allows; 256 MiB): SFTP read alone 29.5 MB/s, "
        "OpenSSH `sftp get` 28.2, parallel iRODS write alone 73, staging 26.4 (0.36 of the iRODS leg, one "
        "SSH connection); `rss_ratio_4g_over_256m_down` was 1.23. Setting `MALLOC_MMAP_THRESHOLD_=1048576` "
        "is kept as a diagnosis only "
        f"(`{r['rss_ratio_4g_over_256m_down_glibc_mmap_threshold_1m']}` with it): the provider does not "
        "rely on it."
    )


__all__ = ["check_model", "run_wan", "write_wan_results"]
