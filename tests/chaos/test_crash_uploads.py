"""Crash consistency under ``kill -9`` of the client's write paths from local files to iRODS
(``upload_object``, ``parallel_upload``, ``open_writer``, fsspec, the overwrite in place): see
``_crash_harness.py`` for the invariants (the upload operator's: ``test_crash_uploads_operators.py``)."""

from __future__ import annotations

import pytest
from _crash_harness import CASES, CHAOS_TEST_SECONDS, OPERATOR, kill_point_test

pytestmark = [pytest.mark.timeout(CHAOS_TEST_SECONDS), pytest.mark.slow]

UPLOADS = [c for c in CASES if c.up and "sftp" not in c.path and not c.path.startswith(OPERATOR)]


test_kill9_then_retry_keeps_every_invariant = kill_point_test(UPLOADS)
