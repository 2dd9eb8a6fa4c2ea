"""The benchmarks with a cheap mode, run tiny as users run them (a subprocess each, nothing recorded):
the emulator's parallel write on 8 MiB, the kept checksum scheme's cases on 1 MiB, and ``staging.py
--phases`` on 1 MiB each way, whose phase timeline must still show the steps every staging goes through (a
traced function that is no longer called, or no longer through the name the tracer wraps, leaves its phase
out without any error)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from irods_provider.testing.sftp import OpenSshServer

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(180)

# The phases of one staged file each way (benchmarks/_phases.py labels).
UP = {"phase plan", "phase open sftp source", "phase stream bytes", "phase verify irods checksum"}
UP |= {"phase finalize + publish", "phase irods hook.get_conn"}
DOWN = {"phase plan", "phase sftp mkdir + decide", "phase open sftp temp", "phase stream bytes"}
DOWN |= {"phase verify irods checksum", "phase remote sha256sum", "phase publish (sftp rename)"}


def _run(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=170, check=False
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_emulator_parallel_write_8_mib() -> None:
    result = _run("benchmarks/emulator_parallel_write.py", "--size-mib", "8", "--no-record")
    assert result["size"] == 8 * 1024 * 1024
    assert result["checksum_ok"] is True  # the server's checksum of what was written is the source's
    assert result["seconds"] > 0
    assert result["peak_rss_mb"] > 0


@pytest.mark.slow
@pytest.mark.openssh
def test_staging_phases_1_mib_records_every_step_both_ways() -> None:
    reason = OpenSshServer.unavailable_reason()
    if reason is not None:
        pytest.skip(f"staging.py --phases needs Debian's sshd: {reason}")
    result = _run("benchmarks/staging.py", "--phases", "--phases-mib", "1", "--json")
    for op, expected in (("phases_up", UP), ("phases_down", DOWN)):
        run = result[op]
        assert run["http_requests"] > 0
        assert run["sftp_blocking_requests"] > 0
        assert run["ssh_connections"] >= 1
        missing = sorted(expected - set(run["per_label"]))
        assert missing == [], f"{op}: no {missing} in {sorted(run['per_label'])}"
        assert all(label["calls"] >= 1 for label in run["per_label"].values())


def test_scheme_cache_reports_every_case() -> None:
    """1 MiB, one round (``--quick``'s 16 MiB and two rounds spawned 16 processes and cost ~19 CPU s here)."""
    result = _run("benchmarks/scheme_cache.py", "--size-mib", "1", "--rounds", "1", "--no-record", "--json")
    assert (result["size_mib"], result["rounds"]) == (1, 1)
    assert result["cpu_seconds_per_gib_kept"] > 0
    assert result["cpu_seconds_per_gib_not_kept"] > 0
    assert result["cpu_seconds_per_gib_named"] > 0  # a resource named: its scheme kept per resource
    assert result["cpu_seconds_per_gib_rehash"] > 0  # an MD5 answer to a SHA-256 hint: hashed again
