"""``move=True`` on the staging operators refuses a source path with an empty segment before copying:
``.../runs/{{ params.run }}`` rendered with an empty ``run`` moved (copied, then removed) every run."""

from __future__ import annotations

import pytest

from irods_provider.exceptions import IrodsInvalidPathError
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"


def test_staging_moves_whose_source_rendered_an_empty_segment_move_nothing(remote, session) -> None:
    for run in ("run1", "run2"):
        remote.put(f"runs/{run}/a.csv", run.encode())
        session.collections.create(f"{HOME}/runs/{run}", intermediates=True)
        session.data_objects.write(f"{HOME}/runs/{run}/a.csv", run.encode())
    up = SFTPToIrodsOperator(
        task_id="up",
        sftp_conn_id="cluster",
        source_path=remote.path("runs") + "/{{ params.run }}",
        destination_path=f"{HOME}/in",
        move=True,
    )
    down = IrodsToSFTPOperator(
        task_id="down",
        sftp_conn_id="cluster",
        source_path=HOME + "/runs/{{ params.run }}",
        destination_path=remote.path("out"),
        move=True,
    )
    for op in (up, down):
        op.render_template_fields(context={"params": {"run": ""}})  # type: ignore[arg-type]
        with pytest.raises(IrodsInvalidPathError, match=r"source_path .* empty segment"):
            op.execute({})
    assert remote.files("runs") == {"run1/a.csv": b"run1", "run2/a.csv": b"run2"}
    assert [session.data_objects.read(f"{HOME}/runs/{r}/a.csv") for r in ("run1", "run2")] == [
        b"run1",
        b"run2",
    ]
    assert not session.collections.exists(f"{HOME}/in")
