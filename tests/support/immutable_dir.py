"""A directory nobody may remove entries from, root included: ``chattr +i`` (the tests run as root, which
ignores a directory's mode bits, so a ``chmod 0500`` would not refuse anything)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def _chattr(flag: str, path: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["chattr", flag, str(path)], capture_output=True, timeout=10, check=False)


@contextlib.contextmanager
def immutable(directory: Path) -> Iterator[Path]:
    """``directory`` made immutable for the block (its files cannot be removed: EPERM); skips the test where
    the file system or the container refuses ``chattr +i``."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    done = _chattr("+i", directory)
    if done.returncode != 0:
        pytest.skip(f"chattr +i refused here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield directory
    finally:
        _chattr("-i", directory)
