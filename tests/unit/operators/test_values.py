"""The shared argument parsers: typed AVU values, rendered lists, the '+' rule and the irods_safe filter."""

from __future__ import annotations

import pytest

from irods_provider._values import irods_safe, literal_list, parse_avus, refuse_unaddressable
from irods_provider.exceptions import IrodsInvalidPathError, IrodsUsageError
from irods_provider.operators.irods import IrodsCreateCollectionOperator, IrodsDeleteOperator
from irods_provider.operators.transfer import LocalToIrodsOperator
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

RUN_ID = "manual__2026-12-04T18:00:00.123456+00:00"


def test_scalar_values_are_typed_not_split() -> None:
    assert parse_avus({"size": 1024, "ratio": 0.5, "ok": True, "no": False, "name": "x"}) == [
        ("size", "1024", ""),
        ("ratio", "0.5", ""),
        ("ok", "true", ""),
        ("no", "false", ""),
        ("name", "x", ""),
    ]


def test_explicit_units_forms() -> None:
    assert parse_avus({"size": (1024, "B"), "t": {"value": 3.5, "units": "s"}, "u": {"value": "v"}}) == [
        ("size", "1024", "B"),
        ("t", "3.5", "s"),
        ("u", "v", ""),
    ]


def test_a_list_value_is_refused_never_split_into_value_and_units() -> None:
    with pytest.raises(IrodsUsageError, match=r"metadata\['size'\].*got list \[1024, 2\]"):
        parse_avus({"size": [1024, 2]})


def test_a_dict_value_is_refused_never_stringified() -> None:
    with pytest.raises(IrodsUsageError, match=r"metadata\['cfg'\]: a dict value needs the keys"):
        parse_avus({"cfg": {"a": 1}})


def test_rendered_strings_are_parsed_as_literals_never_evaluated() -> None:
    assert parse_avus("{'a': 1, 'b': ('2', 'kg')}") == [("a", "1", ""), ("b", "2", "kg")]
    assert parse_avus('[["a", "1", "m"]]') == [("a", "1", "m")]
    with pytest.raises(IrodsUsageError, match="not a dict or list literal"):
        parse_avus("{'a': __import__('os').getcwd()}")


def test_empty_metadata_allowed_only_where_optional() -> None:
    assert parse_avus(None, allow_empty=True) == []
    assert parse_avus({}, allow_empty=True) == []
    with pytest.raises(IrodsUsageError, match="metadata is empty"):
        parse_avus({})


def test_literal_list() -> None:
    assert literal_list("paths", "['/z/a', '/z/b']") == ["/z/a", "/z/b"]
    assert literal_list("paths", "/z/a") == "/z/a"
    assert literal_list("paths", "[not a literal") == "[not a literal"
    assert literal_list("paths", ["/z/a"]) == ["/z/a"]


def test_irods_safe_and_the_plus_rule() -> None:
    assert irods_safe(RUN_ID) == "manual__2026-12-04T18:00:00.123456_00:00"
    assert refuse_unaddressable("path", "/z/home/u/a#b[1] é") == "/z/home/u/a#b[1] é"
    with pytest.raises(IrodsInvalidPathError, match=r"contains '\+'.*nothing was written.*irods_safe") as err:
        refuse_unaddressable("destination_path", f"/z/home/u/{RUN_ID}")
    assert err.value.path == f"/z/home/u/{RUN_ID}"


def test_templates_have_the_irods_safe_filter_and_run_id() -> None:
    context = {"run_id": RUN_ID}
    op = IrodsCreateCollectionOperator(task_id="c", path="/z/home/u/{{ run_id | irods_safe }}")
    op.render_template_fields(context=context)  # type: ignore[arg-type]
    assert op.path == "/z/home/u/manual__2026-12-04T18:00:00.123456_00:00"
    up = LocalToIrodsOperator(
        task_id="u", source_path="/tmp/x", destination_path="/z/{{ irods_safe_run_id }}/"
    )
    up.render_template_fields(context={"run_id": RUN_ID})  # type: ignore[arg-type]
    assert up.destination_path == "/z/manual__2026-12-04T18:00:00.123456_00:00/"
    st = SFTPToIrodsOperator(task_id="s", source_path="/x", destination_path="/z/{{ run_id | irods_safe }}")
    st.render_template_fields(context={"run_id": RUN_ID})  # type: ignore[arg-type]
    assert "+" not in st.destination_path


def test_a_rendered_list_of_paths_is_accepted() -> None:
    op = IrodsDeleteOperator(task_id="d", paths="{{ params.paths }}")
    op.render_template_fields(context={"params": {"paths": ["/z/a", "/z/b"]}})  # type: ignore[arg-type]
    assert op.paths == "['/z/a', '/z/b']"  # what a non-native template renders
    from irods_provider.operators._base import check_paths

    assert check_paths("paths", op.paths) == ["/z/a", "/z/b"]


def test_sensors_have_the_filter_too() -> None:
    from irods_provider.sensors.irods import IrodsPathSensor

    sensor = IrodsPathSensor(task_id="w", path="/z/{{ run_id | irods_safe }}/*.h5")
    sensor.render_template_fields(context={"run_id": RUN_ID})  # type: ignore[arg-type]
    assert sensor.path == "/z/manual__2026-12-04T18:00:00.123456_00:00/*.h5"
