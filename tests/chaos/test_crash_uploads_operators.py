"""Crash consistency under ``kill -9`` of the upload operator (``LocalToIrodsOperator``, new and overwriting):
see ``_crash_harness.py`` for the invariants. Apart from the client's paths (``test_crash_uploads.py``) so
that two workers share them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _crash_harness import (
    CASES,
    OPERATOR,
    Case,
    KillSwitch,
    Zygote,
    run_kill_points,
    switch,
    zygote,
)

if "irods_provider.testing.pytest_plugin" not in sys.modules:
    from irods_provider.testing.pytest_plugin import irods_emulator, irods_emulator_server  # noqa: F401

__all__ = ["switch", "zygote"]

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]

OPERATOR_UPLOADS = [c for c in CASES if c.up and c.path.startswith(OPERATOR)]


@pytest.mark.parametrize("case", OPERATOR_UPLOADS, ids=[c.id for c in OPERATOR_UPLOADS])
def test_kill9_then_retry_keeps_every_invariant(
    case: Case,
    zygote: Zygote,
    switch: KillSwitch,
    irods_emulator: Any,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    run_kill_points(case, zygote, switch, irods_emulator, tmp_path, request)
