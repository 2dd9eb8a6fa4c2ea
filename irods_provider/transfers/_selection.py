"""Which files a staging call moves: safe relative paths and source lists (patterns: ``client._patterns``).

Pure functions over path strings, shared by both staging directions (no I/O here).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from typing import Any

from irods_provider._values import literal_list, refuse_unaddressable
from irods_provider.client._paths import path_problem
from irods_provider.client._patterns import PathPattern, compile_pattern, has_magic
from irods_provider.exceptions import IrodsInvalidPathError, IrodsUsageError

__all__ = ["Pattern", "has_magic", "parse_pattern", "refuse_unstorable", "safe_join", "safe_relative"]

#: Old names: patterns follow the provider's one rule in :mod:`irods_provider.client._patterns`.
Pattern = PathPattern
parse_pattern = compile_pattern


def safe_relative(relative: str, *, backslash: bool = False) -> str:
    """Normalise a relative path and refuse anything that could leave its root (``..``, absolute, NUL).

    A backslash is refused unless ``backslash`` (a destination where it is an ordinary character, as in
    iRODS names and POSIX file names; an SFTP server on Windows would take it for a separator).
    """
    if "\x00" in relative:
        raise IrodsInvalidPathError(f"unsafe relative path {relative!r}: it holds a NUL byte", path=relative)
    if "\\" in relative and not backslash:
        raise IrodsInvalidPathError(
            f"unsafe relative path {relative!r}: it holds a backslash, which an SFTP server on Windows "
            "takes for a separator; rename the source or leave it out (a pattern)",
            path=relative,
        )
    if relative.startswith("/"):
        raise IrodsInvalidPathError(f"relative path {relative!r} is absolute")
    normal = posixpath.normpath(relative)
    if normal in ("", ".") or normal == ".." or normal.startswith("../"):
        raise IrodsInvalidPathError(f"relative path {relative!r} escapes the target directory")
    if any(part == ".." for part in relative.split("/")):
        raise IrodsInvalidPathError(f"relative path {relative!r} contains '..'")
    return normal


def safe_join(root: str, relative: str) -> str:
    """``root/relative`` after :func:`safe_relative`; the result always lies strictly inside ``root``."""
    joined = posixpath.join(root.rstrip("/") or "/", safe_relative(relative))
    base = root.rstrip("/") + "/"
    if not joined.startswith(base):
        raise IrodsInvalidPathError(f"{relative!r} escapes {root!r}")
    return joined


def as_list(name: str, value: Any) -> list[str]:
    """One path or a non-empty list of paths, as rendered from a template (the string of a list included).

    Paths are kept as given (a name may end in a space), as every path argument of the Airflow layer is.
    """
    value = literal_list(name, value)
    if isinstance(value, str) and value.strip():
        return [value]
    if isinstance(value, list | tuple) and value and all(isinstance(v, str) and v.strip() for v in value):
        return list(value)
    raise IrodsUsageError(f"{name} must be a path, a pattern or a non-empty list of them, got {value!r}")


def refuse_unstorable(planned: Iterable[Any]) -> None:
    """Refuse, before any file is copied, a plan (``source``/``destination`` items) with an iRODS destination
    the HTTP API cannot address later or iRODS cannot store (a file system allows a newline in a name, and
    a deep tree can pass MAX_NAME_LEN): refused per file, the files before it were already published."""
    for item in planned:
        refuse_unaddressable("a planned destination", item.destination)
        problem = path_problem(item.destination)
        if problem is not None:
            raise IrodsInvalidPathError(
                f"{item.source!r} would be written to {item.destination!r}, which iRODS cannot store: "
                f"{problem}; rename it or leave it out (nothing was copied)",
                path=item.destination,
            )
