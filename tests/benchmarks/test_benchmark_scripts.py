"""The benchmark scripts keep working although no CI job runs them: each imports and explains its arguments
(``--help``), and every engine function ``benchmarks/_phases.py`` traces by name still exists where it looks
for it and is still called through it, so a rename fails here rather than in the next benchmark run.

Everything runs in one fresh interpreter (``_bench_smoke.py``): the scripts' imports and the tracer's
patches never reach this process. ``staging.py --phases`` itself needs sshd and ~20 s, too slow for here.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"
SCRIPTS = sorted(p.name for p in BENCHMARKS.glob("*.py") if not p.name.startswith("_"))

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("_bench_smoke.py"))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _declared_options(script: str) -> list[str]:
    """The ``--options`` a script's parser declares for users (not the hidden ``help=SUPPRESS`` ones)."""
    options = []
    for node in ast.walk(ast.parse((BENCHMARKS / script).read_text())):
        if not (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument"):
            continue
        hidden = any(k.arg == "help" and getattr(k.value, "attr", None) == "SUPPRESS" for k in node.keywords)
        first = node.args[0] if node.args else None
        if not hidden and isinstance(first, ast.Constant) and str(first.value).startswith("--"):
            options.append(str(first.value))
    return options


def test_every_script_is_checked(report: dict[str, Any]) -> None:
    assert sorted(report["help"]) == SCRIPTS
    assert len(SCRIPTS) >= 9


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_imports_and_explains_its_arguments(report: dict[str, Any], script: str) -> None:
    result = report["help"][script]
    assert result["code"] == 0, result["code"]
    assert result["output"].startswith("usage: "), result["output"][:2000]
    options = _declared_options(script)
    assert options, f"{script} declares no option"
    missing = [option for option in options if option not in result["output"]]
    assert missing == [], f"{script} --help does not list {missing}"


def test_phases_finds_every_traced_function(report: dict[str, Any]) -> None:
    phases = report["phases"]
    assert phases["error"] is None, phases["error"]
    targets = phases["targets"]
    assert len(targets) >= 35, targets  # the tracer's install() really went through its list
    bypassed = [f"{t['owner']}.{t['name']}" for t in targets if t["module_level"] and not t["call_sites"]]
    assert bypassed == [], f"wrapped, but no provider code calls them through their module: {bypassed}"


def test_the_phase_table_names_labels_the_tracer_records(report: dict[str, Any]) -> None:
    """RESULTS.md's phase table (``_staging_wan._PHASES``) reads labels by name: a renamed label would leave
    its column empty without an error."""
    phases = report["phases"]
    labels = {t["label"] for t in phases["targets"] if t["label"]}
    table = [label for label in phases["table_labels"] if label.startswith("phase ")]
    assert len(table) >= 6
    assert [label for label in table if label not in labels] == []
