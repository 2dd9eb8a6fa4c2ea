"""LocalToIrodsOperator plans a local tree once: the refusal of unstorable names runs on the plan the upload
uses (one listing of each directory, one "cannot list" warning, no window where two plans differ)."""

from __future__ import annotations

import collections
import errno
import logging
import os
from pathlib import Path

import pytest

from irods_provider.client.transfer import FileStatus
from irods_provider.exceptions import IrodsError, IrodsInvalidPathError
from irods_provider.operators.transfer import LocalToIrodsOperator

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"


@pytest.fixture
def listings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> collections.Counter[str]:
    """``src/{a.txt, d/b.txt, d/e/c.txt, locked/x.txt}``, ``locked`` refused (EACCES, also as root), and
    how many times each directory was listed (``os.scandir``)."""
    src = tmp_path / "src"
    for name in ("a.txt", "d/b.txt", "d/e/c.txt", "locked/x.txt"):
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(name.encode())
    locked = str(src / "locked")
    seen: collections.Counter[str] = collections.Counter()
    real = os.scandir

    def scandir(path=".", *args, **kwargs):  # type: ignore[no-untyped-def]
        if not isinstance(path, int):
            seen[os.fspath(path)] += 1
            if os.fspath(path) == locked:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), locked)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", scandir)
    return seen


def test_each_directory_is_listed_once_and_the_unlistable_one_warned_once(
    irods: object,
    session: object,
    tmp_path: Path,
    listings: collections.Counter[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    src = tmp_path / "src"
    op = LocalToIrodsOperator(
        task_id="u", source_path=str(src), destination_path=f"{HOME}/once", continue_on_error=True
    )
    with caplog.at_level(logging.WARNING), pytest.raises(IrodsError, match="1 of 4 files failed") as caught:
        op.execute({})
    report = caught.value.report  # type: ignore[attr-defined]
    assert [f.source for f in report.files if f.status is FileStatus.FAILED] == [str(src / "locked")]
    assert session.data_objects.read(f"{HOME}/once/d/e/c.txt") == b"d/e/c.txt"  # type: ignore[attr-defined]
    tree = {path: n for path, n in listings.items() if path.startswith(str(src))}
    assert tree == {str(src / d) if d else str(src): 1 for d in ("", "d", "d/e", "locked")}
    warned = [r for r in caplog.records if "cannot list" in r.getMessage()]
    assert len(warned) == 1, [r.getMessage() for r in warned]
    assert str(src / "locked") in warned[0].getMessage()


def test_an_unstorable_name_is_refused_before_any_file_with_one_listing(
    irods: object, session: object, tmp_path: Path, listings: collections.Counter[str]
) -> None:
    src = tmp_path / "src"
    (src / "d" / "bad\nname.txt").write_bytes(b"x")
    op = LocalToIrodsOperator(
        task_id="u", source_path=str(src), destination_path=f"{HOME}/refused", continue_on_error=True
    )
    with pytest.raises(IrodsInvalidPathError, match=r"cannot store|cannot address"):
        op.execute({})
    assert not session.collections.exists(f"{HOME}/refused")  # type: ignore[attr-defined]
    assert listings[str(src / "d")] == 1
