"""Operators and sensors without a server: template rendering, keyword-only arguments, AVU parsing."""

from __future__ import annotations

import datetime as dt

import pytest

from irods_provider.exceptions import IrodsInvalidPathError, IrodsUsageError
from irods_provider.operators._base import check_path, check_paths
from irods_provider.operators.irods import (
    IrodsCopyOperator,
    IrodsCreateCollectionOperator,
    IrodsDeleteOperator,
    IrodsGetMetadataOperator,
    IrodsListCollectionOperator,
    IrodsMoveOperator,
    IrodsPathExistsOperator,
    IrodsPutMetadataOperator,
    IrodsRemoveMetadataOperator,
)
from irods_provider.operators.metadata import parse_avus
from irods_provider.sensors.irods import (
    IrodsCollectionStableSensor,
    IrodsMetadataSensor,
    IrodsPathSensor,
    _epoch,
)

CONTEXT = {"ds": "2026-11-25", "params": {"zone": "tempZone", "user": "rods", "state": "ready"}}
HOME = "/{{ params.zone }}/home/{{ params.user }}"


def _render(op):
    op.render_template_fields(context=CONTEXT)
    return op


def test_path_arguments_render() -> None:
    ops = [
        IrodsCreateCollectionOperator(task_id="a", path=f"{HOME}/run_{{{{ ds }}}}"),
        IrodsPathExistsOperator(task_id="b", path=f"{HOME}/x"),
        IrodsListCollectionOperator(task_id="c", path=HOME, pattern="{{ ds }}*.csv", regex="^{{ ds }}"),
        IrodsDeleteOperator(task_id="d", paths=[f"{HOME}/a", f"{HOME}/b"]),
        IrodsCopyOperator(task_id="e", source_path=f"{HOME}/a", destination_path=f"{HOME}/{{{{ ds }}}}"),
        IrodsMoveOperator(task_id="f", source_path=f"{HOME}/a", destination_path=f"{HOME}/b"),
    ]
    for op in ops:
        _render(op)
    assert ops[0].path == "/tempZone/home/rods/run_2026-11-25"
    assert ops[1].path == "/tempZone/home/rods/x"
    assert (ops[2].path, ops[2].pattern, ops[2].regex) == (
        "/tempZone/home/rods",
        "2026-11-25*.csv",
        "^2026-11-25",
    )
    assert ops[3].paths == ["/tempZone/home/rods/a", "/tempZone/home/rods/b"]
    assert ops[4].destination_path == "/tempZone/home/rods/2026-11-25"
    assert ops[5].source_path == "/tempZone/home/rods/a"


def test_metadata_arguments_render() -> None:
    put = _render(
        IrodsPutMetadataOperator(
            task_id="p", path=HOME, metadata={"state": "{{ params.state }}", "day": ("{{ ds }}", "date")}
        )
    )
    assert put.metadata == {"state": "ready", "day": ("2026-11-25", "date")}
    get = _render(IrodsGetMetadataOperator(task_id="g", path=HOME, attribute="{{ params.state }}"))
    assert get.attribute == "ready"
    rm = _render(IrodsRemoveMetadataOperator(task_id="r", path=HOME, attribute="a", value="{{ ds }}"))
    assert (rm.path, rm.value) == ("/tempZone/home/rods", "2026-11-25")


def test_sensor_arguments_render() -> None:
    path = _render(IrodsPathSensor(task_id="s1", path=f"{HOME}/*.csv", newer_than="{{ ds }}T00:00:00+00:00"))
    assert path.path == "/tempZone/home/rods/*.csv"
    assert _epoch(path.newer_than) == int(dt.datetime(2026, 11, 25, tzinfo=dt.UTC).timestamp())
    meta = _render(IrodsMetadataSensor(task_id="s2", attribute="{{ params.state }}", under=HOME))
    assert (meta.attribute, meta.under) == ("ready", "/tempZone/home/rods")
    stable = _render(IrodsCollectionStableSensor(task_id="s3", path=HOME, inactivity_period=5))
    assert stable.path == "/tempZone/home/rods"


def test_conn_id_is_templated_everywhere() -> None:
    for cls in (
        IrodsCreateCollectionOperator,
        IrodsDeleteOperator,
        IrodsPathSensor,
        IrodsPutMetadataOperator,
    ):
        assert "irods_conn_id" in cls.template_fields
        assert isinstance(cls.template_fields, tuple)


def test_arguments_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        IrodsPathExistsOperator("/tempZone/home", task_id="x")  # type: ignore[misc]


def test_newer_than_needs_a_time_zone() -> None:
    with pytest.raises(IrodsUsageError, match="must carry a time zone"):
        _epoch("2026-11-25T00:00:00")
    with pytest.raises(IrodsUsageError, match="ISO-8601"):
        _epoch("yesterday")
    assert _epoch(1700000000) == 1700000000
    assert _epoch(None) is None


def test_paths_are_validated() -> None:
    assert check_path("path", "/z/home/a/") == "/z/home/a"
    with pytest.raises(IrodsInvalidPathError, match="path must be an absolute iRODS path, got 'z/home'"):
        check_path("path", "z/home")
    with pytest.raises(IrodsInvalidPathError, match=r"paths\[1\] must be an absolute"):
        check_paths("paths", ["/z/a", ""])
    with pytest.raises(IrodsInvalidPathError, match="non-empty list of paths"):
        check_paths("paths", [])


def test_avu_forms() -> None:
    assert parse_avus({"a": "1", "b": ("2", "kg"), "c": 3}) == [
        ("a", "1", ""),
        ("b", "2", "kg"),
        ("c", "3", ""),
    ]
    assert parse_avus([{"attribute": "a", "value": "1"}, ("b", "2", "m"), ["c", "3"]]) == [
        ("a", "1", ""),
        ("b", "2", "m"),
        ("c", "3", ""),
    ]


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({}, "metadata is empty"),
        ("a=1", "metadata must be a dict or a list of AVUs, got str"),
        ({"a": ""}, r"metadata\['a'\]: iRODS needs a non-empty attribute and value"),
        ({"": "x"}, r"metadata\[''\]: iRODS needs a non-empty attribute and value"),
        ([{"attribute": "a"}], r"metadata\[0\]: an AVU needs the keys attribute, value"),
        ([{"attribute": "a", "value": "1", "unit": "x"}], r"metadata\[0\]: an AVU needs the keys"),
        ([("a",)], r"metadata\[0\]: an AVU is a dict or an \(attribute, value\[, units\]\) list"),
        ({"a": None}, r"metadata\['a'\]: a value must be a string, a number or a bool.*got NoneType None"),
        ({"a": [1024, 2]}, r"metadata\['a'\]: a value must be .*got list \[1024, 2\]"),
        ({"a": {"x": 1}}, r"metadata\['a'\]: a dict value needs the keys \"value\""),
        ({"a": ("1", "kg", "x")}, r"metadata\['a'\]: a tuple value is \(value, units\), got 3 items"),
        ({"a": float("nan")}, r"metadata\['a'\]: nan is not a finite number"),
    ],
)
def test_bad_avu_input_is_named(metadata, message: str) -> None:
    with pytest.raises(IrodsUsageError, match=message):
        parse_avus(metadata)
