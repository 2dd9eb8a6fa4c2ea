"""A traced run's write ramp (``benchmarks/_phases.py``): when the first iRODS write left, when every write
stream had sent one, when the last write was answered, in ms from the operation's start.

An upload's fixed cost shows there beside its iRODS leg's (a 256 MiB staged upload over the WAN model: first
write 503 ms, every stream writing at 1700 ms; its leg 240 and 299 ms). Run in a fresh interpreter
(``benchmarks/`` on its path), as ``_bench_smoke.py`` does, so no benchmark module reaches pytest.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(60)

_SCRIPT = """
import json, sys, time
sys.path.insert(0, "benchmarks")
import _phases, _staging_wan

now = time.perf_counter()
_phases._t0 = now - 10.0  # the operation ran from 8.0 s to 10.0 s on the timeline
_phases._events[:] = [
    (8.05, 8.09, "MainThread", "http authenticate"),
    (8.50, 8.58, "irods-write_0", "http data_objects.write"),
    (8.60, 9.70, "irods-write_0", "http data_objects.write"),
    (8.90, 9.95, "irods-write_1", "http data_objects.write"),
    (8.55, 8.56, "sftp-range-0", "piece read"),
]
traced = _phases.summary(2.0)
keys = ("first_write_ms", "all_streams_writing_ms", "last_write_answered_ms", "http_requests")
_phases._events[:] = [(8.05, 8.09, "MainThread", "sftp lstat")]
none = _phases.summary(2.0)
print(json.dumps({
    "traced": {k: traced[k] for k in keys},
    "none": {k: none[k] for k in keys[:3]},
    "text": _staging_wan._ramp_text(traced),
    "no_text": _staging_wan._ramp_text(none),
}))
"""


def test_the_write_ramp_is_read_from_the_traced_writes() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=50, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    # From the operation's start (8.0 s): first write at 8.50, the second stream's first at 8.90, the last
    # answer at 9.95; a piece read is no request.
    assert out["traced"] == {
        "first_write_ms": 500,
        "all_streams_writing_ms": 900,
        "last_write_answered_ms": 1950,
        "http_requests": 4,
    }
    assert out["none"] == dict.fromkeys(
        ("first_write_ms", "all_streams_writing_ms", "last_write_answered_ms")
    )
    assert out["text"].endswith(
        "first iRODS write at 500, every write stream writing at 900, last write answered at 1950"
    )
    assert out["no_text"] == ""
