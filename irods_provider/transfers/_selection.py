"""Which files a staging call moves: glob patterns with ``**``, safe relative paths, policy names.

Pure functions over path strings, shared by both staging directions (no I/O here).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Any

from irods_provider._values import literal_list
from irods_provider.exceptions import IrodsInvalidPathError, IrodsUsageError

__all__ = ["Pattern", "has_magic", "parse_pattern", "safe_join", "safe_relative"]

_MAGIC = re.compile(r"[*?\[]")


def has_magic(path: str) -> bool:
    """True when ``path`` holds a glob character (``*``, ``?`` or ``[``)."""
    return _MAGIC.search(path) is not None


def _segment_regex(segment: str) -> str:
    """Translate one glob segment (``*``, ``?``, ``[...]``) into a regex that never crosses ``/``."""
    out: list[str] = []
    i = 0
    while i < len(segment):
        char = segment[i]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = segment.find("]", i + 2 if segment[i + 1 : i + 2] in ("!", "]") else i + 1)
            if end < 0:
                out.append(re.escape(char))
            else:
                body = segment[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body.replace(chr(92), chr(92) * 2)}]")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


@dataclass(frozen=True)
class Pattern:
    """A glob split into its literal base directory and the pattern below it.

    ``data/**/*.csv`` → base ``data``, regex matching ``a.csv``, ``x/a.csv``, ``x/y/a.csv`` …
    ``max_depth`` bounds the directory walk (None with ``**``).
    """

    base: str
    relative: str
    regex: re.Pattern[str]
    max_depth: int | None

    def matches(self, relative_path: str) -> bool:
        """Whether a path relative to :attr:`base` is selected."""
        return self.regex.fullmatch(relative_path) is not None


def parse_pattern(pattern: str) -> Pattern:
    """Split ``pattern`` at its first segment holding a glob character; ``**`` spans any depth."""
    parts = pattern.split("/")
    first = next(i for i, part in enumerate(parts) if has_magic(part))
    base = "/".join(parts[:first]) or ("/" if pattern.startswith("/") else ".")
    rest = [p for p in parts[first:] if p]
    if not rest:
        raise IrodsUsageError(f"glob pattern {pattern!r} selects nothing")
    regex: list[str] = []
    for index, part in enumerate(rest):
        last = index == len(rest) - 1
        if part == "**":
            regex.append(".*" if last else "(?:[^/]+/)*")
        else:
            regex.append(_segment_regex(part) + ("" if last else "/"))
    max_depth = None if "**" in rest else len(rest)
    return Pattern(base=base, relative="/".join(rest), regex=re.compile("".join(regex)), max_depth=max_depth)


def safe_relative(relative: str) -> str:
    """Normalise a relative path and refuse anything that could leave its root (``..``, absolute, NUL)."""
    if "\x00" in relative or "\\" in relative:
        raise IrodsInvalidPathError(f"unsafe relative path {relative!r}")
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
    """One path or a non-empty list of paths, as rendered from a template (the string of a list included)."""
    value = literal_list(name, value)
    if isinstance(value, str) and value.strip():
        return [value.strip()]
    if isinstance(value, list | tuple) and value and all(isinstance(v, str) and v.strip() for v in value):
        return [v.strip() for v in value]
    raise IrodsUsageError(f"{name} must be a path, a glob or a non-empty list of them, got {value!r}")
