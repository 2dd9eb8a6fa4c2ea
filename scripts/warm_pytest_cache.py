"""Write pytest's cache of rewritten test modules, and the provider's bytecode, once before the workers start.

In a fresh checkout (CI's) every pytest-xdist worker otherwise parses, rewrites and compiles each test module
itself: the workers collect the whole suite at the same time, so they rarely find a cache file another one
wrote. Here the same pytest functions write the same files once, spread over the cores; each worker then loads
them as pytest does on any second run. A file already cached is left alone, and nothing is written when
PYTHONDONTWRITEBYTECODE asks for no bytecode.

``python scripts/warm_pytest_cache.py`` (``make pytest`` runs it first).
"""

from __future__ import annotations

import compileall
import os
import sys
import tomllib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

# Private to pytest, pinned by uv.lock: what its import hook calls (AssertionRewritingHook.exec_module).
from _pytest.assertion import rewrite

ROOT = Path(__file__).resolve().parent.parent
# Modules pytest rewrites besides tests/**/test_*.py and conftest.py: the plugin tests/conftest.py names.
PLUGINS = [ROOT / "irods_provider" / "testing" / "pytest_plugin.py"]
# Imported plainly by the workers (ordinary bytecode, as the first import would write it).
PACKAGES = ["irods_provider", "example_dags", "tests/support"]


def rewritten_modules(root: Path = ROOT) -> list[Path]:
    """The files pytest rewrites when it collects ``tests`` (the default ``python_files`` patterns)."""
    tests = sorted(p for p in (root / "tests").rglob("*.py") if "__pycache__" not in p.parts)
    chosen = [
        p
        for p in tests
        if p.name == "conftest.py" or p.name.startswith("test_") or p.name.endswith("_test.py")
    ]
    return chosen + [p for p in PLUGINS if p.exists()]


def warm(path: Path) -> bool:
    """Rewrite ``path`` into pytest's pyc unless a valid one is there; True when one was written."""
    pyc = rewrite.get_cache_dir(path) / (path.name[:-3] + rewrite.PYC_TAIL)
    if rewrite._read_pyc(path, pyc) is not None:
        return False
    # config=None: rewritten as pytest does with this project's settings (no enable_assertion_pass_hook).
    source_hash, code = rewrite._rewrite_test(path, None)  # type: ignore[arg-type]
    pyc.parent.mkdir(exist_ok=True)
    partial = pyc.with_name(f"{pyc.name}.{os.getpid()}")
    with partial.open("wb") as out:
        rewrite._write_pyc_fp(out, source_hash, code)
    os.replace(partial, pyc)  # atomic, as pytest's own writer: a reader sees the whole file or none
    return True


def main() -> int:
    if sys.dont_write_bytecode:
        return 0
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    if options.get("enable_assertion_pass_hook"):
        return 0  # that setting changes the rewritten code; leave the cache to pytest
    for package in PACKAGES:
        compileall.compile_dir(ROOT / package, quiet=1, workers=0)
    with ProcessPoolExecutor() as pool:
        written = sum(pool.map(warm, rewritten_modules(), chunksize=16))
    print(f"pytest cache: {written} test modules rewritten ahead of the workers", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
