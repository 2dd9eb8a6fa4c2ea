"""Verifying the replicas of a data object the server's ``verify_checksum`` cannot check, through POSTs only.

``verify_checksum`` is a GET, and the HTTP API turns ``+`` into a space in GET values (every release; see
:mod:`._alias`), so it cannot address a path holding ``+``. It addresses a ``'`` or ``\\xHH`` path, but its
size check pastes the replica's vault path (which mirrors the logical one) into a GenQuery1 string
(``verifyVaultSizeEqualsDatabaseSize``, irods 4.3.4 rsDataObjChksum.cpp:92): iRODS 4.3 cuts it at an
`` and `` after an odd number of quotes (the query fails: INPUT_ARG_NOT_WELL_FORMED_ERR), iRODS 5.0 escapes
quotes but its grammar reads ``\\xHH`` as one byte (5.0.2 :93-94, lib/genquery1/dsl/lexer.l:44) and finds
no row ("Could not verify size", CAT_NO_ROWS_FOUND). Such an object is verified again through copies.

What the server checks (irods 4.3.4 server/api/src/rsDataObjChksum.cpp ``do_verification`` :243-383) is
reproduced here per replica:

- every good replica's bytes against its own catalog checksum (``verifyDataObjChksum``, :221-241): a
  server-side copy of that replica alone (``data_objects.copy`` with ``src-resource`` = its root resource,
  a POST) to a hidden read alias, the alias's checksum computed by the server (``calculate_checksum`` with
  ``force``, a POST) and compared with the replica's catalog checksum, in that checksum's own scheme (an
  alias of another scheme than the zone's is hashed here from its bytes); a mismatch is the server's
  finding (``error`` USER_CHKSUM_MISMATCH naming the replica);
- the ``info`` note of skipped replicas (:165-176), the ``warning`` CAT_NO_CHECKSUM_FOR_REPLICA of a good
  replica without a checksum (returned at once, before any hashing, :178-192, :338-349), and the
  ``warning`` of good replicas whose checksums differ (:367-375), all from the catalog.

What no POST reaches, refused (IrodsInvalidPathError naming the object and why) rather than passed:

- two good replicas under one root resource (a replication resource's children): a copy names a root
  resource only (``src-resource`` is RESC_NAME_KW; a child is DIRECT_CHILD_ACCESS,
  irods_resource_redirect.cpp:47, :130), and reads whichever replica the server's vote picks;
- a targeted replica that is not good: a copy's source open votes, it does not take the replica named.

Not reproduced: the size check (``verifyVaultSizeEqualsDatabaseSize``, :74-115) stats the replica's file
in the vault, which no HTTP API operation exposes. A copy reads the catalog's size from the file: one that
is shorter fails the copy (its close checks the size written, finalize_utilities.cpp:188-196), raised as
the server's error; one that is longer, its first bytes intact, passes. ``admin`` has no effect (the copy
has no admin flag): the copies need read access to the object and write access in the user's home.

Cost: a read and a write of each verified replica on the server, the quota of one replica while its alias
lasts; aliases are removed whatever happens, and a killed worker's are swept (see :mod:`._alias`).
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any, cast

from irods_provider._error_codes import error_code
from irods_provider.client._locks import unreadable_error
from irods_provider.client._models import ChecksumReport, Replica
from irods_provider.client._paths import pasted_query_may_miss
from irods_provider.exceptions import (
    IrodsChecksumMismatchError,
    IrodsInvalidPathError,
    IrodsResponseError,
    IrodsSourceChangedError,
    IrodsUsageError,
)

from ._alias import ReadAlias, needs_alias
from ._api import SessionLike

__all__ = ["verify_by_copies", "verify_needs_copies", "verify_object"]

log = logging.getLogger(__name__)

_OPERATION = "data_objects.verify_checksum"
_NO_ROWS = error_code("CAT_NO_ROWS_FOUND")
#: What iRODS 4.3's GenQuery1 parser answers a size query cut at an `` and `` inside the quoted path: the
#: irods::query of rsDataObjChksum.cpp:93 (4.3.4) throws it, and nothing catches it before the API returns.
_QUERY_FAILURES = frozenset(error_code(n) for n in ("INPUT_ARG_NOT_WELL_FORMED_ERR", "NO_COLUMN_NAME_FOUND"))


def verify_needs_copies(path: str) -> bool:
    """Whether the server's ``verify_checksum`` (a GET) cannot address ``path``: it holds ``+``."""
    return "+" in path


def _size_check_missed(path: str, report: ChecksumReport) -> bool:
    """Whether ``report`` (the server's, for ``path``) holds the size check's miss of a path its GenQuery1
    string misreads (see the module): an ``error`` CAT_NO_ROWS_FOUND, "Could not verify size"."""
    return pasted_query_may_miss(path) and any(
        f.get("severity") == "error" and f.get("error_code") == _NO_ROWS for f in report.results
    )


def verify_object(
    session: SessionLike,
    path: str,
    *,
    resource: str | None = None,
    replica_number: int | None = None,
    admin: bool = False,
) -> ChecksumReport:
    """``data_objects.verify_checksum(path)``; for a ``+`` path, or a ``'`` or ``\\xHH`` one whose size
    check the server's GenQuery1 string misread (see the module), :func:`verify_by_copies`."""
    if verify_needs_copies(path):
        return verify_by_copies(session, path, resource=resource, replica_number=replica_number)
    api: Any = session.data_objects
    try:
        report: ChecksumReport = api.verify_checksum(
            path, resource=resource, replica_number=replica_number, admin=admin
        )
    except IrodsResponseError as exc:
        if not (pasted_query_may_miss(path) and exc.irods_code in _QUERY_FAILURES):
            raise
        missed = exc.irods_name or str(exc.irods_code)
    else:
        if not _size_check_missed(path, report):
            return report
        missed = "CAT_NO_ROWS_FOUND"
    log.info("the server's size check misread the path %s (%s): verifying it through copies", path, missed)
    return verify_by_copies(session, path, resource=resource, replica_number=replica_number)


def _finding(severity: str, name: str | None, message: str) -> dict[str, Any]:
    """One result as the server writes it (``add_verification_result``, rsDataObjChksum.cpp:58-67)."""
    return {"severity": severity, "error_code": error_code(name) if name else 0, "message": message}


def _refuse(path: str, why: str) -> IrodsInvalidPathError:
    if "+" in path:
        char = "'+'"
        cause = "which the iRODS HTTP API turns into a space in GET query strings, so the server's "
        cause += "verify_checksum cannot address it"
    else:
        char = "a single quote" if "'" in path else "a \\xHH sequence"
        cause = "which the size check of the server's verify_checksum may misread"
    return IrodsInvalidPathError(
        f"path contains {char}, {cause}; its replicas are verified through server-side copies from each "
        f"replica's resource, but {why}: verify it on the server (ichksum -K) or rename the object to avoid "
        f"{char}",
        operation=_OPERATION,
        path=path,
    )


def _chosen(
    path: str, replicas: list[Replica], resource: str | None, replica_number: int | None
) -> list[Replica]:
    """The replicas the server's verification would check: the targeted one, else the good ones; each
    must be the only replica under its root resource (what a copy can name) and good."""
    if resource is not None and replica_number is not None:
        raise IrodsUsageError(
            "resource and replica_number exclude each other (USER_INCOMPATIBLE_PARAMS)",
            operation=_OPERATION,
            path=path,
        )
    if resource is not None:
        # the one a targeted open takes there: a good one first (sortObjInfoForOpen)
        chosen = sorted((r for r in replicas if r.root == resource), key=lambda r: not r.good)[:1]
    elif replica_number is not None:
        chosen = [r for r in replicas if r.number == replica_number]
    else:
        chosen = [r for r in replicas if r.good]
    if not chosen:
        target = f"resource {resource!r}" if resource is not None else f"replica {replica_number}"
        raise _refuse(path, f"it has no replica on {target}")
    if not all(r.good for r in chosen):
        raise _refuse(path, f"replica {chosen[0].number} is not good, and a copy reads a good one")
    roots = Counter(r.root for r in replicas if r.good)
    for shared in sorted(root for root in {r.root for r in chosen} if roots[root] > 1):
        numbers = " and ".join(str(r.number) for r in replicas if r.good and r.root == shared)
        raise _refuse(
            path,
            f"its good replicas {numbers} both sit under the resource {shared!r}, and a copy names a root "
            "resource, reading whichever replica the server picks there",
        )
    return chosen


def verify_by_copies(
    session: SessionLike,
    path: str,
    *,
    resource: str | None = None,
    replica_number: int | None = None,
) -> ChecksumReport:
    """Verify ``path``'s replicas through POSTs only (see the module): the findings the server's
    ``verify_checksum`` reports, as a ChecksumReport; refusals and a replica that changed meanwhile
    (IrodsSourceChangedError) are raised."""
    if not needs_alias(path):  # no alias would be made: the copies would check the object against itself
        raise IrodsUsageError(
            "the server's verify_checksum addresses this path: use data_objects.verify_checksum (or "
            "verify_object), which checks every replica's size too",
            operation=_OPERATION,
            path=path,
        )
    replicas = cast("list[Replica]", list(session.data_objects.replicas(path)))
    if (unreadable := unreadable_error(path, replicas, operation=_OPERATION)) is not None:
        raise unreadable  # being written (locked), or no good replica: as the server answers
    chosen = _chosen(path, replicas, resource, replica_number)
    results: list[dict[str, Any]] = []
    if resource is None and replica_number is None and (skipped := len(replicas) - len(chosen)):
        results.append(_finding("info", None, f"INFO: Number of replicas skipped: {skipped}"))
    missing = [r for r in chosen if not r.checksum]
    for replica in missing:
        message = f"WARNING: No checksum available for replica [{replica.number}]."
        results.append(_finding("warning", "CAT_NO_CHECKSUM_FOR_REPLICA", message))
    if not missing:
        for replica in chosen:
            if not _copy_matches(session, path, replica):
                message = (
                    "ERROR: Computed checksum does not match what is in the catalog for replica "
                    f"[{replica.number}]."
                )
                results.append(_finding("error", "USER_CHKSUM_MISMATCH", message))
        if len({r.checksum for r in chosen}) > 1:
            message = "WARNING: Data object has replicas with different checksums."
            results.append(_finding("warning", "USER_CHKSUM_MISMATCH", message))
    findings = [r for r in results if r["severity"] != "info"]
    return ChecksumReport(ok=not findings, results=tuple(results))


def _copy_matches(session: SessionLike, path: str, replica: Replica) -> bool:
    """Whether a server-side copy of ``replica`` (from its root resource) has its catalog checksum; a
    replica whose catalog entry changed meanwhile is IrodsSourceChangedError, not a mismatch."""
    try:
        with ReadAlias(
            session,
            path,
            verify=True,
            size=replica.size,
            src_resource=replica.root,
            expected=replica.checksum,
        ):
            pass
    except IrodsChecksumMismatchError:
        now = {r.number: r for r in cast("list[Replica]", session.data_objects.replicas(path))}
        if (after := now.get(replica.number)) != replica:
            raise IrodsSourceChangedError(
                f"replica {replica.number} changed while it was verified: verify again",
                changed="removed" if after is None else f"catalog entry {replica} -> {after}",
                operation=_OPERATION,
                path=path,
            ) from None
        log.warning("replica %d of %s differs from its catalog checksum", replica.number, path)
        return False
    return True
