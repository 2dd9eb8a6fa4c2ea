"""Reading back a checksum, copy or replication whose reply was lost (the sync twin is generated).

The iRODS HTTP API arms one deadline per request (``requests.timeout_in_seconds``, 30 s by default;
core/src/session.cpp:78 at 0.7.0), so the checksum, copy or replication of a large object loses its reply
while the server finishes it. Resending would hash from the start again (a forced checksum never finishes)
or fail on the first try's own target (a copy), so the outcome is read from the catalog and waited for,
within the session's :class:`~irods_provider.client.OutcomeWait`; the rules are in ``_outcome_rules``.
"""

from __future__ import annotations

import asyncio  # unasync: async-only
import logging
import re
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import httpx2

from irods_provider._checksum_formats import format_digest, new_hash, same_stored, scheme_name
from irods_provider._error_codes import error_code
from irods_provider.client._config import TimeoutTypes, UseDefault
from irods_provider.client._genquery import prefix_condition
from irods_provider.client._models import Replica
from irods_provider.client._outcome_rules import (
    Seen,
    Verdict,
    checksum_verdict,
    copy_verdict,
    newest_good,
    replicate_verdict,
    trim_verdict,
)
from irods_provider.client._paths import needs_catalog
from irods_provider.client._retry import handler_ended, reply_lost
from irods_provider.exceptions import (
    IrodsAlreadyExistsError,
    IrodsError,
    IrodsLockedError,
    IrodsNotACollectionError,
    IrodsNotADataObjectError,
    IrodsNotFoundError,
    IrodsOutcomeUnknownError,
    IrodsRemoveIncompleteError,
    IrodsResponseError,
    IrodsServerDeadlineError,
    IrodsSourceChangedError,
    IrodsStaleReplicaError,
)

if TYPE_CHECKING:
    from irods_provider.client._async._session import AsyncIrodsSession

__all__ = [
    "checksum_outcome",
    "copy_outcome",
    "removal_confirmed",
    "remove_outcome",
    "replicas_or_none",
    "replicate_outcome",
    "snapshot",
    "trim_outcome",
    "verification_lost",
    "verification_timeout",
    "verification_unfinished",
]

log = logging.getLogger("irods_provider.client")
#: Bytes per ranged read when a replica's bytes are read back to check a checksum (well within any deadline).
READ_BACK_CHUNK = 8 * 1024 * 1024
_MD5 = re.compile(r"[0-9a-fA-F]{32}")
_REPLICA_GONE = error_code("SYS_REPLICA_DOES_NOT_EXIST")


async def replicas_or_none(session: AsyncIrodsSession, path: str) -> list[Replica] | None:
    """``path``'s replicas from the catalog, or None when there is no such data object (or none visible)."""
    try:
        return await session.data_objects.replicas(path)
    except (IrodsNotADataObjectError, IrodsNotFoundError):
        return None


async def snapshot(session: AsyncIrodsSession, path: str) -> tuple[bool, list[Replica] | None]:
    """``(True, replicas)`` of ``path`` before a request (None: no such object), or ``(False, None)`` when the
    catalog cannot be asked (a lost reply then cannot be judged against it)."""
    try:
        return True, await replicas_or_none(session, path)
    except IrodsError as exc:
        log.warning("cannot list the replicas of %s before a server-side operation: %s", path, exc)
        return False, None


class _Waiter:
    """Polls for one operation's outcome until ``session.outcome_wait`` allows no more for ``size`` bytes."""

    def __init__(
        self, session: AsyncIrodsSession, operation: str, path: str, cause: IrodsError, *, onto: str = ""
    ) -> None:
        self._wait = session.outcome_wait
        self._start = time.monotonic()
        self._pause = self._wait.first_poll
        self.operation, self.path, self.cause = operation, path, cause
        self.what = f"{operation.rsplit('.', 1)[-1]} of {path}" + (f" onto {onto}" if onto else "")
        self.size = 0
        self.resends_left = session.retry.max_attempts - 1
        log.warning("the %s lost its reply (%s): reading its outcome back", self.what, cause)

    def may_resend(self, *, after_timeout: bool) -> bool:
        """Whether to send again when the catalog shows no trace of the operation: only within the session's
        attempts, and after a timeout (the server may still be at work) only when ``after_timeout``."""
        return self.resends_left > 0 and (after_timeout or handler_ended(self.cause))

    def given_up(self) -> bool:
        """No trace, no attempt left, and the handler ended: the loss is the answer (raise ``cause``)."""
        return self.resends_left <= 0 and handler_ended(self.cause)

    async def resend(self, send: Callable[[], Any]) -> tuple[bool, Any]:
        """Send again: ``(True, result)``, or ``(False, None)`` when this reply was lost too."""
        self.resends_left -= 1
        try:
            return True, await send()
        except IrodsError as exc:
            if not reply_lost(exc):
                raise
            self.cause = exc
            return False, None

    def saw(self, verdict: Verdict) -> Verdict:
        """Note the size of the replica ``verdict`` is about (it lengthens the wait); ``verdict``."""
        if verdict.replica is not None:
            self.size = max(self.size, verdict.replica.size)
        return verdict

    def progressed(self) -> None:
        """The work visibly moved on: the wait starts over (a tree removal is waited for while it goes)."""
        self._start, self._pause = time.monotonic(), self._wait.first_poll

    async def pause(self, why: str) -> None:
        """Sleep before the next look; IrodsOutcomeUnknownError once the wait is used up."""
        left = self._start + self._wait.seconds_for(self.size) - time.monotonic()
        if left <= 0:
            raise self.unknown(why)
        await asyncio.sleep(min(self._pause, left))  # unasync: async-only
        # unasync: sync-only time.sleep(min(self._pause, left))
        self._pause = min(2 * self._pause, self._wait.max_poll)

    def unknown(self, why: str) -> IrodsOutcomeUnknownError:
        waited = time.monotonic() - self._start
        error = IrodsOutcomeUnknownError(
            f"the {self.what} lost its reply ({self.cause}) and the catalog did not show its outcome within "
            f"{waited:.1f} s ({why}); the server may still be working on it (its whole-request deadline, "
            "30 s by default, cuts large objects' replies off): look again later, or raise OutcomeWait",
            waited=waited,
            http_status=getattr(self.cause, "http_status", None),
            operation=self.operation,
            path=self.path,
        )
        error.__cause__ = self.cause
        return error

    def changed(self, why: str) -> IrodsSourceChangedError:
        error = IrodsSourceChangedError(
            f"the object changed while the server worked on the {self.what}, whose reply was lost "
            f"({self.cause})",
            changed=why,
            operation=self.operation,
            path=self.path,
        )
        error.__cause__ = self.cause
        return error


async def checksum_outcome(
    session: AsyncIrodsSession,
    path: str,
    cause: IrodsError,
    *,
    force: bool,
    before: Sequence[Replica] | None,
    resource: str | None,
    replica_number: int | None,
    resend: Callable[[], Any],
) -> str:
    """The checksum a ``calculate_checksum`` whose reply was lost registered (``before``: the replicas
    before a forced one). A forced checksum equal to the stored one is proven by reading the bytes back.
    Nothing to show for it after the handler ended (the request never ran, or failed): sent again
    (``resend``), within the session's attempts."""
    waiter = _Waiter(session, "data_objects.calculate_checksum", path, cause)
    seen, read_back = before, False
    while True:
        now = await replicas_or_none(session, path)
        verdict = waiter.saw(
            checksum_verdict(seen, now, force=force, resource=resource, replica_number=replica_number)
        )
        if seen is None and not force:
            seen = now  # the first look: a later one must show the same replica
        if verdict.seen is Seen.DONE and verdict.checksum:
            return verdict.checksum
        if verdict.seen is Seen.CHANGED:
            raise waiter.changed(verdict.why)
        if verdict.seen is Seen.UNCLEAR and verdict.replica is not None and not read_back:
            read_back = True
            if await _bytes_hash_to(session, path, verdict.replica):
                return str(verdict.replica.checksum)
        if verdict.seen in (Seen.PENDING, Seen.UNCLEAR) and waiter.may_resend(after_timeout=False):
            sent, answer = await waiter.resend(resend)
            if sent:
                return str(answer)
            continue
        if verdict.seen is Seen.PENDING and waiter.given_up():
            raise waiter.cause
        await waiter.pause(verdict.why)


async def _bytes_hash_to(session: AsyncIrodsSession, path: str, replica: Replica) -> bool:
    """Whether ``replica``'s bytes, read back in ranged reads, hash to its stored checksum (False when they
    cannot be read: a ``+`` or ``'`` path, replica targeting before 0.6.0, an unknown checksum scheme)."""
    expected = replica.checksum or ""
    scheme = scheme_name(expected)
    if scheme is None or needs_catalog(path):
        return False
    digest = new_hash(scheme)
    offset = 0
    log.info("reading replica %d of %s back to check its checksum %s", replica.number, path, expected)
    try:
        while offset < replica.size:
            count = min(READ_BACK_CHUNK, replica.size - offset)
            chunk = await session.data_objects.read(
                path, offset=offset, count=count, replica_number=replica.number
            )
            if not chunk:
                return False
            digest.update(chunk)
            offset += len(chunk)
    except IrodsError as exc:
        log.warning("could not read replica %d of %s back: %s", replica.number, path, exc)
        return False
    return same_stored(expected, format_digest(scheme, digest.digest()))


async def copy_outcome(
    session: AsyncIrodsSession,
    src: str,
    dst: str,
    cause: IrodsError,
    *,
    before: Sequence[Replica] | None,
    overwrite: bool,
    resend: Callable[[], Any],
) -> None:
    """Wait for a copy whose reply was lost: done when ``dst`` (``before``: its replicas before, None when
    absent) changed into a good replica of ``src``'s size; running while intermediate; sent once more
    (``resend``) when there is no trace of it."""
    waiter = _Waiter(session, "data_objects.copy", src, cause, onto=dst)
    source = newest_good(await replicas_or_none(session, src) or [])
    waiter.size = source.size if source else 0

    def judge(now: list[Replica] | None) -> Verdict:
        verdict = copy_verdict(before, now, source.size if source else None)
        if verdict.seen is Seen.FAILED and verdict.replica is not None:
            raise _stale(src, dst, verdict.why, verdict.replica)
        return verdict

    def running(exc: IrodsError) -> bool:
        if isinstance(exc, IrodsAlreadyExistsError):  # it was there before: the lost reply was this refusal
            return before is None or overwrite
        return isinstance(exc, IrodsLockedError)  # the first copy holds the target: it is running

    await _settle(session, waiter, dst, judge, resend, after_timeout=True, running=running)


def _stale(src: str, dst: str, why: str, replica: Replica) -> IrodsStaleReplicaError:
    return IrodsStaleReplicaError(
        f"the copy of {src} onto {dst}, whose reply was lost, failed on the server: {why}",
        replica_number=replica.number,
        resource=replica.hierarchy,
        status=replica.status,
        operation="data_objects.copy",
        path=dst,
    )


async def replicate_outcome(
    session: AsyncIrodsSession, path: str, dst_resource: str, cause: IrodsError, *, resend: Callable[[], Any]
) -> None:
    """Wait for a replication whose reply was lost: done when every replica on ``dst_resource`` is good with
    the source's size; running while one is intermediate; sent once more when there is no trace of it (a
    replication onto good replicas changes nothing)."""
    waiter = _Waiter(session, "data_objects.replicate", path, cause)
    await _settle(
        session,
        waiter,
        path,
        lambda now: replicate_verdict(now, dst_resource),
        resend,
        after_timeout=True,
        running=lambda exc: isinstance(exc, IrodsLockedError),  # the first replication holds the object
    )


async def trim_outcome(
    session: AsyncIrodsSession,
    path: str,
    replica_number: int,
    cause: IrodsError,
    *,
    resend: Callable[[], Any],
) -> None:
    """Wait for a trim whose reply was lost: done once replica ``replica_number`` is gone (or the object has
    one replica left, which the server never trims). While it is listed the server may still be unlinking
    its file; it is sent once more only when the handler ended with no trace of it (a second trim running
    beside the first could race it)."""
    waiter = _Waiter(session, "data_objects.trim", path, cause)
    await _settle(
        session,
        waiter,
        path,
        lambda now: trim_verdict(now, replica_number),
        resend,
        after_timeout=False,
        # SYS_REPLICA_DOES_NOT_EXIST: the first trim did it meanwhile (looked at next)
        running=lambda exc: isinstance(exc, IrodsResponseError) and exc.irods_code == _REPLICA_GONE,
    )


async def _settle(
    session: AsyncIrodsSession,
    waiter: _Waiter,
    path: str,
    judge: Callable[[list[Replica] | None], Verdict],
    resend: Callable[[], Any],
    *,
    after_timeout: bool,
    running: Callable[[IrodsError], bool],
) -> None:
    """Look at ``path``'s replicas (``judge``) until the lost request's work is done (return), or changed by
    someone else or failed (raise); send it once more when there is no trace of it (``waiter.may_resend``).
    A resend refused with an error ``running`` accepts means the first one is still at it: look again."""
    while True:
        verdict = waiter.saw(judge(await replicas_or_none(session, path)))
        if verdict.seen is Seen.DONE:
            return
        if verdict.seen is Seen.CHANGED:
            raise waiter.changed(verdict.why)
        if verdict.seen is Seen.PENDING and waiter.may_resend(after_timeout=after_timeout):
            try:
                if (await waiter.resend(resend))[0]:
                    return
            except IrodsError as exc:
                if not running(exc):
                    raise
            continue
        if verdict.seen is Seen.PENDING and waiter.given_up():
            raise waiter.cause
        await waiter.pause(verdict.why)


async def _left_under(session: AsyncIrodsSession, path: str) -> tuple[int, int] | None:
    """(data object replicas, collections) left in the tree at ``path`` (itself counted), None once gone.
    Two GenQueries (a row per collection), filtered here: ``like`` may over-match (see prefix_condition)."""
    condition, below = prefix_condition("COLL_NAME", path), path.rstrip("/") + "/"
    collections = [r[0] async for r in session.query.genquery(f"select COLL_NAME where {condition}")]
    if path not in collections:
        return None
    query = f"select COLL_NAME, COUNT(DATA_ID) where {condition}"
    counts = [
        int(r[1]) async for r in session.query.genquery(query) if r[0] == path or r[0].startswith(below)
    ]
    return sum(counts), sum(1 for name in collections if name == path or name.startswith(below))


async def removal_confirmed(session: AsyncIrodsSession, path: str) -> None:
    """Check that a collection remove answered with success took the whole tree: the server answers 0
    whatever its removal did (IrodsRemoveIncompleteError), e.g. for a tree holding an object being written,
    which no-trash removal walks around (irods 4.3.4 rsRmColl.cpp:352-440). One GenQuery when it is gone."""
    left = await _left_under(session, path)
    if left is None:
        return
    raise IrodsRemoveIncompleteError(
        f"the server answered success but {left[0]} data object replicas in {left[1]} collections are left "
        "(an object another client is writing, or one this user may not delete); the server does not say "
        "which error stopped it",
        http_status=200,
        operation="collections.remove",
        path=path,
    )


async def remove_outcome(
    session: AsyncIrodsSession, path: str, cause: IrodsError, *, resend: Callable[[], Any]
) -> None:
    """Wait for a collection remove whose reply was lost: done once ``path`` is gone. The wait starts over
    whenever the tree shrinks (a removal for good goes object by object); a tree the server no longer
    works on (its handler ended) is sent once more within the session's attempts; otherwise
    IrodsOutcomeUnknownError names what is left."""
    waiter = _Waiter(session, "collections.remove", path, cause)
    last: tuple[int, int] | None = None
    while (left := await _left_under(session, path)) is not None:
        if last is not None and left < last:
            waiter.progressed()
        last, why = left, f"{left[0]} data object replicas in {left[1]} collections are left"
        if waiter.may_resend(after_timeout=False):
            try:
                if (await waiter.resend(resend))[0]:
                    return
            except (IrodsNotACollectionError, IrodsNotFoundError):
                pass  # gone meanwhile: the first remove finished (looked at next)
            continue
        if waiter.given_up():
            raise waiter.cause
        await waiter.pause(why)


async def verification_lost(
    session: AsyncIrodsSession,
    path: str,
    cause: IrodsError,
    *,
    elapsed: float,
    resource: str | None,
    replica_number: int | None,
) -> IrodsServerDeadlineError | None:
    """The error for a ``verify_checksum`` whose reply was lost after ``elapsed`` s, at least the server's
    whole-request deadline (``session.outcome_wait.server_deadline``): the deadline cut it off and would
    again. None for a loss before it (the network's: send again)."""
    deadline = session.outcome_wait.server_deadline
    if elapsed < deadline:
        return None
    replicas = await replicas_or_none(session, path) or []
    if replica_number is not None:
        replicas = [r for r in replicas if r.number == replica_number]
    elif resource is not None:
        replicas = [r for r in replicas if r.root == resource][:1]
    else:
        replicas = [r for r in replicas if r.status == "1"]
    size = sum(r.size for r in replicas)
    count = f"{len(replicas)} replica" + ("" if len(replicas) == 1 else "s")
    error = IrodsServerDeadlineError(
        f"the verification of {path} ({size} bytes in {count}) got no reply after {elapsed:.1f} s ({cause}), "
        f"past the server's whole-request deadline ({deadline:g} s: requests.timeout_in_seconds), within "
        "which it hashes every checked replica; a resend would only be cut off again. Verify one replica at "
        "a time (replica_number), on the server (ichksum --verify), or read the bytes back (a download "
        "checks them against the stored checksum)",
        size=size,
        replicas=len(replicas),
        elapsed=elapsed,
        http_status=getattr(cause, "http_status", None),
        operation="data_objects.verify_checksum",
        path=path,
    )
    error.__cause__ = cause
    return error


def verification_timeout(
    session: AsyncIrodsSession, timeout: TimeoutTypes | UseDefault
) -> TimeoutTypes | UseDefault:
    """The timeouts a ``verify_checksum`` is sent with: the caller's, else the session's with a read timeout
    of at least the server's whole-request deadline (``outcome_wait.server_deadline``, which a site may have
    raised past the read timeout), so the client waits for the reply as long as the server may work on it.
    The reply never comes later: the deadline closes the connection."""
    if not isinstance(timeout, UseDefault):
        return timeout
    default = session.default_timeout
    deadline = session.outcome_wait.server_deadline
    if default.read is None or default.read > deadline:
        return timeout
    read = deadline * 1.1 + 1.0  # past the deadline's own close, which then tells the cut-off apart
    return httpx2.Timeout(connect=default.connect, read=read, write=default.write, pool=default.pool)


def verification_unfinished(path: str, cause: IrodsError, *, elapsed: float) -> IrodsOutcomeUnknownError:
    """The error for a ``verify_checksum`` whose reply was lost before the server's deadline in a way that
    leaves the server at work (a timeout, a gateway's 504): nothing records a verification to read back, and
    a resend would hash every checked replica again beside the first."""
    error = IrodsOutcomeUnknownError(
        f"the verification of {path} got no reply after {elapsed:.1f} s ({cause}), before the server's "
        "whole-request deadline: the server may still be hashing it, and nothing records the outcome to read "
        "back; not sent again (that would hash every checked replica twice). Raise the timeout that ended "
        "it (the client's read timeout, a proxy's) above the server's deadline, verify one replica at a time "
        "(replica_number), or on the server (ichksum --verify)",
        waited=0.0,
        http_status=getattr(cause, "http_status", None),
        operation="data_objects.verify_checksum",
        path=path,
    )
    error.__cause__ = cause
    return error
