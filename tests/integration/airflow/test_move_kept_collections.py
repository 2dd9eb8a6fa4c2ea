"""A tree move from iRODS keeps a collection still holding what was not moved and says so in the report
(``kept_directories``, with the reason), as the SFTP and local operators do."""

from __future__ import annotations

from pathlib import Path

import pytest

from irods_provider.exceptions import IrodsError
from irods_provider.transfers.irods_to_local import IrodsToLocalOperator

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"


def test_a_collection_kept_by_a_move_is_in_the_report_with_its_reason(session, tmp_path: Path) -> None:
    source = f"{HOME}/mvk"
    for name in ("a/x.bin", "b/y.bin"):
        session.collections.create(f"{source}/{name.split('/')[0]}", intermediates=True, exist_ok=True)
        session.data_objects.write(f"{source}/{name}", name.encode())
    (tmp_path / "got" / "b").mkdir(parents=True)
    (tmp_path / "got" / "b" / "y.bin").write_bytes(b"already here")  # y.bin fails: REFUSE
    op = IrodsToLocalOperator(
        task_id="down",
        source_path=source,
        destination_path=str(tmp_path / "got"),
        move=True,
        continue_on_error=True,
    )
    with pytest.raises(IrodsError, match="1 of 2 files failed") as caught:
        op.execute({})
    report = caught.value.report  # type: ignore[attr-defined]
    assert [(k.path, "still holds what was not moved" in k.reason) for k in report.kept_directories] == [
        (f"{source}/b", True)
    ]
    assert not session.collections.exists(f"{source}/a")
    assert session.data_objects.read(f"{source}/b/y.bin") == b"b/y.bin"
    assert report.to_dict()["kept_directories"][0]["path"] == f"{source}/b"
