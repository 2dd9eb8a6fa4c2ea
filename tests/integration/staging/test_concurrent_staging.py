"""Two stagings racing to one final path (both directions) never leave a mixed or partial file/object.

Afterwards the final path holds exactly one of the two sources (sha256); the other staging either also
published a whole copy that the winner replaced (overwrite) or got a typed iRODS error; no
temporary object or file is left. 20 ms of server latency per request makes the stagings overlap.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable

import pytest

from irods_provider.exceptions import IrodsAlreadyExistsError, IrodsError
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024
SIZE = 10 * CHUNK + 13

pytestmark = pytest.mark.timeout(120)


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


def check_one_winner(final: bytes, sources: list[bytes], outcomes, *, overwrite: bool, path: str) -> None:
    """``final`` is exactly one source; the loser failed typed (refuse: already exists) or ended first."""
    digests = [hashlib.sha256(s).hexdigest() for s in sources]
    got = hashlib.sha256(final).hexdigest()
    assert got in digests, f"mixed or partial: {len(final)} bytes"
    winner = digests.index(got)
    loser_error = outcomes[1 - winner][1]
    assert outcomes[winner][1] is None, f"the final path holds the bytes of a staging that failed: {outcomes}"
    # Both may succeed when overwriting: each publishes a whole, verified copy by one rename, the last wins
    # (when each call returns also covers work after its rename, so the end times do not order them).
    if loser_error is not None:
        assert isinstance(loser_error, IrodsError), repr(loser_error)
    if not overwrite:
        assert isinstance(loser_error, IrodsAlreadyExistsError), repr(loser_error)
        assert str(loser_error.path).endswith(path)  # SFTP paths are reported from the root


def _sources() -> list[bytes]:
    rng = random.Random(141)
    return [rng.randbytes(SIZE), rng.randbytes(SIZE + 1)]


@pytest.mark.parametrize("overwrite", [False, True], ids=["refuse", "overwrite"])
def test_two_sftp_to_irods_stagings_to_one_object(remote, session, irods, overwrite) -> None:
    sources = _sources()
    for i, data in enumerate(sources):
        remote.put(f"s{i}/f.bin", data)
    final = f"{HOME}/race/f.bin"
    irods.set_faults(latency_seconds=0.02)
    outcomes = race(
        [
            lambda i=i: SFTPToIrodsOperator(
                task_id=f"up{i}",
                sftp_conn_id="cluster",
                source_path=remote.path(f"s{i}/f.bin"),
                destination_path=final,
                chunk_size=CHUNK,
                overwrite=overwrite,
            ).execute({})
            for i in range(2)
        ]
    )
    irods.set_faults(latency_seconds=0.0)
    check_one_winner(session.data_objects.read(final), sources, outcomes, overwrite=overwrite, path=final)
    assert session.collections.list(f"{HOME}/race") == [final]  # no temporary object
    assert irods.open_parallel_write_handles() == 0


@pytest.mark.parametrize("overwrite", [False, True], ids=["refuse", "overwrite"])
def test_two_irods_to_sftp_stagings_to_one_file(remote, session, irods, overwrite) -> None:
    sources = _sources()
    for i, data in enumerate(sources):
        session.collections.create(f"{HOME}/s{i}", intermediates=True)
        session.data_objects.write(f"{HOME}/s{i}/f.bin", data)
    irods.set_faults(latency_seconds=0.02)
    outcomes = race(
        [
            lambda i=i: IrodsToSFTPOperator(
                task_id=f"down{i}",
                sftp_conn_id="cluster",
                source_path=f"{HOME}/s{i}/f.bin",
                destination_path=remote.path("back/f.bin"),
                chunk_size=CHUNK,
                overwrite=overwrite,
            ).execute({})
            for i in range(2)
        ]
    )
    irods.set_faults(latency_seconds=0.0)
    files = remote.files("back")
    assert list(files) == ["f.bin"], f"temporary files left: {sorted(files)}"
    check_one_winner(files["f.bin"], sources, outcomes, overwrite=overwrite, path=remote.path("back/f.bin"))
