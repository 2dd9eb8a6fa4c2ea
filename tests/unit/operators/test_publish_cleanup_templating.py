"""The publish and cleanup operators render their path, metadata and permission arguments."""

from __future__ import annotations

from irods_provider.operators.cleanup import IrodsCleanupTemporaryObjectsOperator
from irods_provider.operators.publish import IrodsPublishOperator

CONTEXT = {"ds": "2026-11-25", "params": {"zone": "tempZone", "perm": "read_object"}}
HOME = "/{{ params.zone }}/home/rods"


def test_publish_renders_paths_metadata_and_permissions() -> None:
    op = IrodsPublishOperator(
        task_id="p",
        source_path=f"{HOME}/staging/{{{{ ds }}}}",
        destination_path="/{{ params.zone }}/home/public/{{ ds }}",
        metadata={"day": ("{{ ds }}", "date")},
        permissions={"project_x": "{{ params.perm }}"},  # Airflow renders values, not keys
    )
    op.render_template_fields(context=CONTEXT)
    assert (op.source_path, op.destination_path) == (
        "/tempZone/home/rods/staging/2026-11-25",
        "/tempZone/home/public/2026-11-25",
    )
    assert op.metadata == {"day": ("2026-11-25", "date")}
    assert op.permissions == {"project_x": "read_object"}
    assert "irods_conn_id" in IrodsPublishOperator.template_fields


def test_cleanup_renders_its_path() -> None:
    op = IrodsCleanupTemporaryObjectsOperator(task_id="c", path=f"{HOME}/runs/{{{{ ds }}}}")
    op.render_template_fields(context=CONTEXT)
    assert op.path == "/tempZone/home/rods/runs/2026-11-25"
    assert op.min_age_seconds == 24 * 3600
