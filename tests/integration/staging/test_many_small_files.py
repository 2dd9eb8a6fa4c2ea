"""Many small files staged both ways: a lane wider than ``max_concurrent_files``, within each SSH connection's
session budget (OpenSSH's ``MaxSessions``: 10 by default, lower at strict sites).

Small files wait on round trips, not bytes: over a WAN, staging runs at (files at once) / (round trips per
file x RTT). The staging operators run them in the engine's small-file lane, each on an SFTP channel of its
own, and a connection carries at most ``CHANNELS_PER_CONNECTION`` channels (more connections are opened for
many files). A server that refuses sessions earlier is met with fewer channels on that connection, never
with a failed file. Bytes are compared at every final path; the lane's width is observed by holding the
first borrowers until enough hold a channel at once (bounded), never timed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from irods_provider.sftp import _endpoint
from irods_provider.sftp._endpoint import CHANNELS_PER_CONNECTION, SftpEndpoint
from irods_provider.testing.sftp import OpenSshServer, airflow_connection_json
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

pytestmark = pytest.mark.timeout(120)

HOME = "/tempZone/home/rods"
NAMES = ("run #{i} [a].bin", "part={i} ñandú.dat", "plain{i}.txt", "space {i}.log")


def small_files(count: int, seed: int) -> dict[str, bytes]:
    """``count`` files of 0 to 8 KiB with ``#``, ``[``, ``=``, spaces and non-ASCII in their names (``+``
    cannot be read over the HTTP API)."""
    rng = random.Random(seed)
    return {NAMES[i % len(NAMES)].format(i=i): rng.randbytes(rng.randrange(0, 8192)) for i in range(count)}


def put_in_zone(session: Any, collection: str, files: dict[str, bytes]) -> None:
    session.collections.create(collection, intermediates=True, exist_ok=True)
    for name, data in files.items():
        session.data_objects.write(f"{collection}/{name}", data, truncate=True)


def zone_files(session: Any, collection: str, names: list[str]) -> dict[str, bytes]:
    return {name: session.data_objects.read(f"{collection}/{name}") for name in names}


class Channels:
    """Watches :meth:`SftpEndpoint.channel`: the most worker channels held at once, the most channels one
    connection carried, and a gate holding the first borrowers (on the runner's threads) until ``width``
    of them hold a channel at once."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, width: int) -> None:
        self.width = width
        self.holding = 0
        self.most_held = 0
        self.most_on_one_connection = 0
        self.gate = threading.Event()
        self._lock = threading.Lock()
        borrow = SftpEndpoint.channel
        open_on = SftpEndpoint._open_on
        watcher = self

        @contextmanager
        def channel(endpoint: SftpEndpoint) -> Iterator[Any]:
            with borrow(endpoint) as client:
                worker = threading.current_thread().name.startswith("staging")
                if worker:
                    watcher._hold()
                try:
                    yield client
                finally:
                    if worker:
                        with watcher._lock:
                            watcher.holding -= 1

        def counted_open_on(endpoint: SftpEndpoint, link: Any, count: int) -> Any:
            clients = open_on(endpoint, link, count)
            with watcher._lock:
                watcher.most_on_one_connection = max(watcher.most_on_one_connection, len(link.clients))
            return clients

        monkeypatch.setattr(SftpEndpoint, "channel", channel)
        monkeypatch.setattr(SftpEndpoint, "_open_on", counted_open_on)

    def _hold(self) -> None:
        with self._lock:
            self.holding += 1
            self.most_held = max(self.most_held, self.holding)
            if self.holding >= self.width:
                self.gate.set()
        self.gate.wait(10)  # bounded: a lane narrower than ``width`` never opens it, and the test says so


def test_many_small_files_run_in_a_wide_lane_within_each_connections_session_budget(
    remote: Any, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = small_files(40, seed=7)
    put_in_zone(session, f"{HOME}/many-src", files)
    watch = Channels(monkeypatch, width=8)  # twice max_concurrent_files

    down = IrodsToSFTPOperator(
        task_id="down",
        sftp_conn_id="cluster",
        source_path=f"{HOME}/many-src/",
        destination_path=remote.path("down/"),
        recursive=True,
    ).execute({})
    assert watch.gate.is_set(), f"at most {watch.most_held} small files held a channel at once"
    assert (down["transferred"], down["failed"]) == (40, 0)
    assert remote.files("down") == files

    watch.gate.clear()
    up = SFTPToIrodsOperator(
        task_id="up",
        sftp_conn_id="cluster",
        source_path=remote.path("down"),
        destination_path=f"{HOME}/many-back",
        recursive=True,
    ).execute({})
    assert watch.gate.is_set(), f"at most {watch.most_held} small files held a channel at once"
    assert (up["transferred"], up["failed"]) == (40, 0)
    back = zone_files(session, f"{HOME}/many-back", list(files))
    assert {n: hashlib.sha256(d).hexdigest() for n, d in back.items()} == {
        n: hashlib.sha256(d).hexdigest() for n, d in files.items()
    }
    # 40 small files: channels for 16 at once over two connections, never more than the budget on one.
    assert 8 <= watch.most_held <= 2 * CHANNELS_PER_CONNECTION
    assert watch.most_on_one_connection <= CHANNELS_PER_CONNECTION


@pytest.mark.openssh
def test_a_site_with_a_lower_max_sessions_gets_fewer_channels_per_connection_and_no_failed_file(
    session: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """sshd with ``MaxSessions 3``: the fourth session on a connection is refused ("administratively
    prohibited"); the endpoint keeps that connection at three channels, the files wait for a free one."""
    reason = OpenSshServer.unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    files = small_files(24, seed=11)
    put_in_zone(session, f"{HOME}/strict-src", files)
    with OpenSshServer(max_sessions=3) as server:
        monkeypatch.setenv("AIRFLOW_CONN_CLUSTER", airflow_connection_json(server))
        owner = server.root.stat()
        (server.root / "strict").mkdir()
        os.chown(server.root / "strict", owner.st_uid, owner.st_gid)
        caplog.set_level(logging.INFO, logger=_endpoint.__name__)
        down = IrodsToSFTPOperator(
            task_id="down",
            sftp_conn_id="cluster",
            source_path=f"{HOME}/strict-src/",
            destination_path="strict/down/",
            recursive=True,
            sftp_retries=0,  # a refused session must never count as a lost connection
        ).execute({})
        assert (down["transferred"], down["failed"]) == (24, 0)
        landed = server.root / "strict" / "down"
        assert {p.name: p.read_bytes() for p in landed.iterdir()} == files
        up = SFTPToIrodsOperator(
            task_id="up",
            sftp_conn_id="cluster",
            source_path="strict/down",
            destination_path=f"{HOME}/strict-back",
            recursive=True,
            sftp_retries=0,
        ).execute({})
        assert (up["transferred"], up["failed"]) == (24, 0)
    assert zone_files(session, f"{HOME}/strict-back", list(files)) == files
    assert any("refused a session past" in r.getMessage() for r in caplog.records)


def test_the_copies_reuse_the_planners_stats_and_a_skip_policy_asks_the_zone_again(
    remote: Any, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The planner listed every object's size and checksum: without a skip policy the copies take them (no
    ``stat`` per file: one HTTP request less each). The bytes are checked against the zone's checksum after
    the copy either way: an object rewritten between the plan and its copy fails that check and is copied
    again from the zone's answer, so it lands as the zone holds it now, never as the plan saw it. Under a
    skip policy every decision asks the zone."""
    from irods_provider.client._sync._fs import DataObjects
    from irods_provider.sftp._sink import SftpStagingSink

    files = small_files(12, seed=3)
    put_in_zone(session, f"{HOME}/stats-src", files)
    stats: list[str] = []
    real_stat = DataObjects.stat

    def counted(self: Any, path: str, **options: Any) -> Any:
        stats.append(path)
        return real_stat(self, path, **options)

    monkeypatch.setattr(DataObjects, "stat", counted)
    changed = sorted(files)[0]
    rewritten = os.urandom(len(files[changed]) + 100)
    real_state = SftpStagingSink.destination_state

    def rewrite_after_the_plan(sink: Any) -> Any:
        if sink.final.endswith("/" + changed):
            session.data_objects.write(f"{HOME}/stats-src/{changed}", rewritten, truncate=True)
        return real_state(sink)

    monkeypatch.setattr(SftpStagingSink, "destination_state", rewrite_after_the_plan)
    down = IrodsToSFTPOperator(
        task_id="down",
        sftp_conn_id="cluster",
        source_path=f"{HOME}/stats-src/",
        destination_path=remote.path("stats/"),
        recursive=True,
    ).execute({})
    landed = sum(map(len, files.values())) + 100
    assert (down["transferred"], down["failed"], down["bytes"]) == (12, 0, landed)
    assert remote.files("stats") == {**files, changed: rewritten}
    objects = [path for path in stats if path != f"{HOME}/stats-src"]  # not the planner's look at the source
    assert objects == [f"{HOME}/stats-src/{changed}"]  # the object rewritten after the plan, copied again

    stats.clear()
    monkeypatch.setattr(SftpStagingSink, "destination_state", real_state)
    again = IrodsToSFTPOperator(
        task_id="down",
        sftp_conn_id="cluster",
        source_path=f"{HOME}/stats-src/",
        destination_path=remote.path("stats/"),
        recursive=True,
        skip="size",
    ).execute({})
    assert (again["transferred"], again["skipped"]) == (0, 12)
    objects = [path for path in stats if path != f"{HOME}/stats-src"]
    assert sorted(objects) == sorted(f"{HOME}/stats-src/{name}" for name in files)
