"""Choosing an upload's temporary object asks its resume record and whether it exists in one round trip:
the ``stat`` of the temporary goes out before its metadata listing is answered (proved by holding the
listing until the ``stat`` was sent, never by the clock); the content is checked by SHA-256."""

from __future__ import annotations

import base64
import hashlib
import random
import threading
from typing import Any

import pytest

from irods_provider.client._sync._catalog import Metadata
from irods_provider.client._sync._fs import DataObjects
from irods_provider.client.transfer import TransferConfig, upload_object

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
HELD = 20.0  # seconds a held step waits for its event (a failure, not a pace)
CFG = TransferConfig(chunk_size=64 * 1024, small_file_threshold=64 * 1024)


def test_the_temporary_is_stat_ed_while_its_record_is_listed(session, tmp_path, monkeypatch) -> None:
    """The listing of the temporary's AVUs is held until its ``stat`` was sent: only a choice that asks
    both at once gets through without waiting (before, the ``stat`` followed the listing's answer)."""
    data = random.Random(31).randbytes(200 * 1024 + 3)
    local = tmp_path / "probe.bin"
    local.write_bytes(data)
    destination = f"{HOME}/probe.bin"
    stat_sent, events = threading.Event(), []
    real_exists, real_list = DataObjects.exists, Metadata.list

    def exists(self: DataObjects, path: str, *args: Any, **kwargs: Any) -> bool:
        if ".irods-part-" in path:
            stat_sent.set()
        return real_exists(self, path, *args, **kwargs)

    def listing(self: Metadata, path: str, *args: Any, **kwargs: Any) -> Any:
        if ".irods-part-" in path:
            events.append("stat first" if stat_sent.wait(HELD) else "held in vain")
        return real_list(self, path, *args, **kwargs)

    monkeypatch.setattr(DataObjects, "exists", exists)
    monkeypatch.setattr(Metadata, "list", listing)
    result = upload_object(session, str(local), destination, config=CFG)
    assert result.size == len(data)
    assert events == ["stat first"]
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert session.data_objects.calculate_checksum(destination) == f"sha2:{digest}"
