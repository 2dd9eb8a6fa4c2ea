"""``staging.py --wan`` pairs each ratio within a round: an operator is compared with its legs measured in the
same round, the figure is the median of the rounds' ratios, and the order of the runs rotates between rounds.

The seventeenth session's runs took each rate's best of two runs made minutes apart, so one leg's drift moved
the ratio (iRODS write leg 45.4 then 51.2 MB/s, upload 41.2 then 41.4: 0.91 then 0.81). Run in a fresh
interpreter (``benchmarks/`` on its path), as ``_bench_smoke.py`` does, so no benchmark module reaches pytest.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(60)

_SCRIPT = """
import json, sys
sys.path.insert(0, "benchmarks")
import _staging_wan as w

calls = []

def run(name, values):
    def measure():
        calls.append(name)
        return list(values[len([c for c in calls if c == name]) - 1])
    return measure

# The upload steady (41.2-41.4 MB/s) while its iRODS leg drifts (45.4, 51.2, 46.0): a run in the middle of
# the machine's quiet spell gives the leg its best rate, not the upload.
blocks = [
    [
        (("sftp_to_irods",), run("up", [[41.2], [41.4], [41.3]])),
        (("sftp_read_alone",), run("read", [[70.0], [71.0], [69.0]])),
        (("irods_write_alone",), run("write", [[45.4], [51.2], [46.0]])),
    ],
    [
        (("at_once_a", "at_once_b"), run("together", [[30.0, 40.0], [31.0, 39.0], [32.0, 38.0]])),
        (("openssh_sftp_get",), run("openssh", [[14.8], [15.0], [14.9]])),
    ],
]
rates, orders = w._run_rounds(blocks, 3)
table = {
    "over_min_leg": ("sftp_to_irods", "sftp_read_alone", "irods_write_alone"),
    "over_openssh": ("sftp_to_irods", "openssh_sftp_get"),
    "over_together": ("sftp_to_irods", "at_once_a", "at_once_b"),
}
figures, per_round = w.paired_ratios(rates, table)
print(json.dumps({"calls": calls, "rates": rates, "orders": orders, "figures": figures, "rounds": per_round}))
"""


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=50, check=False
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_each_ratio_is_the_median_of_its_rounds_ratios_with_their_range(result: dict[str, Any]) -> None:
    figures, rounds = result["figures"], result["rounds"]
    # Per round: 41.2/45.4, 41.4/51.2, 41.3/46.0 (the iRODS leg is the slower one in every round).
    assert rounds["over_min_leg"] == [0.907, 0.809, 0.898]
    assert figures["over_min_leg"] == 0.9  # best upload over best leg would give 41.4/51.2 = 0.81
    assert figures["over_min_leg_range"] == "0.81-0.91"
    assert rounds["over_openssh"] == [2.784, 2.76, 2.772]
    assert (figures["over_openssh"], figures["over_openssh_range"]) == (2.77, "2.76-2.78")
    # Legs run at once yield two rates from one run; the slower of the pair in each round.
    assert rounds["over_together"] == [1.373, 1.335, 1.291]


def test_every_run_happens_once_per_round_and_rates_keep_round_order(result: dict[str, Any]) -> None:
    assert sorted(result["calls"]) == sorted(["up", "read", "write", "together", "openssh"] * 3)
    assert result["rates"]["irods_write_alone"] == [45.4, 51.2, 46.0]
    assert result["rates"]["at_once_b"] == [40.0, 39.0, 38.0]


def test_blocks_and_the_runs_in_them_rotate_so_no_run_is_always_first(result: dict[str, Any]) -> None:
    assert result["orders"] == [
        "sftp_to_irods, sftp_read_alone, irods_write_alone, at_once_a + at_once_b, openssh_sftp_get",
        "openssh_sftp_get, at_once_a + at_once_b, sftp_read_alone, irods_write_alone, sftp_to_irods",
        "irods_write_alone, sftp_to_irods, sftp_read_alone, at_once_a + at_once_b, openssh_sftp_get",
    ]
