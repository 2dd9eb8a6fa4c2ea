"""Two live atomic writers of one path share a temporary name: neither takes the other's temporary over.

An ``AtomicWriter`` derives its temporary from the target alone, so a second writer of the same path finds
the first one's temporary. The first writer records itself and a lease with its first handle; the second
writes through a fresh name while that lease is live (each publishes its own bytes, the later rename
stays), and takes the temporary over, releasing its handles, only once the lease lapsed (a killed writer).
The interleavings are forced with hooks in the writers' own threads, never with sleeps.
"""

from __future__ import annotations

import hashlib
import random
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from irods_provider.client.transfer import TransferConfig, _atomic, _resume, open_writer

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from claim_lease import lapse

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024
SIZE = 3 * CHUNK + 17  # several chunks over two streams: a parallel-write handle, recorded

pytestmark = pytest.mark.timeout(60)


def _sources() -> tuple[bytes, bytes]:
    rng = random.Random(18)
    return rng.randbytes(SIZE), rng.randbytes(SIZE + 1)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _config() -> TransferConfig:
    return TransferConfig(streams=2, chunk_size=CHUNK)


def _transfer_avus(session: Any, path: str) -> list[str]:
    return [a.attribute for a in session.metadata.list(path) if a.attribute.startswith("irods_provider::")]


def _others(session: Any, collection: str, final: str) -> list[str]:
    return [p for p in session.collections.list(collection) if p != final]


def test_a_verified_writers_temporary_is_not_taken_over(irods_emulator, session, monkeypatch) -> None:
    """A closed and verified its temporary; B starts then and closes before A renames: A must publish its
    own bytes (the old code let B rewrite A's temporary, so A published B's bytes as its success)."""
    coll = f"{HOME}/lease_a"
    path = f"{coll}/a.bin"
    session.collections.create(coll, intermediates=True)
    a_bytes, b_bytes = _sources()
    real_verify = _atomic.verify_upload
    b_verified, a_published = threading.Event(), threading.Event()
    outcome: dict[str, BaseException | None] = {}

    def write_b() -> None:
        try:
            with open_writer(session, path, config=_config(), size=len(b_bytes)) as writer:
                writer.write(b_bytes)
        except BaseException as exc:
            outcome["b"] = exc
        else:
            outcome["b"] = None

    b_thread = threading.Thread(target=write_b, name="writer-b")

    def verify(*args: Any, **kwargs: Any) -> Any:
        result = real_verify(*args, **kwargs)
        if threading.current_thread() is b_thread:
            b_verified.set()  # B wrote, closed and verified its temporary: A renames now
            assert a_published.wait(30)
        else:
            b_thread.start()
            assert b_verified.wait(30)
        return result

    monkeypatch.setattr(_atomic, "verify_upload", verify)
    with open_writer(session, path, config=_config(), size=len(a_bytes)) as writer:
        writer.write(a_bytes)
    published_by_a = session.data_objects.read(path)  # A reported success: the path must hold A's bytes
    a_published.set()
    b_thread.join(30)
    assert not b_thread.is_alive()
    assert _sha(published_by_a) == _sha(a_bytes), "A reported success for another writer's bytes"
    assert outcome["b"] is None, repr(outcome["b"])
    assert _sha(session.data_objects.read(path)) == _sha(b_bytes)  # B's rename came later: its bytes stay
    assert _transfer_avus(session, path) == []
    assert _others(session, coll, path) == []
    assert irods_emulator.open_parallel_write_handles() == 0


def test_a_writing_writers_handles_are_not_shut_down(irods_emulator, session) -> None:
    """A writes with its handle recorded; B opens a writer of the same path: A's handle must stay open
    (the old code shut it down as a killed attempt's) and both publish whole objects."""
    coll = f"{HOME}/lease_b"
    path = f"{coll}/b.bin"
    session.collections.create(coll, intermediates=True)
    a_bytes, b_bytes = _sources()
    a = open_writer(session, path, config=_config(), size=len(a_bytes))
    a.write(a_bytes[: 2 * CHUNK])  # full chunks sent: A's handle is open and recorded on its temporary
    recorded = _resume.inspect(session, a.path).handles
    assert recorded, "A recorded no parallel-write handle"
    b = open_writer(session, path, config=_config(), size=len(b_bytes))
    assert _resume.inspect(session, a.path).handles == recorded, "B released A's live handles"
    assert b.path != a.path
    a.write(a_bytes[2 * CHUNK :])
    a.close()
    assert _sha(session.data_objects.read(path)) == _sha(a_bytes)
    b.write(b_bytes)
    b.close()
    assert _sha(session.data_objects.read(path)) == _sha(b_bytes)
    assert _transfer_avus(session, path) == []
    assert _others(session, coll, path) == []
    assert irods_emulator.open_parallel_write_handles() == 0


def test_a_lapsed_lease_is_taken_over(irods_emulator, session) -> None:
    """A killed writer's lease lapses: the next writer releases its recorded handle and writes through the
    same temporary (nothing is left behind)."""
    coll = f"{HOME}/lease_c"
    path = f"{coll}/c.bin"
    session.collections.create(coll, intermediates=True)
    a_bytes, b_bytes = _sources()
    a = open_writer(session, path, config=_config(), size=len(a_bytes))
    a.write(a_bytes[: 2 * CHUNK])
    assert _resume.inspect(session, a.path).handles
    a._stop_lease()  # killed: it renews no more
    lapse(session, a.path)  # ... a lease ago
    assert irods_emulator.open_parallel_write_handles() == 1
    b = open_writer(session, path, config=_config(), size=len(b_bytes))
    assert b.path == a.path
    assert irods_emulator.open_parallel_write_handles() == 0  # A's handle was shut down
    b.write(b_bytes)
    b.close()
    assert _sha(session.data_objects.read(path)) == _sha(b_bytes)
    assert _transfer_avus(session, path) == []
    assert _others(session, coll, path) == []
    a.abort()  # the killed writer's own leftovers: its temporary is B's published object now, gone
    assert _sha(session.data_objects.read(path)) == _sha(b_bytes)


def test_a_renewal_before_the_publish_leaves_no_record_on_the_object(irods_emulator, session, monkeypatch):
    """The lease renewed between the publish reading the temporary's records and dropping them: the
    renewal now on it is the one dropped (the published object carries no transfer AVU)."""
    coll = f"{HOME}/lease_d"
    path = f"{coll}/d.bin"
    session.collections.create(coll, intermediates=True)
    data, _ = _sources()
    real_verify = _atomic.verify_upload
    renewed: list[bool] = []

    def verify(*args: Any, **kwargs: Any) -> Any:
        result = real_verify(*args, **kwargs)
        renewed.append(writer._lease.renew())  # after the publish read the records, before it drops them
        return result

    monkeypatch.setattr(_atomic, "verify_upload", verify)
    writer = open_writer(session, path, config=_config(), size=len(data))
    writer.write(data)
    writer.close()
    assert renewed == [True]
    assert _sha(session.data_objects.read(path)) == _sha(data)
    assert _transfer_avus(session, path) == []
    assert _others(session, coll, path) == []
