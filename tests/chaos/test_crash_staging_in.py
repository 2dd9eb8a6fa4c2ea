"""Crash consistency under ``kill -9`` of the SFTP staging into iRODS (``SFTPToIrodsOperator``, from an SFTP
server over two SSH connections): see ``_crash_harness.py`` for the invariants. Apart from the downloads
(``test_crash_downloads_staging.py``) so that two workers share them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _crash_harness import (
    CASES,
    Case,
    KillSwitch,
    Zygote,
    crash_sftp,
    run_kill_points,
    switch,
    zygote,
)

if "irods_provider.testing.pytest_plugin" not in sys.modules:
    from irods_provider.testing.pytest_plugin import irods_emulator, irods_emulator_server  # noqa: F401

__all__ = ["crash_sftp", "switch", "zygote"]

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]

STAGING_IN = [c for c in CASES if c.up and "sftp" in c.path]


@pytest.mark.parametrize("case", STAGING_IN, ids=[c.id for c in STAGING_IN])
def test_kill9_then_retry_keeps_every_invariant(
    case: Case,
    zygote: Zygote,
    switch: KillSwitch,
    irods_emulator: Any,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    run_kill_points(case, zygote, switch, irods_emulator, tmp_path, request)


def test_every_case_runs_in_exactly_one_file() -> None:
    """The cases are split over four files (see ``_crash_harness.py``): none lost, none run twice."""
    import test_crash_downloads_staging as downloads
    import test_crash_uploads as uploads
    import test_crash_uploads_operators as operators

    split = [*uploads.UPLOADS, *operators.OPERATOR_UPLOADS, *STAGING_IN, *downloads.DOWNLOADS_AND_STAGING]
    assert sorted(c.id for c in split) == sorted(c.id for c in CASES)
    assert len({c.id for c in CASES}) == len(CASES)
