"""A sensor's ``newer_than`` rendered from a template that gives epoch seconds.

Jinja renders every value to text, so ``"{{ ti.xcom_pull('wait')[0]['modified_at_epoch'] }}"`` (the epoch a
match carries in XCom "for arithmetic") or ``"{{ data_interval_start.int_timestamp }}"`` reach the sensor as
``"1796418582"``. The docstring promises epoch seconds; the text form of one must mean the same, in poke and
deferred mode (the trigger's kwargs carry the converted number).
"""

from __future__ import annotations

import pytest

from irods_provider.exceptions import IrodsUsageError
from irods_provider.sensors.irods import IrodsPathSensor

HOME = "/tempZone/home/rods"


def poke(sensor):
    try:
        return sensor.poke({})
    finally:
        sensor.hook.close()


def rendered(newer_than: str, path: str) -> IrodsPathSensor:
    sensor = IrodsPathSensor(task_id="s", path=path, newer_than="{{ params.since }}")
    sensor.render_template_fields(context={"params": {"since": newer_than}})  # type: ignore[arg-type]
    return sensor


def test_a_rendered_epoch_filters_like_the_number(session) -> None:
    path = f"{HOME}/landed.csv"
    session.data_objects.write(path, b"1,2\n")
    mtime = session.data_objects.stat(path).modified_at
    assert poke(rendered(str(mtime), path)).is_done is False  # not modified after its own mtime
    assert poke(rendered(str(mtime - 1), path)).is_done is True
    assert poke(rendered(f"{mtime - 1}.5", path)).is_done is True  # a float's text (timestamp())
    assert rendered(str(mtime - 1), path)._trigger().newer_than == mtime - 1


@pytest.mark.parametrize("text", ["20261207", "-5", "1e9", "12 34"])
def test_text_that_is_neither_iso_nor_epoch_seconds_is_refused(text: str) -> None:
    """An 8-digit ISO basic date has no time zone (so it was refused before too); the others are not times."""
    with pytest.raises(IrodsUsageError, match="newer_than"):
        rendered(text, f"{HOME}/x")._trigger()
