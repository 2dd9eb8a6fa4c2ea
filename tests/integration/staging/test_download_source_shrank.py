"""A data object that shrinks between the plan and its reads is copied as the zone holds it now.

The HTTP API answers a read past the object's end with the bytes there are (0.7.0
endpoints/data_objects/src/main.cpp:1003-1011: ``in.read`` then ``gcount()``), so a read of the planned
size that comes back short means the object is shorter than planned: it changed. ``download_to_sink``
copies an object that changed since the plan once more from the zone's answer now; the short read was
raised as a ``ConnectionError``, which the staging operator took for a lost SSH channel ("retrying on a
new channel") and the first attempt's temporary was kept for a resume no version would ever make.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator

HOME = "/tempZone/home/rods"
CHUNK = 256 * 1024


@pytest.mark.parametrize("shrink", [1, CHUNK + 5])
def test_a_source_that_shrank_after_the_plan(
    remote: Any,
    session: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    shrink: int,
) -> None:
    old = os.urandom(3 * CHUNK + 100)
    new = os.urandom(len(old) - shrink)
    session.data_objects.write(f"{HOME}/shrinks.bin", old)
    planned = IrodsToSFTPOperator.plan_progress

    def replaced_after_the_plan(self: IrodsToSFTPOperator, plan: Any) -> Any:
        session.data_objects.write(f"{HOME}/shrinks.bin", new)  # the plan has stat-ed the old one
        return planned(self, plan)

    monkeypatch.setattr(IrodsToSFTPOperator, "plan_progress", replaced_after_the_plan)
    capsys.readouterr()
    report = IrodsToSFTPOperator(
        task_id="down",
        sftp_conn_id="cluster",
        source_path=f"{HOME}/shrinks.bin",
        destination_path=remote.path("out/"),
        chunk_size=CHUNK,
    ).execute({})
    assert report["transferred"] == 1
    assert report["bytes"] == len(new)
    assert sorted(p.name for p in (remote.dir / "out").iterdir()) == ["shrinks.bin"]  # no temporary kept
    assert (remote.dir / "out" / "shrinks.bin").read_bytes() == new
    assert "SSH channel lost" not in capsys.readouterr().out
