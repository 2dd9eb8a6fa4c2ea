"""Counting ``os.lstat``/``os.stat`` of path names process-wide, for tests that prove a destination is asked
once per file."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest


def count_stats(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Patch ``os.lstat`` and ``os.stat`` to count each call on a path name (not a descriptor), by path."""
    seen: Counter[str] = Counter()
    real_lstat, real_stat = os.lstat, os.stat

    def lstat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        seen[os.fspath(path)] += 1
        return real_lstat(path, *args, **kwargs)

    def stat_(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        if not isinstance(path, int):
            seen[os.fspath(path)] += 1
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "lstat", lstat)
    monkeypatch.setattr(os, "stat", stat_)
    return seen
