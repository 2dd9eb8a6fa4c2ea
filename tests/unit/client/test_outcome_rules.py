"""The pure rules reading a lost reply's outcome from the catalog (``_outcome_rules``), and what a loss is.

Catalog facts they rest on (irods 4.3.4): a checksum is registered when its hash ends and the registration
leaves size and mtime alone (rsDataObjChksum.cpp:587-619, chlModDataObjMeta sets modify_ts only when
asked); a copy's or replication's target is intermediate (status 2) until it closes, stale when it failed.
"""

from __future__ import annotations

import httpx2
import pytest

from irods_provider.client import Replica
from irods_provider.client._outcome_rules import (
    Seen,
    checksum_verdict,
    copy_verdict,
    replicate_verdict,
)
from irods_provider.client._retry import handler_ended, reply_lost
from irods_provider.exceptions import (
    IrodsConnectionError,
    IrodsError,
    IrodsNotFoundError,
    IrodsResponseError,
    IrodsServerBusyError,
    IrodsTimeoutError,
)


def rep(
    number: int = 0,
    *,
    root: str = "demoResc",
    status: str = "1",
    size: int = 10,
    checksum: str | None = None,
    mtime: int = 100,
) -> Replica:
    return Replica(
        number=number, hierarchy=root, status=status, size=size, checksum=checksum, modified_at=mtime
    )


def test_a_checksum_that_appears_on_an_unchanged_replica_is_the_answer() -> None:
    before, now = [rep()], [rep(checksum="sha2:new")]
    for force, seen in ((True, before), (False, None)):
        verdict = checksum_verdict(seen, now, force=force)
        assert (verdict.seen, verdict.checksum) == (Seen.DONE, "sha2:new")


def test_no_checksum_yet_is_pending() -> None:
    assert checksum_verdict([rep()], [rep()], force=True).seen is Seen.PENDING
    assert checksum_verdict(None, [rep()], force=False).seen is Seen.PENDING


def test_a_forced_checksum_equal_to_the_stored_one_is_unclear_a_changed_one_done() -> None:
    before = [rep(checksum="sha2:old")]
    assert checksum_verdict(before, [rep(checksum="sha2:old")], force=True).seen is Seen.UNCLEAR
    assert (
        checksum_verdict(None, [rep(checksum="sha2:old")], force=True).seen is Seen.UNCLEAR
    )  # no look before
    assert checksum_verdict(before, [rep(checksum="sha2:rot")], force=True).checksum == "sha2:rot"
    # without force the stored checksum is the answer, as the server gives it
    assert checksum_verdict(None, [rep(checksum="sha2:old")], force=False).checksum == "sha2:old"


@pytest.mark.parametrize(
    ("now", "what"),
    [
        ([rep(size=11, checksum="sha2:x")], "size 10 -> 11"),
        ([rep(mtime=101)], "modified_at 100 -> 101"),
        ([rep(status="2")], "status 2"),
        ([], "gone"),
        (None, "gone"),
    ],
)
def test_a_replica_written_or_removed_meanwhile_is_a_change(now, what) -> None:
    verdict = checksum_verdict([rep()], now, force=True)
    assert verdict.seen is Seen.CHANGED
    assert what in verdict.why


def test_the_targeted_replica_decides() -> None:
    before = [rep(0), rep(1, root="archiveResc")]
    now = [rep(0, checksum="sha2:a"), rep(1, root="archiveResc")]
    assert checksum_verdict(before, now, force=True, replica_number=1).seen is Seen.PENDING
    assert checksum_verdict(before, now, force=True, resource="archiveResc").seen is Seen.PENDING
    assert checksum_verdict(before, now, force=True, replica_number=0).checksum == "sha2:a"
    assert checksum_verdict(before, now, force=True).checksum == "sha2:a"  # the one whose checksum appeared


def test_copy_verdicts() -> None:
    assert copy_verdict(None, None, 10).seen is Seen.PENDING  # not there yet
    assert copy_verdict(None, [rep(status="2", size=0)], 10).seen is Seen.BUSY
    assert copy_verdict(None, [rep()], 10).seen is Seen.DONE
    assert copy_verdict(None, [rep(size=9)], 10).seen is Seen.CHANGED
    assert copy_verdict(None, [rep(status="0")], 10).seen is Seen.FAILED
    old = [rep(size=3, mtime=50)]
    assert copy_verdict(old, old, 10).seen is Seen.PENDING  # an overwrite that left no trace
    assert copy_verdict(old, [rep(mtime=120)], 10).seen is Seen.DONE
    assert copy_verdict(old, None, 10).seen is Seen.CHANGED


def test_replicate_verdicts() -> None:
    source = rep(0, size=10)
    assert replicate_verdict([source], "archiveResc").seen is Seen.PENDING
    assert (
        replicate_verdict([source, rep(1, root="archiveResc", status="2", size=0)], "archiveResc").seen
        is Seen.BUSY
    )
    assert (
        replicate_verdict([source, rep(1, root="archiveResc", status="0")], "archiveResc").seen
        is Seen.PENDING
    )
    assert replicate_verdict([source, rep(1, root="archiveResc")], "archiveResc").seen is Seen.DONE
    assert replicate_verdict(None, "archiveResc").seen is Seen.CHANGED


def _from(cause: BaseException, error: IrodsError) -> IrodsError:
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    ("error", "lost", "ended"),
    [
        (_from(httpx2.RemoteProtocolError("closed"), IrodsConnectionError("x")), True, True),
        (_from(httpx2.ReadError("reset"), IrodsConnectionError("x")), True, True),
        (_from(httpx2.ReadTimeout("t"), IrodsTimeoutError("x")), True, False),
        (IrodsResponseError("bad gateway", http_status=502), True, True),
        (IrodsResponseError("gateway timeout", http_status=504), True, False),
        # never reached the server, or the server answered: nothing was lost
        (_from(httpx2.ConnectError("refused"), IrodsConnectionError("x")), False, True),
        (_from(httpx2.PoolTimeout("p"), IrodsTimeoutError("x")), False, False),
        (IrodsResponseError("", http_status=500), False, False),
        (IrodsServerBusyError("", http_status=503), False, False),
        (IrodsNotFoundError("", http_status=200, irods_code=-310000), False, False),
    ],
)
def test_what_counts_as_a_lost_reply_and_as_an_ended_handler(error, lost, ended) -> None:
    assert reply_lost(error) is lost
    if lost:
        assert handler_ended(error) is ended
