"""The upstream server's own test suite of each release (0.4.0 to 0.7.0) against the matching profile.

Strict: every test must end exactly as ``expected.py`` says — the listed passes pass, the listed known
failures fail, the skip count matches. An unexpected pass, an unexpected failure, an error or a different
skip count fails. The suites run concurrently, each in its own subprocess (run_upstream.py: emulator
+ upstream pytest in a temporary copy), to keep the wall time near that of the slowest suite.
A missing upstream suite skips locally but fails when the environment variable ``CI`` is set.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from expected import EXPECTED_PASS, EXPECTED_SKIPPED, KNOWN_FAILURES
from run_upstream import VERSIONS, upstream_path

HERE = Path(__file__).resolve().parent
TIMEOUT = 280.0


def _selected_versions(request: pytest.FixtureRequest) -> list[str]:
    """The versions whose test was collected (``-k 0.6.0`` runs one suite, not all four)."""
    ids = {item.nodeid for item in request.session.items}
    return [v for v in VERSIONS if any(i.endswith(f"[{v}]") for i in ids)] or list(VERSIONS)


@pytest.fixture(scope="module")
def upstream_results(request: pytest.FixtureRequest) -> dict[str, list[dict[str, str]] | str]:
    """Outcomes per version (a list of ``{test, status, message}``), or why the suite could not run."""
    procs: dict[str, subprocess.Popen[str]] = {}
    results: dict[str, list[dict[str, str]] | str] = {}
    for version in _selected_versions(request):
        if not upstream_path(version).is_dir():
            where = upstream_path(version)
            results[version] = f"upstream suite not found at {where} (set IRODS_UPSTREAM_DIR)"
            continue
        procs[version] = subprocess.Popen(
            [sys.executable, str(HERE / "run_upstream.py"), "--api-version", version, "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    for version, proc in procs.items():
        try:
            out, err = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            results[version] = f"upstream suite {version} did not finish within {TIMEOUT} s"
            continue
        if proc.returncode != 0:
            results[version] = f"runner exited {proc.returncode}: {err[-2000:]}"
            continue
        results[version] = json.loads(out)
    return results


@pytest.mark.timeout(300)
@pytest.mark.parametrize("version", VERSIONS)
def test_upstream_suite_ends_exactly_as_expected(
    version: str, upstream_results: dict[str, list[dict[str, str]] | str]
) -> None:
    result = upstream_results[version]
    if isinstance(result, str) and "not found" in result:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {result}")
        pytest.skip(result)
    assert not isinstance(result, str), result
    by_status: dict[str, dict[str, str]] = {"passed": {}, "failed": {}, "error": {}, "skipped": {}}
    for outcome in result:
        by_status[outcome["status"]][outcome["test"]] = outcome["message"]
    passed, known = EXPECTED_PASS[version], KNOWN_FAILURES[version]
    failed = {**by_status["failed"], **by_status["error"]}
    problems = {
        "expected to pass, did not": sorted(passed - set(by_status["passed"])),
        "passed unexpectedly (update expected.py)": sorted(set(by_status["passed"]) - passed),
        "failed unexpectedly": [f"{t}: {m}" for t, m in sorted(failed.items()) if t not in known],
        "known failure that did not fail": sorted(set(known) - set(failed)),
        "errors": sorted(by_status["error"]),
    }
    problems = {k: v for k, v in problems.items() if v}
    assert not problems, json.dumps(problems, indent=1)
    assert len(by_status["skipped"]) == EXPECTED_SKIPPED[version], sorted(by_status["skipped"])
    assert len(result) == len(passed) + len(known) + EXPECTED_SKIPPED[version]
