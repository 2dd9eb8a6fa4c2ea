"""Crash consistency under ``kill -9`` of the upload operator (``LocalToIrodsOperator``, new and overwriting):
see ``_crash_harness.py`` for the invariants. Apart from the client's paths (``test_crash_uploads.py``) so
that two workers share them."""

from __future__ import annotations

import pytest
from _crash_harness import CASES, CHAOS_TEST_SECONDS, OPERATOR, kill_point_test

pytestmark = [pytest.mark.timeout(CHAOS_TEST_SECONDS), pytest.mark.slow]

OPERATOR_UPLOADS = [c for c in CASES if c.up and c.path.startswith(OPERATOR)]


test_kill9_then_retry_keeps_every_invariant = kill_point_test(OPERATOR_UPLOADS)
