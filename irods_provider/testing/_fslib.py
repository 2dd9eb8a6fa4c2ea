"""The iRODS filesystem library's catalog questions about one data object, asked as the HTTP API asks them.

The HTTP API's ``stat`` and ``read`` (data_objects/src/main.cpp at 0.7.0: read :762, stat :2025-2027; 0.6.0
:747, :1919-1921; 0.5.0 :563, :1571-1573) take size, checksum and mtime from ``fs::client::
data_object_size`` / ``data_object_checksum`` / ``last_write_time`` (irods lib/filesystem/src/
filesystem.cpp), which paste the parent collection and the name into a GenQuery1 string::

    select DATA_SIZE, DATA_MODIFY_TIME where COLL_NAME = '{parent}' and DATA_NAME = '{name}' and
    DATA_REPL_STATUS = '1'

iRODS 4.3.x pastes them verbatim (4.3.4 :745-750, :852-857, :1098-1104); 5.0.0 writes each ``'`` as
``\\x27`` (``single_quotes_to_hex``, irods commit bb4c68993; 5.0.2 :746-752), which its grammar reads back.
On 4.3 a ``'`` in the path moves the splitter's `` and `` cuts (``getCondFromString`` only cuts where the
quotes before are even, rcMisc.cpp:3130-3213) and the catalog binds the merged text (``_genquery43``): an
odd number of quotes in the parent or the name matches no row, and ``data_object_size`` throws
SYS_NO_GOOD_REPLICA ("no good replica found", :761-763) although the object is fine.

The emulator runs the very strings through its GenQuery1 model of the configured release, for paths
holding ``'`` or ``\\`` only: without them each condition holds exactly its own two quotes and no ``\\xHH``,
so every release reads the string as meant (and a catalog scan per ``stat`` would slow large listings).
"""

from __future__ import annotations

import sys
from functools import partial

from irods_provider.testing._catalog import ModelBase
from irods_provider.testing._errors import IrodsModelError
from irods_provider.testing._genquery import (
    GenQueryError,
    checks_collection_access,
    coll_name_filter,
    execute_genquery1,
)
from irods_provider.testing._versions import IrodsRelease

__all__ = ["asks_catalog", "library_stat", "plugin_object_id", "touch_finds_replica", "vault_size_found"]

_ESCAPES_QUOTES_SINCE: IrodsRelease = (5, 0, 0)


def asks_catalog(path: str) -> bool:
    """Whether the library's query string for ``path`` may read otherwise than meant (see the module)."""
    return "'" in path or "\\" in path


def _literal(text: str, release: IrodsRelease) -> str:
    return text.replace("'", "\\x27") if release >= _ESCAPES_QUOTES_SINCE else text


def _good_replica_query(path: str, select: str, release: IrodsRelease) -> str:
    parent, _, name = path.rpartition("/")
    return (
        f"select {select} where COLL_NAME = '{_literal(parent or '/', release)}' and "
        f"DATA_NAME = '{_literal(name, release)}' and DATA_REPL_STATUS = '1'"
    )


def _rows(model: ModelBase, caller: str, query: str, release: IrodsRelease, path: str) -> list[list[str]]:
    """The rows the query builder gets (every page); a query error is thrown as the library throws it."""
    fetch = getattr(model, "fetch_rows")  # noqa: B009 - the query mixin's, not ModelBase's
    try:
        return execute_genquery1(
            query,
            partial(
                fetch,
                caller,
                zone=model.zone_of(path),
                collections=coll_name_filter(query, release=release),
                coll_access=checks_collection_access(query, release=release),
            ),
            release=release,
            count=sys.maxsize,
        )
    except GenQueryError as e:
        raise IrodsModelError(e.name, e.message) from None


def _newest(rows: list[list[str]]) -> list[str]:
    """The first row whose mtime (column 1) is strictly the latest, as the library's loop keeps it."""
    best, latest = rows[0], -1
    for row in rows:
        if (mtime := int(row[1] or 0)) > latest:
            best, latest = row, mtime
    return best


def library_stat(model: ModelBase, caller: str, path: str, release: IrodsRelease) -> dict[str, object]:
    """``size``, ``checksum`` and ``modified_at`` as data_object_size, data_object_checksum and
    last_write_time find them, in that order; SYS_NO_GOOD_REPLICA when the size query finds no row."""
    sizes = _rows(
        model, caller, _good_replica_query(path, "DATA_SIZE, DATA_MODIFY_TIME", release), release, path
    )
    if not sizes:
        raise IrodsModelError("SYS_NO_GOOD_REPLICA", f"no good replica found: [{path}]")
    checksums = _rows(
        model, caller, _good_replica_query(path, "DATA_CHECKSUM, DATA_MODIFY_TIME", release), release, path
    )
    mtimes = _rows(model, caller, _good_replica_query(path, "max(DATA_MODIFY_TIME)", release), release, path)
    if not mtimes or not mtimes[0][0]:
        raise IrodsModelError("CAT_NO_ROWS_FOUND", f"cannot get mtime: [{path}]")
    return {
        "size": int(_newest(sizes)[0]),
        "checksum": _newest(checksums)[0] if checksums else "",
        "modified_at": int(mtimes[0][0]),
    }


def plugin_object_id(
    model: ModelBase, caller: str, path: str, kind: str, release: IrodsRelease
) -> int | None:
    """The id ``get_object_id`` of the atomic metadata and ACL plugins finds for ``path`` (None: no row).

    They paste the path into a GenQuery1 string as the library does, verbatim on 4.3
    (atomic_apply_metadata_operations.cpp:158-167, atomic_apply_acl_operations.cpp:183-190 at 4.3.4), with
    ``single_quotes_to_hex`` on 5.0 (:159-167 and :185-191 at 5.0.2): on 4.3 an odd number of quotes in a
    data object's collection merges its two conditions into one that matches nothing.
    """
    if kind == "collection":
        query = f"select COLL_ID where COLL_NAME = '{_literal(path, release)}'"
    else:
        parent, _, name = path.rpartition("/")
        query = (
            f"select DATA_ID where COLL_NAME = '{_literal(parent or '/', release)}' and "
            f"DATA_NAME = '{_literal(name, release)}'"
        )
    rows = _rows(model, caller, query, release, path)
    return int(rows[0][0]) if rows else None


def touch_finds_replica(
    model: ModelBase, caller: str, path: str, replica_number: int | None, release: IrodsRelease
) -> bool:
    """Whether rs_touch's own query finds the replica to touch: the newest good one (``get_replica_number``,
    plugins/api/src/touch.cpp:366-398 at 4.3.4) or the one numbered (``replica_exists``,
    lib/core/include/irods/replica.hpp:827-850), each pasting the path as the library does (see above)."""
    if replica_number is None:
        query = _good_replica_query(path, "DATA_MODIFY_TIME, DATA_REPL_NUM", release)
    else:
        parent, _, name = path.rpartition("/")
        query = (
            f"SELECT DATA_ID WHERE DATA_NAME = '{_literal(name, release)}' AND "
            f"COLL_NAME = '{_literal(parent or '/', release)}' AND DATA_REPL_NUM = '{replica_number}'"
        )
    return bool(_rows(model, caller, query, release, path))


def vault_size_found(
    model: ModelBase, caller: str, path: str, physical_path: str, release: IrodsRelease
) -> bool:
    """Whether verify_checksum's size check (``verifyVaultSizeEqualsDatabaseSize``) finds the replica's
    catalog size: it asks ``select DATA_SIZE where DATA_PATH = '<physical path>'``, the path pasted verbatim
    on 4.3 (irods 4.3.4 server/api/src/rsDataObjChksum.cpp:92) and with ``single_quotes_to_hex`` on 5.0
    (5.0.2 :93-94), whose grammar reads a ``\\xHH`` of the path as one byte (lib/genquery1/dsl/lexer.l:44):
    no row, and the replica is reported "Could not verify size" (CAT_NO_ROWS_FOUND, 4.3.4 :107, :205)."""
    query = f"select DATA_SIZE where DATA_PATH = '{_literal(physical_path, release)}'"
    return bool(_rows(model, caller, query, release, path))
