"""IrodsCollectionStableSensor numbers: a bad one is an IrodsUsageError naming it, poked or deferred."""

from __future__ import annotations

import pytest

from irods_provider.exceptions import IrodsUsageError
from irods_provider.sensors.irods import IrodsCollectionStableSensor
from irods_provider.triggers.irods import IrodsCollectionStableTrigger


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("inactivity_period", "abc"),
        ("inactivity_period", -5),
        ("inactivity_period", True),
        ("min_objects", -1),
        ("min_objects", 1.5),
        ("min_objects", "3"),
    ],
)
def test_bad_numbers_name_their_argument(name, value) -> None:
    sensor = IrodsCollectionStableSensor(task_id="c", path="/tempZone/home/rods/in", **{name: value})
    with pytest.raises(IrodsUsageError, match=name):
        sensor._check()
    with pytest.raises(IrodsUsageError, match=name):
        sensor._trigger()
    with pytest.raises(IrodsUsageError, match=name):
        IrodsCollectionStableTrigger(
            path="/tempZone/home/rods/in",
            irods_conn_id="irods_default",
            **{"inactivity_period": 60, name: value},
        )


def test_good_numbers_still_serialize_as_given() -> None:
    sensor = IrodsCollectionStableSensor(
        task_id="c", path="/tempZone/home/rods/in", inactivity_period=90, min_objects=0
    )
    kwargs = sensor._trigger().serialize()[1]
    assert (kwargs["inactivity_period"], kwargs["min_objects"]) == (90.0, 0)
