"""Two writers racing to one final path never leave a mixed or partial object.

Afterwards the object equals exactly one of the two sources (sha256) whose writer succeeded; the other
writer also succeeded (its bytes were replaced by the later rename) or got a typed error the real server
(or the client's own check) gives in that interleaving; no temporary object and no parallel-write handle
is left. Two parallel uploads share a temporary name, each keeping the other off its own by a lease
(``AtomicWriter``). 20 ms of server latency per request
makes the two uploads overlap.
"""

from __future__ import annotations

import hashlib
import io
import random
import threading
import time
from collections.abc import Callable

import pytest

from irods_provider.client.transfer import TransferConfig, parallel_upload
from irods_provider.exceptions import (
    IrodsConcurrentOverwriteError,
    IrodsError,
    IrodsResponseError,
    IrodsTemporaryTakenOverError,
)

HOME = "/tempZone/home/rods"
KIB = 1024
SIZE = 640 * KIB + 13
CHUNK = 64 * KIB

pytestmark = pytest.mark.timeout(120)


def _sources() -> tuple[bytes, bytes]:
    rng = random.Random(14)
    return rng.randbytes(SIZE), rng.randbytes(SIZE + 1)


def race(writers: list[Callable[[], object]]) -> list[tuple[float, BaseException | None]]:
    """Run the writers together from a barrier; per writer, when it ended and what it raised."""
    barrier = threading.Barrier(len(writers))
    outcomes: list[tuple[float, BaseException | None]] = [(0.0, None)] * len(writers)

    def run(i: int) -> None:
        barrier.wait(10)
        try:
            writers[i]()
        except BaseException as exc:
            outcomes[i] = (time.monotonic(), exc)
        else:
            outcomes[i] = (time.monotonic(), None)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(writers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert not any(t.is_alive() for t in threads)
    return outcomes


def check_one_winner(final: bytes, sources: tuple[bytes, bytes], outcomes, *, ordered: bool = True) -> None:
    """``final`` is exactly one source; a loser failed with a typed iRODS error or ended before the winner."""
    digests = [hashlib.sha256(s).hexdigest() for s in sources]
    got = hashlib.sha256(final).hexdigest()
    assert got in digests, f"mixed or partial object: {len(final)} bytes"
    winner = digests.index(got)
    loser = 1 - winner
    assert outcomes[winner][1] is None, f"the object holds the bytes of a writer that failed: {outcomes}"
    loser_ended, loser_error = outcomes[loser]
    if loser_error is not None:
        assert isinstance(loser_error, IrodsError), repr(loser_error)
    elif ordered:  # direct writes: the lock serialises them, the later one's bytes stay
        assert loser_ended <= outcomes[winner][0], "the earlier writer's bytes replaced the later one's"


def leftovers(session, collection: str, final: str) -> list[str]:
    return [p for p in session.collections.list(collection) if p != final]


def _legitimate_refusal(error: BaseException) -> bool:
    """What the server (or the client's own check) answers the loser of a race the writers' leases cannot
    settle: one opened the shared temporary in the moment between the other dropping its records and
    renaming it; or both published through their own."""
    if isinstance(error, IrodsConcurrentOverwriteError | IrodsTemporaryTakenOverError):
        return True  # a rename onto a name the other just took (chlRenameObject: CAT_NAME_EXISTS_AS_DATAOBJ)
    # The rename of a temporary the other opened: LOCKED_DATA_OBJECT_ACCESS (rsDataObjRename.cpp:146-154
    # at irods 4.3.4). A parallel_write_init of the shared temporary refused because the other's handle
    # holds it (INVALID_HANDLE on default builds, HIERARCHY_ERROR with real codes: upstream 0.7.0
    # test_irods_http_api.py:3296) is no refusal: that writer goes on through a fresh name.
    return isinstance(error, IrodsResponseError) and error.irods_name == "LOCKED_DATA_OBJECT_ACCESS"


@pytest.mark.parametrize("round_", range(3))
def test_two_parallel_uploads_to_one_path(irods_emulator, session, round_) -> None:
    path = f"{HOME}/race/p.bin"
    session.collections.create(f"{HOME}/race", intermediates=True)
    sources = _sources()
    config = TransferConfig(streams=2, chunk_size=CHUNK)
    irods_emulator.set_faults(latency_seconds=0.02)
    outcomes = race(
        [
            lambda s=s: parallel_upload(session, io.BytesIO(s), path, config=config, size=len(s))
            for s in sources
        ]
    )
    irods_emulator.set_faults(latency_seconds=0.0)
    # Each publish is one rename of a whole verified copy; when each call returns also covers work after
    # its rename, so end times do not order two successful uploads.
    check_one_winner(session.data_objects.read(path), sources, outcomes, ordered=False)
    for _, error in outcomes:
        if error is not None:
            assert _legitimate_refusal(error), repr(error)
    assert leftovers(session, f"{HOME}/race", path) == []
    assert irods_emulator.open_parallel_write_handles() == 0


@pytest.mark.parametrize("overwrite", [False, True], ids=["refuse", "overwrite"])
def test_two_upload_operators_to_one_path(irods_emulator, session, tmp_path, monkeypatch, overwrite) -> None:
    from irods_provider.operators.transfer import LocalToIrodsOperator

    monkeypatch.setenv(
        "AIRFLOW_CONN_IRODS_DEFAULT",
        f"irods://rods:rods-emulator@127.0.0.1:{irods_emulator.port}/http?zone=tempZone",
    )
    sources = _sources()
    files = []
    for i, data in enumerate(sources):
        (tmp_path / f"s{i}").mkdir()
        (tmp_path / f"s{i}" / "f.bin").write_bytes(data)
        files.append(tmp_path / f"s{i}" / "f.bin")
    path = f"{HOME}/race/f.bin"
    irods_emulator.set_faults(latency_seconds=0.02)
    outcomes = race(
        [
            lambda f=f: LocalToIrodsOperator(
                task_id=f"up{f.parent.name}",
                source_path=str(f),
                destination_path=path,
                chunk_size=CHUNK,
                overwrite=overwrite,
            ).execute({})
            for f in files
        ]
    )
    irods_emulator.set_faults(latency_seconds=0.0)
    # Publishing is one rename of a whole verified copy; when each call returns also covers work after its
    # rename, so end times do not order two successful overwrites.
    check_one_winner(session.data_objects.read(path), sources, outcomes, ordered=False)
    if not overwrite:  # refuse: exactly one publishes, the other is told the path exists
        errors = [e for _, e in outcomes if e is not None]
        assert len(errors) == 1
        assert type(errors[0]).__name__ == "IrodsAlreadyExistsError"
        assert errors[0].path == path
    assert leftovers(session, f"{HOME}/race", path) == []
    assert irods_emulator.open_parallel_write_handles() == 0
