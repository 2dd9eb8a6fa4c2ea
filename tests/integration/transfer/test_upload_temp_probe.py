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


def test_with_nothing_to_skip_the_destination_is_asked_alongside_the_temporary(
    session, tmp_path, monkeypatch
) -> None:
    """No skip policy: the destination's ``stat`` (which can only refuse) is held until the temporary's
    record listing went out: only an upload that asks both at once gets through without waiting (before,
    the temporary was chosen after the answer). The destination is still asked once."""
    data = random.Random(32).randbytes(200 * 1024 + 5)
    local = tmp_path / "both.bin"
    local.write_bytes(data)
    destination = f"{HOME}/both.bin"
    listed, events, stats = threading.Event(), [], []
    real_stat, real_list = DataObjects.stat, Metadata.list

    def stat(self: DataObjects, path: str, *args: Any, **kwargs: Any) -> Any:
        if path == destination:
            stats.append(path)
            events.append("listing first" if listed.wait(HELD) else "held in vain")
        return real_stat(self, path, *args, **kwargs)

    def listing(self: Metadata, path: str, *args: Any, **kwargs: Any) -> Any:
        if ".irods-part-" in path:
            listed.set()
        return real_list(self, path, *args, **kwargs)

    monkeypatch.setattr(DataObjects, "stat", stat)
    monkeypatch.setattr(Metadata, "list", listing)
    result = upload_object(session, str(local), destination, config=CFG)
    assert result.size == len(data)
    assert events == ["listing first"]
    assert stats == [destination]
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert session.data_objects.calculate_checksum(destination) == f"sha2:{digest}"


def test_an_existing_destination_is_still_refused_before_a_byte_moves(session, tmp_path) -> None:
    """The refusal asked alongside the temporary's probes still comes first: nothing is written, no
    temporary is left."""
    from irods_provider.exceptions import IrodsAlreadyExistsError

    local = tmp_path / "taken.bin"
    local.write_bytes(random.Random(33).randbytes(200 * 1024))
    destination = f"{HOME}/taken.bin"
    session.data_objects.write(destination, b"already here")
    with pytest.raises(IrodsAlreadyExistsError):
        upload_object(session, str(local), destination, config=CFG)
    assert session.data_objects.read(destination) == b"already here"
    names = [str(e) for e in session.collections.list(HOME)]
    assert [n for n in names if ".irods-part-" in n] == []
