"""Logical-path validation and GET-parameter safety checks, done before any request is sent."""

from __future__ import annotations

import hashlib
import re

from irods_provider.client._models import AVU
from irods_provider.exceptions import IrodsInvalidPathError, IrodsUsageError

__all__ = [
    "MAX_PATH_BYTES",
    "NAME_MAX",
    "atomic_lookup_may_miss",
    "basename",
    "check_query_value",
    "join_path",
    "name_extension",
    "needs_catalog",
    "normalize_path",
    "parent_path",
    "pasted_query_may_miss",
    "path_problem",
    "path_zone",
    "temporary_name",
    "temporary_prefix",
    "validate_avu",
    "validate_path",
]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# iRODS (rodsDef.h) keeps logical paths in char[MAX_NAME_LEN] buffers, MAX_NAME_LEN = 1088 including the NUL.
MAX_PATH_BYTES = 1087

# Widths of the catalog's r_meta_main columns (meta_attr_name, meta_attr_value: varchar(2700);
# meta_attr_unit: varchar(250)), counted in UTF-8 bytes so the check holds for every catalog database.
_AVU_LIMITS = (("attribute", 2700), ("value", 2700), ("units", 250))


_SLASHES = re.compile(r"/{2,}")
_RELEASE_MAJOR = re.compile(r"(?:rods)?(\d+)\.")
_HEX_ESCAPE = re.compile(r"\\x[0-9A-Fa-f]{2}")


def normalize_path(path: str) -> str:
    """The provider's one path rule: repeated ``/`` collapse and a trailing ``/`` goes (``/`` stays ``/``).

    Everything else is left for :func:`validate_path` to judge (``.``/``..`` components are refused, never
    resolved: iRODS does not resolve them either). Where a trailing ``/`` carries meaning (a transfer's
    destination: "into this collection"), the caller reads it before normalising.
    """
    if not isinstance(path, str) or not path.startswith("/"):
        return path
    path = _SLASHES.sub("/", path)
    return path.rstrip("/") or "/"


def validate_path(path: str, *, operation: str | None = None) -> str:
    """Return ``path`` unchanged if it is an absolute, normalised iRODS logical path, else raise.

    Rejected: relative paths, empty components (``//`` or a trailing ``/``), ``.`` and ``..``
    components, NUL or other control characters (iRODS cannot store them reliably), text that is not
    valid UTF-8 (lone surrogates) and paths over :data:`MAX_PATH_BYTES` bytes of UTF-8.
    """
    reason = _path_problem(path)
    if reason is not None:
        raise IrodsInvalidPathError(f"invalid iRODS logical path: {reason}", operation=operation, path=path)
    return path


def path_problem(path: object) -> str | None:
    """Why :func:`validate_path` would refuse ``path`` (None: it would not), for a caller's own message."""
    return _path_problem(path)


def _path_problem(path: object) -> str | None:
    if not isinstance(path, str):
        return f"expected a str, got {type(path).__name__}"
    if not path.startswith("/"):
        return "it must be absolute (start with '/')"
    if path == "/":
        return None
    if _CONTROL.search(path):
        return "it contains NUL or control characters"
    size = _utf8_size(path)
    if size is None:
        return "it is not valid UTF-8 (it contains a lone surrogate, e.g. an undecodable local file name)"
    if size > MAX_PATH_BYTES:
        return (
            f"it is too long: {size} bytes of UTF-8, iRODS allows at most {MAX_PATH_BYTES} "
            "(MAX_NAME_LEN 1088 including the terminating NUL)"
        )
    for component in path[1:].split("/"):
        if component == "":
            return "it contains an empty component ('//' or a trailing '/')"
        if component in (".", ".."):
            return "it contains a '.' or '..' component"
    return None


def _utf8_size(text: str) -> int | None:
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return None


def validate_avu(avu: AVU, *, operation: str, path: str | None = None) -> AVU:
    """Return ``avu`` unchanged if the catalog can store it as given, else raise IrodsUsageError.

    Rejected: NUL in the attribute, value or units (the server would cut the text there), text that is
    not valid UTF-8, and fields wider than the catalog's columns (the server fails with CAT_SQL_ERR or
    truncates, depending on its database).
    """
    for field, limit in _AVU_LIMITS:
        text = getattr(avu, field)
        problem: str | None = None
        size = _utf8_size(text)
        if "\x00" in text:
            problem = "contains a NUL character, which iRODS cannot store"
        elif size is None:
            problem = "is not valid UTF-8 (it contains a lone surrogate)"
        elif size > limit:
            problem = f"is too long: {size} bytes of UTF-8, the iRODS catalog stores at most {limit}"
        if problem is not None:
            raise IrodsUsageError(f"invalid AVU: its {field} {problem}", operation=operation, path=path)
    return avu


def check_query_value(value: str, *, name: str, operation: str, path: str | None = None) -> str:
    """Refuse a value that a GET query string cannot carry intact.

    The iRODS HTTP API (0.4.0 to 0.7.0 alike; core/src/common.cpp:117 at 0.4.0) percent-decodes query-string
    values and THEN turns every ``+`` into a space, so a literal ``+`` (even sent as ``%2B``) arrives as a
    space: a GET for such a path would silently address another object. POST operations are unaffected
    (they are sent as multipart).
    """
    if "+" in value:
        raise IrodsInvalidPathError(
            f"{name} contains '+', which the iRODS HTTP API (every release, 0.4.0 to 0.7.0) turns into a "
            "space in GET query strings, so this read-only operation cannot address it (POST operations such "
            f"as create, write, rename and metadata changes do work){_READ_HINTS.get(operation, '')}",
            operation=operation,
            path=path if path is not None else value,
        )
    return value


_DOWNLOADS = (
    "; to read such a data object use the download APIs, which read it through a server-side copy "
    "checked against its checksum: download_object, open_reader, IrodsHook.read_bytes, IrodsFileSystem "
    "(cat, open 'rb', get) and the IrodsToLocal/IrodsToSFTP operators"
)
#: What works instead, by refused GET operation.
_READ_HINTS = {
    "data_objects.read": _DOWNLOADS,
    "data_objects.stat": "; collections.lookup answers for such a path from the catalog (size, checksum)",
    "data_objects.verify_checksum": "; to verify such a data object use irods_provider.client.transfer."
    "verify_by_copies (or verify_object, or IrodsChecksumOperator(verify=True)), which checks each good "
    "replica through a server-side copy from its resource against that replica's catalog checksum (POSTs "
    "only)",
}


def needs_catalog(path: str) -> bool:
    """Whether the HTTP API's data-object ``stat`` and ``read`` may miss ``path``, so its size, checksum
    and mtime come from the catalog (``collections.lookup``) and its bytes through a read alias.

    ``+``: every release turns it into a space in a GET query string (core/src/common.cpp
    ``to_argument_list``). ``'``: both handlers take the size from ``fs::client::data_object_size``, which
    on an HTTP API built with iRODS 4.3 pastes the parent and the name unescaped into a GenQuery1 string
    (irods lib/filesystem/src/filesystem.cpp:745-750 at 4.3.4): an odd number of quotes in either finds
    nothing, and stat answers SYS_NO_GOOD_REPLICA, read HTTP 500, for a fine object. iRODS 5.0 escapes
    quotes (``single_quotes_to_hex``), but the library the HTTP API was built with is not visible to a
    client (``/info`` names the server's release), so every quote is taken as a miss. ``\\xHH``: 5.0's
    GenQuery1 grammar reads it as one byte (lib/genquery1/dsl/lexer.l:44 at 5.0.2), and the library does
    not escape backslashes, so such a path misses there.
    """
    return "+" in path or pasted_query_may_miss(path)


def pasted_query_may_miss(path: str) -> bool:
    """Whether a GenQuery1 string iRODS builds with ``path`` pasted into ``COLL_NAME = '...' and DATA_NAME =
    '...' and ...`` may miss it: a ``'`` on 4.3, a ``\\xHH`` sequence on 5.0 (see :func:`needs_catalog`)."""
    return "'" in path or _HEX_ESCAPE.search(path) is not None


def atomic_lookup_may_miss(path: str, *, collection: bool = False, server_version: str | None = None) -> bool:
    """Whether iRODS's atomic metadata and ACL APIs may fail to find ``path`` although it exists.

    Both look the object up with a GenQuery1 string that pastes the path in (``get_object_id``: irods
    4.3.4 plugins/api/src/atomic_apply_metadata_operations.cpp:151-194, atomic_apply_acl_operations.cpp:
    170-203). iRODS 4.3 pastes it verbatim and its string splitter cuts conditions only at an `` and `` with
    an even number of quotes before it (lib/core/src/rcMisc.cpp:3130-3213), so a data object whose
    collection holds an odd number of ``'`` ("John's data") is read as one condition matching nothing:
    metadata answers SYS_INVALID_INPUT_PARAM "Entity does not exist", ACLs SYS_UNKNOWN_ERROR. 5.0 writes
    quotes as ``\\x27`` but leaves a ``\\xHH`` of the path to be read as one byte (5.0.2 :159-167).
    ``server_version`` (``/info`` ``irods_server_version``, e.g. ``rods4.3.2``) picks the release's rule;
    unknown (before HTTP API 0.7.0), either may apply.
    """
    major = _RELEASE_MAJOR.match(server_version or "")
    release = int(major.group(1)) if major else None
    if release != 4 and _HEX_ESCAPE.search(path):
        return True
    if (release is not None and release >= 5) or "'" not in path:
        return False
    if collection:
        return _split_43(f"COLL_NAME = '{path}'") != [("COLL_NAME", path)]
    parent, name = parent_path(path), basename(path)
    wanted = [("COLL_NAME", parent), ("DATA_NAME", name)]
    return _split_43(f"COLL_NAME = '{parent}' and DATA_NAME = '{name}'") != wanted


def _split_43(conditions: str) -> list[tuple[str, str]]:
    """``(column, bound text)`` of each condition as iRODS 4.3 reads a GenQuery1 ``where`` part: cut at the
    first `` and `` whose prefix has even quotes (``getCondFromString``, ``goodStrExpr``), then the text
    between the first and the last quote of each (``insertWhere``, general_query.cpp:1460)."""
    out: list[tuple[str, str]] = []
    rest = conditions
    while True:
        cut = next((i for i in _and_positions(rest) if rest[:i].count("'") % 2 == 0), None)
        part, rest = (rest, "") if cut is None else (rest[:cut], rest[cut + 5 :])
        column, _, text = part.strip().partition(" ")
        first, last = text.find("'"), text.rfind("'")
        out.append((column, text[first + 1 : last] if 0 <= first < last else ""))
        if cut is None:
            return out


def _and_positions(text: str) -> list[int]:
    return sorted(m.start() for m in re.finditer(r"(?= and | AND )", text))


def join_path(parent: str, *names: str) -> str:
    """Join a collection path with child names (no validation; use :func:`validate_path`)."""
    result = parent.rstrip("/")
    for name in names:
        result = f"{result}/{name.strip('/')}"
    return result or "/"


def parent_path(path: str) -> str:
    """The collection containing ``path`` (``/`` for top-level names)."""
    head = path.rstrip("/").rsplit("/", 1)[0]
    return head or "/"


def basename(path: str) -> str:
    """The last component of ``path``."""
    return path.rstrip("/").rsplit("/", 1)[-1]


def path_zone(path: str) -> str | None:
    """The zone a logical path lives in (its first component), or None for ``/`` and relative text."""
    if not path.startswith("/"):
        return None
    return path[1:].split("/", 1)[0] or None


#: ``.<name>.irods-<kind>-<key>``; an upload's (``part``) may end with ``<name>``'s extension after its key.
_TEMPORARY = re.compile(
    r"\.(?P<name>.+)\.irods-(?:part-[0-9a-f][0-9a-f-]*(?P<extension>(?:\.[A-Za-z0-9_+-]{1,16}){0,2})"
    r"|(?:old|keep|alias)-[0-9a-f][0-9a-f-]*)"
)
_EXTENSION_PART = re.compile(r"[A-Za-z0-9_+-]{1,16}")

#: Bytes in one file name on Linux file systems: a unixfilesystem vault keeps each replica under its logical
#: name, so a longer data object name fails there (UNIX_FILE_CREATE_ERR - ENAMETOOLONG), as a local file does.
NAME_MAX = 255
#: Hex digits of the SHA-256 of a name that a shortened temporary name keeps.
NAME_DIGEST_LENGTH = 16


def _name_bytes(name: str) -> bytes:
    return name.encode("utf-8", "surrogateescape")  # os.fsencode's encoding on Linux


def temporary_prefix(name: str, kind: str = "part", *, key_length: int) -> str:
    """``.<name>.irods-<kind>-`` (``part``: an upload's, ``old``: an overwrite's, ``keep``: the backup of an
    overwrite in place), to which a key of ``key_length`` characters is added. When the whole would exceed
    :data:`NAME_MAX` bytes, ``<name>`` is cut (on a character boundary) and ``~`` plus a digest of the whole
    name added: deterministic, so a resume finds it again, and still a temporary name
    (:func:`is_temporary_name`)."""
    full = f".{name}.irods-{kind}-"
    if len(_name_bytes(full)) + key_length <= NAME_MAX:
        return full
    digest = hashlib.sha256(_name_bytes(name)).hexdigest()[:NAME_DIGEST_LENGTH]
    budget = NAME_MAX - key_length - len(f".~{digest}.irods-{kind}-")
    short = name[:budget]
    while len(_name_bytes(short)) > budget:  # multi-byte characters: cut on a character boundary
        short = short[:-1]
    return f".{short}~{digest}.irods-{kind}-"


def name_extension(name: str) -> str:
    """``name``'s extension as a temporary of it keeps it: its last two suffixes at most (``.tar.gz``,
    ``.fits.fz``: a policy keyed on either form matches), each a dot and 1-16 letters, digits or ``_+-``;
    ``""`` for none (``README``, ``.bashrc``, ``notes.``)."""
    extension, stem = "", name
    for _ in range(2):
        head, dot, tail = stem.rpartition(".")
        if not dot or not head or _EXTENSION_PART.fullmatch(tail) is None:
            break
        extension, stem = f".{tail}{extension}", head
    return extension


def temporary_name(name: str, kind: str, key: str) -> str:
    """The temporary name of ``name`` for ``key`` (see :func:`temporary_prefix`): at most NAME_MAX bytes.

    An upload's (``part``) ends with ``name``'s extension (:func:`name_extension`): iRODS fires
    ``acPostProcForPut`` on the temporary when it is closed (rsDataObjClose.cpp at 4.3.4), so policies keyed
    on the extension (``*.fits``) see it. The extension is kept whole when ``name`` is shortened."""
    extension = name_extension(name) if kind == "part" else ""
    length = len(_name_bytes(key)) + len(_name_bytes(extension))
    return temporary_prefix(name, kind, key_length=length) + key + extension


def shortened_name_digest(name_part: str, temporary: str) -> tuple[str, str] | None:
    """``(start, digest)`` when ``name_part``, the ``<name>`` of the temporary name ``temporary``, is a
    shortened one (``<start>~<digest>``, and ``temporary`` NAME_MAX bytes or at most 3 short of it: a
    multi-byte character may not fit), else None."""
    start, tilde, digest = name_part.rpartition("~")
    if not tilde or len(digest) != NAME_DIGEST_LENGTH or len(_name_bytes(temporary)) < NAME_MAX - 3:
        return None
    return (start, digest) if all(c in "0123456789abcdef" for c in digest) else None


def name_digest(name: str) -> str:
    """The digest a shortened temporary name keeps of ``name``."""
    return hashlib.sha256(_name_bytes(name)).hexdigest()[:NAME_DIGEST_LENGTH]


def is_temporary_name(name: str) -> bool:
    """Whether a file or object name is one of the transfer engine's in-flight temporaries
    (``.<name>.irods-part-<key>``, with or without ``<name>``'s extension after it,
    ``.<name>.irods-old-<key>``, ``.<name>.irods-keep-<key>``, and the read
    aliases of ``+`` paths, ``.irods-provider-read.irods-alias-<key>``): never user data, hidden from
    selections."""
    match = _TEMPORARY.fullmatch(name)
    if match is None:
        return False
    extension = match.group("extension")
    # The extension an upload's temporary ends with is its name's (whole, or that of a shortened name).
    named = match.group("name")
    return not extension or named.endswith(extension) or shortened_name_digest(named, name) is not None
