"""Transfers, skips, retries and sensor polls reach a StatsD listener through Airflow's metrics layer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))

from statsd_lines import StatsdSocket, timers, total, totals

pytestmark = pytest.mark.timeout(90)

SCRIPT = Path(__file__).with_name("statsd_run.py")
SIZES = {"a.bin": 100 * 1024, "b.bin": 300 * 1024, "sub/c.bin": 1024 * 1024 + 5}
HOME = "/tempZone/home/rods"


@pytest.fixture
def statsd() -> Iterator[StatsdSocket]:
    with StatsdSocket() as sock:
        yield sock


def test_transfer_totals_retries_and_polls_arrive_at_statsd(irods, statsd, tmp_path) -> None:
    source = tmp_path / "src"
    for rel, size in SIZES.items():
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_bytes(os.urandom(size))
    irods.set_faults(error_503=0.05, seed=11)  # some requests refused "busy": retried by cause http_503
    env = {**os.environ, **statsd.airflow_config()}
    args = {"source": str(source), "collection": f"{HOME}/metrics", "back": str(tmp_path / "back")}
    command = [sys.executable, str(SCRIPT), json.dumps(args)]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=80, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    reports = json.loads(run.stdout.strip().splitlines()[-1])
    injected = irods.injected_faults().get("error_503", 0)
    irods.set_faults(error_503=0.0)
    lines = statsd.received()
    found = totals(lines)

    size = sum(SIZES.values())
    assert reports["up"]["bytes"] == reports["down"]["bytes"] == size
    conn = {"conn_id": "irods_default"}
    assert total(found, "airflow.irods.transfer.bytes", direction="upload", **conn) == size
    assert total(found, "airflow.irods.transfer.bytes", direction="download", **conn) == size
    assert total(found, "airflow.irods.transfer.files", direction="upload", **conn) == len(SIZES)
    assert total(found, "airflow.irods.transfer.files", direction="download", **conn) == len(SIZES)
    assert reports["again"]["skipped"] == len(SIZES)
    assert total(found, "airflow.irods.transfer.files_skipped", direction="upload", **conn) == len(SIZES)
    assert total(found, "airflow.irods.transfer.files_failed") == 0
    # Local transfers have no SFTP side: no ``sftp_conn_id`` tag (staging's own test checks it is there).
    assert not [
        tags
        for (name, tags) in found
        if name.startswith("airflow.irods.transfer.") and any(k == "sftp_conn_id" for k, _ in tags)
    ]
    assert reports["polls"] == [False, False, False]
    polls = total(
        found, "airflow.irods.sensor.polls", sensor="IrodsPathSensor", outcome="waiting", mode="poke", **conn
    )
    assert polls == 3
    # Every 503 the emulator injected was retried once, and counted under its cause.
    assert injected > 0
    assert total(found, "airflow.irods.retries", cause="http_503") == injected
    # Request latency per endpoint: one timing per request sent; the refused ones carry their status.
    requests = timers(lines, "airflow.irods.request.duration")
    endpoints = Counter(tags["endpoint"] for _, tags in requests)
    assert endpoints["data-objects"] >= 2 * len(SIZES), endpoints  # at least a write and a read per file
    assert endpoints["collections"] >= 1, endpoints
    assert all(ms >= 0 for ms, _ in requests)
    assert 0 < sum(tags["status"] == "503" for _, tags in requests) <= injected


def test_deferred_sensors_count_their_polls_from_the_trigger(irods, session, statsd) -> None:
    session.data_objects.write(f"{HOME}/present.bin", b"x")
    env = {**os.environ, **statsd.airflow_config()}
    args = {"missing": f"{HOME}/missing", "present": f"{HOME}/present.bin"}
    script = Path(__file__).with_name("statsd_trigger_run.py")
    command = [sys.executable, str(script), json.dumps(args)]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads(run.stdout.strip().splitlines()[-1]) == [["cancelled"], ["success"], ["error"]]
    found = totals(statsd.received())
    polls = "airflow.irods.sensor.polls"
    deferred = {"mode": "deferred", "conn_id": "irods_default"}
    assert total(found, polls, sensor="IrodsPathSensor", outcome="waiting", **deferred) == 3
    assert total(found, polls, sensor="IrodsPathSensor", outcome="done", **deferred) == 1
    assert total(found, polls, sensor="IrodsCollectionStableSensor", outcome="failed", **deferred) == 1
    assert total(found, polls, mode="poke") == 0
