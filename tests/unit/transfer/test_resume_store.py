"""The private resume-state store of staging: records only this user can read, refused when not private."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from irods_provider.transfers._resume_store import ResumeStore


def test_records_round_trip_in_a_private_directory(tmp_path: Path) -> None:
    store = ResumeStore(tmp_path / "state")
    key = ResumeStore.key("dag", "task", "run", -1, "host:22", "/zone/a", 10, "sha2:x", "/dst/a")
    assert key != ResumeStore.key("dag", "task", "run2", -1, "host:22", "/zone/a", 10, "sha2:x", "/dst/a")
    assert store.load(key) is None
    assert store.save(key, {"temp": ".a.irods-part-0123456789abcdef", "uid": 1000})
    assert store.load(key) == {"v": 1, "temp": ".a.irods-part-0123456789abcdef", "uid": 1000}
    assert (tmp_path / "state").stat().st_mode & 0o777 == 0o700
    assert ((tmp_path / "state") / f"{key}.json").stat().st_mode & 0o777 == 0o600
    store.drop(key)
    assert store.load(key) is None


@pytest.mark.parametrize("kind", ["group-readable", "symlink"])
def test_a_directory_others_can_reach_disables_resume(tmp_path: Path, kind: str) -> None:
    directory = tmp_path / "state"
    if kind == "group-readable":
        directory.mkdir(mode=0o755)
        os.chmod(directory, 0o755)
    else:
        (tmp_path / "real").mkdir(mode=0o700)
        directory.symlink_to(tmp_path / "real")
    store = ResumeStore(directory)
    assert store.save("k", {"temp": "x"}) is False
    assert store.load("k") is None
    assert list((tmp_path).rglob("*.json")) == []


def test_the_environment_names_the_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IRODS_PROVIDER_STATE_DIR", str(tmp_path / "env"))
    assert ResumeStore().directory == tmp_path / "env" / "staging-resume"
