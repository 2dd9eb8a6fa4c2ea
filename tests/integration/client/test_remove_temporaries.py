"""collections.remove_temporaries on the async session (the sync twin is what the operator test drives)."""

from __future__ import annotations

import time

import pytest

from irods_provider.client import AVU, EntryKind
from irods_provider.client._temporaries import RESUME_ATTRIBUTE
from irods_provider.exceptions import IrodsUsageError

HOME = "/tempZone/home/rods"
BASE = f"{HOME}/tmpclean"


async def test_async_remove_temporaries_by_age_and_dry_run(irods_emulator, asession) -> None:
    await asession.collections.create(f"{BASE}/sub", intermediates=True)
    old = f"{BASE}/sub/.x.bin.irods-part-00ff00ff00ff00ff"
    young = f"{BASE}/.y.bin.irods-old-00aa00aa00aa"  # superseded: y.bin holds the newer version
    real = f"{BASE}/x.bin"
    for path in (old, young, real, f"{BASE}/y.bin"):
        await asession.data_objects.write(path, b"12345")
    await asession.metadata.add(old, AVU(RESUME_ATTRIBUTE, '{"v":1}'), kind=EntryKind.DATA_OBJECT)
    stamp = int(time.time()) - 7200
    await asession.data_objects.touch(old, no_create=True, seconds_since_epoch=stamp)
    await asession.data_objects.touch(real, no_create=True, seconds_since_epoch=stamp)

    plan = await asession.collections.remove_temporaries(BASE, min_age=3600, dry_run=True)
    assert ([t.path for t in plan.removed], plan.fresh, plan.dry_run) == ([old], 1, True)
    assert [t.modified_at for t in plan.removed] == [stamp]
    assert await asession.data_objects.exists(old)

    done = await asession.collections.remove_temporaries(BASE, min_age=3600)
    assert ([t.path for t in done.removed], done.bytes_removed, done.locked, done.failed) == (
        [old],
        5,
        [],
        [],
    )
    assert not await asession.data_objects.exists(old)
    assert await asession.data_objects.exists(young)
    assert await asession.data_objects.read(real) == b"12345"
    with irods_emulator.model.lock:
        assert not [p for p in irods_emulator.model.data_objects if "/trash/" in p]

    # now= moves the clock: the young one is old enough an hour from now
    later = await asession.collections.remove_temporaries(BASE, min_age=3600, now=time.time() + 7200)
    assert [t.path for t in later.removed] == [young]
    with pytest.raises(IrodsUsageError, match="min_age must be a number of seconds >= 0"):
        await asession.collections.remove_temporaries(BASE, min_age=-5)
