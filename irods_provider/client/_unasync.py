"""Generate the sync twin (``_sync/``) from the async source (``_async/``) by token rewriting.

Run ``python irods_provider/client/_unasync.py`` after editing ``_async/``; ``--check`` fails when the
twin has drifted or a rewrite rule went unused. Two line markers: ``# unasync: async-only`` drops the
line; ``# unasync: sync-only CODE`` becomes ``CODE`` in the sync twin.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

__all__ = ["RULES", "generate", "main"]

HERE = Path(__file__).parent
SOURCE, TARGET = HERE / "_async", HERE / "_sync"

RULES: tuple[tuple[str, str], ...] = (
    (r"\bAsyncIrodsSession\b", "IrodsSession"),
    (r"\bAsyncCollections\b", "Collections"),
    (r"\bAsyncDataObjects\b", "DataObjects"),
    (r"\bAsyncItiDataObjectsMixin\b", "ItiDataObjectsMixin"),
    (r"\bAsyncMetadata\b", "Metadata"),
    (r"\bAsyncQuery\b", "Query"),
    (r"\bAsyncTickets\b", "Tickets"),
    (r"\bAsyncIterator\b", "Iterator"),
    (r"\bAsyncClient\b", "Client"),
    (r"\bAsyncBaseTransport\b", "BaseTransport"),
    (r"\bAsyncShardedTransport\b", "ShardedTransport"),
    (r"\b_async\b", "_sync"),
    (r"\basync def\b", "def"),
    (r"\basync with\b", "with"),
    (r"\basync for\b", "for"),
    (r"\bawait ", ""),
    (r"\b__aenter__\b", "__enter__"),
    (r"\b__aexit__\b", "__exit__"),
    (r"\baclose\b", "close"),
    (r"\baiter_raw\b", "iter_raw"),
    (r"\baget_token\b", "get_token"),
    (r"\balogin=", "login="),
    (r"\basleep\b", "sleep"),
    (r"\bread_pages_async\b", "read_pages"),
    (r"\basyncio\.Lock\b", "threading.Lock"),
    (r"^import asyncio$", "import threading"),
    (r"\bThe async session\b", "The sync session"),
    (r"\bAsync API groups\b", "Sync API groups"),
    (r"the sync twin in ``_sync`` is generated from", "GENERATED from ``_async``: do not edit"),
    (r"\(the sync twin is generated\)", "(GENERATED from ``_async``: do not edit)"),
)
_COMPILED = tuple((re.compile(pattern, re.MULTILINE), repl) for pattern, repl in RULES)
_SYNC_ONLY = re.compile(r"^(\s*)# unasync: sync-only (.*)$")


def _rewrite_line(line: str, used: set[int]) -> str | None:
    if line.rstrip().endswith("# unasync: async-only"):
        return None
    marker = _SYNC_ONLY.match(line)
    if marker:
        return f"{marker.group(1)}{marker.group(2)}"
    for index, (pattern, repl) in enumerate(_COMPILED):
        line, count = pattern.subn(repl, line)
        if count:
            used.add(index)
    return line


def generate(text: str, used: set[int]) -> str:
    """The sync version of one async module."""
    lines = (_rewrite_line(line, used) for line in text.splitlines())
    return "\n".join(line for line in lines if line is not None) + "\n"


def main(argv: list[str]) -> int:
    """Write (or with ``--check``, compare) every file of ``_sync``."""
    check = "--check" in argv
    used: set[int] = set()
    drifted: list[str] = []
    TARGET.mkdir(exist_ok=True)
    for source in sorted(SOURCE.glob("*.py")):
        wanted = generate(source.read_text(), used)
        target = TARGET / source.name
        if check:
            if not target.exists() or target.read_text() != wanted:
                drifted.append(str(target))
        else:
            target.write_text(wanted)
    unused = [RULES[i][0] for i in range(len(RULES)) if i not in used]
    for path in drifted:
        print(f"out of date: {path} (run python irods_provider/client/_unasync.py)", file=sys.stderr)
    for rule in unused:
        print(f"unused unasync rule: {rule}", file=sys.stderr)
    return 1 if drifted or unused else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
