"""The five iRODS checksum schemes by name: their hashes and how a zone writes each (iRODS 4.3.4 lib/hasher).

``sha2:``/``sha512:``/``sha1:`` + base64 digest (SHA256Strategy.cpp:24-33 and its twins), ``adler32:`` + 8
lowercase hex digits (ADLER32Strategy.cpp:43-51), MD5 as bare hex (MD5Strategy.cpp:22-31). A zone's checksum
is recognised by that prefix, a hex string being MD5 (irods_hasher_factory.cpp:52-72). Standard library only:
the client layer and the transfer engine share it.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from typing import Any, Protocol

#: Prefix of each ``default_hash_scheme`` but MD5's, as ``get_hash_scheme_from_checksum`` tests them
#: (checksum.h:10-13 at 4.3.4).
PREFIXES: dict[str, str] = {"sha256": "sha2:", "sha512": "sha512:", "sha1": "sha1:", "adler32": "adler32:"}
#: What a catalog may keep of a longer checksum: rsFileChksum.cpp:410 (4.3.4) copies at most NAME_LEN (64)
#: bytes, so a ``sha512:`` checksum (95 characters) can be stored cut to its first 63.
STORED_PREFIX_LEN = 63
_HEX = frozenset("0123456789abcdefABCDEF")


class Digest(Protocol):
    """The part of a hashlib object a transfer feeds and reads."""

    def update(self, data: bytes | memoryview, /) -> None: ...

    def digest(self) -> bytes: ...


class Adler32:
    """ADLER-32 with the hashlib interface (zlib's, the algorithm of ADLER32Strategy.cpp:25-41)."""

    def __init__(self) -> None:
        self._value = 1

    def update(self, data: bytes | memoryview, /) -> None:
        """Feed the next bytes."""
        self._value = zlib.adler32(data, self._value)

    def digest(self) -> bytes:
        """The 4-byte big-endian checksum."""
        return self._value.to_bytes(4, "big")


def new_hash(scheme: str) -> Digest:
    """A fresh hash of the scheme named ``scheme`` (sha256, md5, sha512, sha1 or adler32)."""
    if scheme == "adler32":
        return Adler32()
    made: Any = hashlib.new(scheme, usedforsecurity=False)  # verification, not a signature
    return made  # type: ignore[no-any-return]


def format_digest(scheme: str, digest: bytes) -> str:
    """``digest`` written the way a zone of ``scheme`` stores it."""
    if scheme == "md5":
        return digest.hex()
    if scheme == "adler32":
        return PREFIXES[scheme] + digest.hex()
    return PREFIXES[scheme] + base64.b64encode(digest).decode("ascii")


def scheme_name(checksum: str | None) -> str | None:
    """The scheme a zone's checksum is written in, by its prefix; 32 hex digits = MD5; else None."""
    if not checksum:
        return None
    for scheme, prefix in PREFIXES.items():
        if checksum.startswith(prefix):
            return scheme
    if len(checksum) == 32 and _HEX.issuperset(checksum):
        return "md5"
    return None


def same_stored(stored: str, ours: str) -> bool:
    """Whether the zone's ``stored`` checksum is ``ours`` (both of one scheme): hex digits compare
    case-insensitively, base64 exactly; a ``sha512:`` one cut to :data:`STORED_PREFIX_LEN` characters by the
    catalog matches its full form."""
    if stored.startswith(PREFIXES["sha512"]) and len(stored) < len(ours):
        return len(stored) >= STORED_PREFIX_LEN and ours.startswith(stored)
    if scheme_name(stored) in ("md5", "adler32"):
        return stored.lower() == ours.lower()
    return stored == ours
