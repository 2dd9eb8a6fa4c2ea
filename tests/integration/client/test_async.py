import asyncio

import pytest

from irods_provider.client import AVU, EntryKind
from irods_provider.exceptions import IrodsNotADataObjectError, IrodsUsageError

HOME = "/tempZone/home/rods"


async def test_async_session_end_to_end(asession):
    with pytest.raises(IrodsUsageError):
        _ = asession.limits
    limits = await asession.get_limits()
    assert asession.limits is limits
    await asession.collections.create(f"{HOME}/ac")
    await asession.data_objects.write(f"{HOME}/ac/f", b"async bytes")
    assert await asession.data_objects.read(f"{HOME}/ac/f") == b"async bytes"
    chunks = [c async for c in asession.data_objects.iter_read(f"{HOME}/ac/f", chunk_size=3)]
    assert b"".join(chunks) == b"async bytes"
    assert (await asession.data_objects.stat(f"{HOME}/ac/f")).size == 11
    await asession.metadata.add(f"{HOME}/ac/f", AVU("k", "v"))
    assert await asession.metadata.list(f"{HOME}/ac/f") == [AVU("k", "v")]
    entries = [e async for e in asession.collections.walk(f"{HOME}/ac")]
    assert [(e.path, e.kind) for e in entries] == [(f"{HOME}/ac/f", EntryKind.DATA_OBJECT)]
    with pytest.raises(IrodsNotADataObjectError):
        await asession.data_objects.stat(f"{HOME}/ac")


async def test_async_concurrent_renewal_logs_in_once(irods_emulator, asession):
    await asession.collections.stat(HOME)
    irods_emulator.reset()  # forgets every token: all concurrent requests see a 401
    results = await asyncio.gather(*(asession.collections.exists(HOME) for _ in range(20)))
    assert results == [True] * 20
    assert asession.auth.login_count == 2
