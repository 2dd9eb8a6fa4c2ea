"""A value given as a number or bool means the text IrodsPutMetadataOperator stored for it, everywhere.

The put operator stores ``5`` as ``"5"`` and ``True`` as ``"true"`` (AVU values are text in the catalog). The
metadata sensor and trigger crashed on such a value (``TypeError``, not a typed error), and
IrodsRemoveMetadataOperator compared ``"5" == 5``, matched nothing and reported success with nothing removed.
"""

from __future__ import annotations

import asyncio
import contextlib
from unittest import mock

import pytest

from irods_provider.exceptions import IrodsUsageError
from irods_provider.operators.metadata import IrodsPutMetadataOperator, IrodsRemoveMetadataOperator
from irods_provider.sensors.irods import IrodsMetadataSensor
from irods_provider.triggers.irods import IrodsMetadataTrigger

HOME = "/tempZone/home/rods"
OBJ = f"{HOME}/typed/o.csv"


def run(op):
    return op.execute(context={})


@pytest.fixture
def tagged(session) -> str:
    session.collections.create(f"{HOME}/typed")
    session.data_objects.write(OBJ, b"1,2\n")
    run(IrodsPutMetadataOperator(task_id="p", path=OBJ, metadata={"n": (5, 2), "ok": True, "f": 1.5}))
    return OBJ


def poke(sensor):
    try:
        return sensor.poke({})
    finally:
        sensor.hook.close()


@pytest.mark.parametrize(("attribute", "value", "units"), [("n", 5, 2), ("ok", True, None), ("f", 1.5, None)])
def test_the_sensor_finds_a_typed_value(tagged, attribute, value, units) -> None:
    found = poke(IrodsMetadataSensor(task_id="s", attribute=attribute, value=value, units=units))
    assert found.is_done is True
    assert [m["path"] for m in found.xcom_value] == [tagged]
    on_path = poke(IrodsMetadataSensor(task_id="s", attribute=attribute, value=value, path=tagged))
    assert on_path.is_done is True


def test_the_trigger_finds_a_typed_value(tagged) -> None:
    trigger = IrodsMetadataTrigger(attribute="n", value=5, units=2, irods_conn_id="irods_default")

    async def first_event():
        with mock.patch.object(IrodsMetadataTrigger, "_sleep", return_value=None):
            async with contextlib.aclosing(trigger.run()) as events:
                return await anext(events)

    event = asyncio.run(first_event())
    assert event.payload["status"] == "success", event.payload
    assert [m["path"] for m in event.payload["matches"]] == [tagged]


def test_remove_by_a_typed_value_removes_what_put_stored(tagged, session) -> None:
    removed = run(IrodsRemoveMetadataOperator(task_id="r", path=tagged, attribute="ok", value=True))
    assert removed["removed"] == [{"attribute": "ok", "value": "true", "units": ""}]
    removed = run(IrodsRemoveMetadataOperator(task_id="r", path=tagged, attribute="n", value=5, units=2))
    assert removed["removed_count"] == 1
    assert sorted(a.attribute for a in session.metadata.list(tagged)) == ["f"]


def test_a_value_of_another_type_is_a_usage_error(tagged) -> None:
    with pytest.raises(IrodsUsageError, match="value"):
        poke(IrodsMetadataSensor(task_id="s", attribute="n", value=[5]))
    with pytest.raises(IrodsUsageError, match="value"):
        run(IrodsRemoveMetadataOperator(task_id="r", path=tagged, attribute="n", value={"v": 5}))
