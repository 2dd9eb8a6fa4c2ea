"""scripts/warm_pytest_cache.py writes the cache file pytest writes for a test module, with the same code
(the workers load it in place of rewriting), and pytest accepts it: a failing assert still explains itself."""

from __future__ import annotations

import importlib.util
import marshal
import os
import subprocess
import sys
from pathlib import Path

from _pytest.assertion import rewrite

ROOT = Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location("warm_pytest_cache", ROOT / "scripts" / "warm_pytest_cache.py")
assert SPEC is not None
assert SPEC.loader is not None
warm_pytest_cache = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(warm_pytest_cache)

MODULE = """
def test_compare():
    left = {"a": 1, "b": [1, 2, 3]}
    assert left == {"a": 1, "b": [1, 2, 4]}, "explained"
"""


def _pytest(directory: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": ""}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", str(directory)],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_warmed_cache_holds_what_pytest_writes_and_pytest_uses_it(tmp_path: Path) -> None:
    module = tmp_path / "test_warm_sample.py"
    module.write_text(MODULE)
    pyc = rewrite.get_cache_dir(module) / (module.name[:-3] + rewrite.PYC_TAIL)

    first = _pytest(tmp_path)  # pytest rewrites the module and writes its own cache file
    assert "1 failed" in first.stdout, first.stdout + first.stderr
    by_pytest = pyc.read_bytes()
    pyc.unlink()

    assert warm_pytest_cache.warm(module) is True
    warmed = pyc.read_bytes()
    assert warmed[:16] == by_pytest[:16]  # magic, hash-based flags, the source's hash
    assert marshal.loads(warmed[16:]) == marshal.loads(by_pytest[16:])
    assert warm_pytest_cache.warm(module) is False  # a valid file is left alone

    again = _pytest(tmp_path)  # reads the warmed file: the assert is still rewritten
    assert "1 failed" in again.stdout
    assert "explained" in again.stdout
    assert "[1, 2, 3]" in again.stdout
    assert pyc.read_bytes() == warmed


def test_every_test_module_and_conftest_is_warmed() -> None:
    chosen = set(warm_pytest_cache.rewritten_modules())
    tests = ROOT / "tests"
    assert Path(__file__).resolve() in chosen
    assert tests / "conftest.py" in chosen
    assert ROOT / "irods_provider" / "testing" / "pytest_plugin.py" in chosen
    assert tests / "support" / "checksum_schemes.py" not in chosen  # imported plainly, not rewritten
