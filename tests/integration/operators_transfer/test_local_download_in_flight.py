"""IrodsToLocalOperator over a collection another client is still writing into.

The complete objects are downloaded (and with ``move`` removed); the one being written is left out of the
plan, reported as skipped with the reason and never removed (it was not downloaded); a selection whose
only match is still being written fails like an empty one, saying so (it has not arrived yet).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from irods_provider.client.transfer._leftout import BEING_WRITTEN
from irods_provider.exceptions import IrodsNotFoundError
from irods_provider.transfers.irods_to_local import IrodsToLocalOperator

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"


def being_written(session, path: str) -> str:
    handle = session.data_objects.parallel_write_init(path, stream_count=1)
    session.data_objects.write(None, b"partial", parallel_write_handle=handle, stream_index=0, offset=0)
    return handle


def test_move_removes_only_what_was_downloaded(session, tmp_path: Path) -> None:
    session.collections.create(f"{HOME}/inst/sub", intermediates=True)
    session.data_objects.write(f"{HOME}/inst/run1.h5", b"one")
    session.data_objects.write(f"{HOME}/inst/sub/run2.h5", b"two")
    handle = being_written(session, f"{HOME}/inst/sub/run3.h5")
    report = IrodsToLocalOperator(
        task_id="down",
        source_path=f"{HOME}/inst/**/*.h5",
        glob=True,
        destination_path=str(tmp_path),
        move=True,
    ).execute({})
    assert (report["transferred"], report["skipped"], report["failed"]) == (2, 1, 0)
    skipped = [f for f in report["files"] if f["status"] == "skipped"]
    assert [(f["source"], f["reason"]) for f in skipped] == [(f"{HOME}/inst/sub/run3.h5", BEING_WRITTEN)]
    assert sorted(p.name for p in tmp_path.rglob("*.h5")) == ["run1.h5", "run2.h5"]
    left = {e.path for e in session.collections.iterate(f"{HOME}/inst", recursive=True)}
    assert left == {f"{HOME}/inst/sub", f"{HOME}/inst/sub/run3.h5"}  # kept, and so is its collection
    session.data_objects.parallel_write_shutdown(handle)
    assert session.data_objects.read(f"{HOME}/inst/sub/run3.h5") == b"partial"


def test_a_selection_whose_only_match_is_being_written_has_not_arrived(session, tmp_path: Path) -> None:
    session.collections.create(f"{HOME}/only")
    being_written(session, f"{HOME}/only/run1.h5")
    with pytest.raises(IrodsNotFoundError, match="cannot be read yet") as caught:
        IrodsToLocalOperator(
            task_id="down", source_path=f"{HOME}/only/*.h5", glob=True, destination_path=str(tmp_path)
        ).execute({})
    assert f"{HOME}/only/run1.h5" in str(caught.value)
    report = IrodsToLocalOperator(
        task_id="down",
        source_path=f"{HOME}/only/*.h5",
        glob=True,
        destination_path=str(tmp_path),
        fail_if_empty=False,
    ).execute({})
    assert (report["transferred"], report["skipped"]) == (0, 1)
