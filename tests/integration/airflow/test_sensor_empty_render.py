"""A path or ``under`` template that renders empty must not widen a metadata wait to the whole zone."""

from __future__ import annotations

import pytest

from irods_provider.client import AVU
from irods_provider.exceptions import IrodsUsageError
from irods_provider.sensors.irods import IrodsMetadataSensor

HOME = "/tempZone/home/rods"


@pytest.mark.parametrize("where", ["path", "under"])
@pytest.mark.parametrize("deferrable", [False, True])
def test_an_empty_rendered_path_or_under_is_refused(session, where, deferrable) -> None:
    session.collections.create(f"{HOME}/other_run")
    session.metadata.add(f"{HOME}/other_run", AVU("status", "approved"))  # some other run, approved
    sensor = IrodsMetadataSensor(
        task_id="s",
        attribute="status",
        value="approved",
        deferrable=deferrable,
        **{where: "{{ params.get('run_dir', '') }}"},
    )
    sensor.render_template_fields({"params": {}})
    assert getattr(sensor, where) == ""
    with pytest.raises(IrodsUsageError, match=where):
        sensor.execute({})
