"""Crash consistency under ``kill -9`` of the SFTP staging into iRODS (``SFTPToIrodsOperator``, from an SFTP
server over two SSH connections): see ``_crash_harness.py`` for the invariants. Apart from the downloads
(``test_crash_downloads_staging.py``) so that two workers share them."""

from __future__ import annotations

import pytest
from _crash_harness import CASES, CHAOS_TEST_SECONDS, kill_point_test

pytestmark = [pytest.mark.timeout(CHAOS_TEST_SECONDS), pytest.mark.slow]

STAGING_IN = [c for c in CASES if c.up and "sftp" in c.path]


test_kill9_then_retry_keeps_every_invariant = kill_point_test(STAGING_IN)


def test_every_case_runs_in_exactly_one_file() -> None:
    """The cases are split over four files (see ``_crash_harness.py``): none lost, none run twice."""
    import test_crash_downloads_staging as downloads
    import test_crash_uploads as uploads
    import test_crash_uploads_operators as operators

    split = [*uploads.UPLOADS, *operators.OPERATOR_UPLOADS, *STAGING_IN, *downloads.DOWNLOADS_AND_STAGING]
    assert sorted(c.id for c in split) == sorted(c.id for c in CASES)
    assert len({c.id for c in CASES}) == len(CASES)
