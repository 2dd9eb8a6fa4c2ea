"""Values rendered with Jinja's ``tojson`` filter are read as JSON: ``true``, ``false`` and ``null`` too.

``metadata="{{ params.meta | tojson }}"`` renders ``{"approved": true}``; the put operators read rendered
dicts and lists as Python literals only, so any JSON boolean failed the task ("not a dict or list literal")
although a bool is an accepted AVU value. Rendered path lists (``paths``) are read the same way.
"""

from __future__ import annotations

import pytest

from irods_provider.exceptions import IrodsInvalidPathError, IrodsUsageError
from irods_provider.operators.catalog import IrodsCreateObjectOperator
from irods_provider.operators.irods import IrodsDeleteOperator, IrodsPutMetadataOperator

HOME = "/tempZone/home/rods"


def rendered(op, params):
    op.render_template_fields(context={"params": params})  # type: ignore[arg-type]
    return op


def test_put_metadata_rendered_with_tojson(session) -> None:
    session.data_objects.write(f"{HOME}/j.csv", b"1\n")
    op = IrodsPutMetadataOperator(task_id="p", path=f"{HOME}/j.csv", metadata="{{ params.meta | tojson }}")
    rendered(op, {"meta": {"approved": True, "rejected": False, "n": 3, "who": "ünï"}}).execute({})
    got = {(a.attribute, a.value, a.units or "") for a in session.metadata.list(f"{HOME}/j.csv")}
    assert got == {("approved", "true", ""), ("rejected", "false", ""), ("n", "3", ""), ("who", "ünï", "")}


def test_create_object_with_a_list_of_avus_rendered_with_tojson(session) -> None:
    op = IrodsCreateObjectOperator(
        task_id="c", path=f"{HOME}/k.txt", content="k", metadata="{{ params.avus | tojson }}"
    )
    avus = [{"attribute": "final", "value": True, "units": "flag"}]
    rendered(op, {"avus": avus}).execute({})
    assert [(a.attribute, a.value, a.units) for a in session.metadata.list(f"{HOME}/k.txt")] == [
        ("final", "true", "flag")
    ]


def test_a_json_null_value_is_refused_naming_the_attribute(session) -> None:
    session.data_objects.write(f"{HOME}/n.csv", b"1\n")
    op = IrodsPutMetadataOperator(task_id="p", path=f"{HOME}/n.csv", metadata="{{ params.meta | tojson }}")
    with pytest.raises(IrodsUsageError, match="'gone'"):
        rendered(op, {"meta": {"gone": None}}).execute({})
    assert session.metadata.list(f"{HOME}/n.csv") == []


def test_delete_paths_rendered_with_tojson(session) -> None:
    for name in ("a", "b"):
        session.data_objects.write(f"{HOME}/{name}", name.encode())
    op = IrodsDeleteOperator(task_id="d", paths="{{ params.paths | tojson }}")
    result = rendered(op, {"paths": [f"{HOME}/a", f"{HOME}/b"]}).execute({})
    assert result["deleted"] == [f"{HOME}/a", f"{HOME}/b"]
    with pytest.raises(IrodsInvalidPathError, match=r"paths\[1\]"):
        IrodsDeleteOperator(task_id="d", paths='["/x", null]').execute({})


@pytest.mark.parametrize("template", ["{{ params.acl }}", "{{ params.acl | tojson }}"])
def test_permissions_rendered_whole(session, irods, template) -> None:
    """A dict template's keys are never rendered, so a templated group name needs the whole dict rendered."""
    from irods_provider.operators.catalog import IrodsSetPermissionsOperator

    session.data_objects.write(f"{HOME}/acl.csv", b"1\n")
    op = IrodsSetPermissionsOperator(task_id="a", path=f"{HOME}/acl.csv", permissions=template)
    result = rendered(op, {"acl": {"alice": "read_object"}}).execute({})
    assert result["permissions"] == {"alice": "read_object"}
    assert ("alice", "read_object") in {
        (p.name, p.perm) for p in session.data_objects.stat(f"{HOME}/acl.csv").permissions
    }


def test_publish_permissions_rendered_whole(session, irods) -> None:
    from irods_provider.operators.publish import IrodsPublishOperator

    session.collections.create(f"{HOME}/ds")
    session.data_objects.write(f"{HOME}/ds/a", b"a")
    op = IrodsPublishOperator(
        task_id="p",
        source_path=f"{HOME}/ds",
        destination_path=f"{HOME}/pub",
        permissions="{{ params.acl | tojson }}",
    )
    rendered(op, {"acl": {"alice": "read_object"}}).execute({})
    assert ("alice", "read_object") in {
        (p.name, p.perm) for p in session.data_objects.stat(f"{HOME}/pub/a").permissions
    }
