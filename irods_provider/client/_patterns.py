"""The one pattern rule of the whole provider: when a path is a pattern, what it matches, how to escape.

A path is a pattern only where an argument says so (``glob=True``, or a ``pattern=`` filter); everywhere
else ``data[1].csv`` names exactly that object. The syntax is Python's ``glob``/``fnmatch`` one, plus ``**``:

- ``*`` matches any run of characters and ``?`` one character, ``[abc]``, ``[a-z]`` and ``[!abc]`` one
  character of (or not of) a set; none of them ever crosses a ``/``. Matching is case-sensitive.
- A segment that is exactly ``**`` matches any number of whole segments: none in the middle of a pattern
  (``a/**/x.csv`` also matches ``a/x.csv``), at least one at its end (``a/**`` is everything below ``a``).
  ``**`` inside a longer segment is just ``*``.
- **Escape** a special character by putting it in brackets: ``[[]``, ``[*]``, ``[?]`` (``]`` alone is
  literal). :func:`escape` does it. Brackets rather than a backslash because that is what Python's
  ``glob.escape`` and ``fnmatch`` write and what fsspec's ``glob`` reads, so one escaped pattern means the
  same in every API; and a backslash is an ordinary character of iRODS names (and would need doubling in
  Python and Jinja strings). A ``[`` without a closing ``]`` is literal too.

Pure string functions: no I/O, no Airflow, no paramiko.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "GLOB_HINT",
    "PathPattern",
    "compile_filter",
    "compile_name",
    "compile_pattern",
    "escape",
    "has_magic",
    "literal_hint",
]

_MAGIC = frozenset("*?[")
#: What a message about a literal path holding glob characters adds.
GLOB_HINT = "it holds glob characters: pass glob=True to use it as a pattern"

# One parsed token of a segment: a literal text, or a regex fragment for a wildcard.
_Token = tuple[bool, str]  # (is_literal, literal text or regex)


def has_magic(text: str) -> bool:
    """True when ``text`` holds ``*``, ``?`` or ``[`` (escaped or not): it could be meant as a pattern."""
    return any(char in _MAGIC for char in text)


def literal_hint(path: str) -> str:
    """``" (…pass glob=True…)"`` for a literal path holding glob characters, else ``""``."""
    return f" ({GLOB_HINT})" if has_magic(path) else ""


def escape(path: str) -> str:
    """``path`` as a pattern matching only itself: ``[``, ``*`` and ``?`` put in brackets."""
    return re.sub(r"([*?\[])", r"[\1]", path)


def _class_regex(body: str) -> str:
    """The regex of one bracket expression's ``body`` (without the brackets); never matches ``/``."""
    negate = body.startswith("!")
    chars = body[1:] if negate else body
    items: list[str] = []
    i = 0
    while i < len(chars):
        if i + 2 < len(chars) and chars[i + 1] == "-":
            low, high = chars[i], chars[i + 2]
            if low <= high:  # a reversed range matches nothing, as in fnmatch
                items.append(f"{re.escape(low)}-{re.escape(high)}")
            i += 3
        else:
            items.append(re.escape(chars[i]))
            i += 1
    if not items:
        return "[^/]" if negate else "(?!)"
    if negate:
        return f"[^/{''.join(items)}]"
    # A range such as ``[ -~]`` spans ``/``: the lookahead keeps it inside one segment, as glob does.
    return f"(?!/)[{''.join(items)}]"


def _tokens(segment: str) -> list[_Token]:
    """Split one segment (no ``/``) into literal texts and wildcard regexes."""
    tokens: list[_Token] = []
    i = 0
    while i < len(segment):
        char = segment[i]
        if char == "*":
            while i + 1 < len(segment) and segment[i + 1] == "*":
                i += 1
            tokens.append((False, "[^/]*"))
        elif char == "?":
            tokens.append((False, "[^/]"))
        elif char == "[":
            start = i + 1
            start += segment[start : start + 1] == "!"
            start += segment[start : start + 1] == "]"
            end = segment.find("]", start)
            if end < 0:
                tokens.append((True, char))
            else:
                body = segment[i + 1 : end]
                # One character, not negated: an escape such as ``[[]``, literal text.
                literal = len(body) == 1 and body != "!"
                tokens.append((True, body) if literal else (False, _class_regex(body)))
                i = end
        else:
            tokens.append((True, char))
        i += 1
    return tokens


def _literal(segment: str) -> str | None:
    """The text a segment stands for when it has no wildcard (escapes resolved), else None."""
    tokens = _tokens(segment)
    return "".join(text for _, text in tokens) if all(lit for lit, _ in tokens) else None


def _segment_regex(segment: str) -> str:
    return "".join(re.escape(text) if lit else text for lit, text in _tokens(segment))


def _segments_regex(segments: list[str]) -> re.Pattern[str]:
    parts: list[str] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            parts.append("[^/]+(?:/[^/]+)*" if last else "(?:[^/]+/)*")
        else:
            parts.append(_segment_regex(segment) + ("" if last else "/"))
    return re.compile("".join(parts), re.DOTALL)


def _collapse(segments: list[str]) -> list[str]:
    """``a/**/**/b`` is ``a/**/b``."""
    return [s for i, s in enumerate(segments) if not (s == "**" and i > 0 and segments[i - 1] == "**")]


@dataclass(frozen=True)
class PathPattern:
    """A pattern split into its literal ``base`` (escapes resolved) and the ``segments`` below it.

    ``/z/home/data/**/*.csv`` → base ``/z/home/data``, segments ``("**", "*.csv")``. A pattern without a
    wildcard (``/z/run[[]7].h5``) has no segments: it names one path, :attr:`base` (``/z/run[7].h5``).
    ``base`` is ``/`` or ``.`` when the first segment already holds a wildcard.
    """

    text: str
    base: str
    segments: tuple[str, ...]
    regex: re.Pattern[str] | None

    @property
    def literal(self) -> bool:
        """True when the pattern holds no wildcard: it names exactly :attr:`base`."""
        return not self.segments

    @property
    def max_depth(self) -> int | None:
        """How many levels below :attr:`base` a match can lie (None with ``**``: any)."""
        return None if "**" in self.segments else len(self.segments)

    @property
    def relative(self) -> str:
        """The pattern below :attr:`base`, as text."""
        return "/".join(self.segments)

    def matches(self, relative_path: str) -> bool:
        """Whether a path relative to :attr:`base` (``a/b.csv``, no leading ``/``) is selected."""
        if self.regex is None:
            return relative_path in ("", ".")
        return self.regex.fullmatch(relative_path) is not None

    def matches_path(self, path: str) -> bool:
        """Whether a full path (as a listing of :attr:`base` returns it) is selected."""
        if self.regex is None:
            return path.rstrip("/") == self.base.rstrip("/")
        prefix = "" if self.base == "." else self.base.rstrip("/") + "/"
        return path.startswith(prefix) and self.matches(path[len(prefix) :])


def compile_pattern(pattern: str) -> PathPattern:
    """Parse ``pattern`` (absolute or relative; empty segments from ``//`` are dropped)."""
    absolute = pattern.startswith("/")
    segments = [part for part in pattern.split("/") if part]
    fixed: list[str] = []
    for segment in segments:
        text = _literal(segment)
        if text is None:
            break
        fixed.append(text)
    rest = segments[len(fixed) :]
    collapsed = _collapse(rest)
    base = ("/" if absolute else "") + "/".join(fixed)
    return PathPattern(
        text=pattern,
        base=base or ("/" if absolute else "."),
        segments=tuple(collapsed),
        regex=_segments_regex(collapsed) if collapsed else None,
    )


def compile_name(pattern: str) -> re.Pattern[str]:
    """The regex (for ``fullmatch``) of a pattern over one name, e.g. ``*.csv`` or ``run[[]7].h5``."""
    return re.compile(_segment_regex(pattern), re.DOTALL)


def compile_filter(pattern: str) -> Callable[[str], bool]:
    """A ``pattern=`` filter over paths relative to a listed root: a pattern holding ``/`` matches the
    whole relative path (segment by segment, ``**`` for any depth), one without ``/`` the last name."""
    segments = [part for part in pattern.split("/") if part]
    if len(segments) > 1:
        regex = _segments_regex(_collapse(segments))
        return lambda relative: regex.fullmatch(relative) is not None
    name = compile_name(segments[0] if segments else "")
    return lambda relative: name.fullmatch(relative.rsplit("/", 1)[-1]) is not None
