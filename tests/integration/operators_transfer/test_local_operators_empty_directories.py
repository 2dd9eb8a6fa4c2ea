"""The local transfer operators copy a tree's empty directories and report them in XCom like files.

Against the emulator (``irods_default``); ``plan_only`` lists them as planned and creates nothing; a name
iRODS cannot store is refused before anything is created, for a directory as for a file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from irods_provider.exceptions import IrodsInvalidPathError
from irods_provider.transfers.irods_to_local import IrodsToLocalOperator
from irods_provider.transfers.local_to_irods import LocalToIrodsOperator

pytestmark = pytest.mark.timeout(120)

HOME = "/tempZone/home/rods"
DIRS = ["checkpoints", "logs", "logs/rank0", "out"]


def _tree(root: Path) -> Path:
    for directory in DIRS:
        (root / directory).mkdir(parents=True, exist_ok=True)
    (root / "out" / "result.bin").write_bytes(b"\x00result")
    return root


def _up(source: Path, destination: str, **kwargs: object) -> dict:
    return LocalToIrodsOperator(
        task_id="up", source_path=str(source), destination_path=destination, **kwargs
    ).execute({})


def test_plan_only_lists_the_directories_and_creates_nothing(session, tmp_path) -> None:
    src = _tree(tmp_path / "job")
    report = _up(src, f"{HOME}/plan", plan_only=True)
    assert not session.collections.exists(f"{HOME}/plan")
    assert report["directories"] == [
        {"source": str(src / d), "destination": f"{HOME}/plan/{d}", "status": "planned"} for d in DIRS
    ]
    assert report["directory_count"] == len(DIRS)


def test_a_round_trip_keeps_the_empty_directories(session, tmp_path) -> None:
    src = _tree(tmp_path / "job")
    up = _up(src, f"{HOME}/trip")
    assert [d["status"] for d in up["directories"]] == ["present"] * len(DIRS)
    assert session.collections.exists(f"{HOME}/trip/logs/rank0")
    down = IrodsToLocalOperator(
        task_id="down", source_path=f"{HOME}/trip", destination_path=str(tmp_path / "back")
    ).execute({})
    back = tmp_path / "back"
    assert sorted(p.relative_to(back).as_posix() for p in back.rglob("*") if p.is_dir()) == DIRS
    assert (back / "out" / "result.bin").read_bytes() == b"\x00result"
    assert down["directory_count"] == len(DIRS)


def test_the_xcom_list_of_directories_is_bounded(session, tmp_path) -> None:
    src = tmp_path / "many"
    for i in range(200):
        (src / f"empty-{i:03}").mkdir(parents=True)
    report = _up(src, f"{HOME}/many", max_report_bytes=2000)
    assert report["directory_count"] == 200
    assert 0 < len(report["directories"]) < 200
    assert session.collections.exists(f"{HOME}/many/empty-199")


def test_a_directory_name_irods_cannot_store_is_refused_up_front(session, tmp_path) -> None:
    src = _tree(tmp_path / "job")
    (src / "line\nbreak").mkdir()
    with pytest.raises(IrodsInvalidPathError, match="control characters"):
        _up(src, f"{HOME}/bad")
    assert not session.collections.exists(f"{HOME}/bad")
