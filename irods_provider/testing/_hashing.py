"""Checksums as an iRODS 4.3.4 server of each ``default_hash_scheme`` writes them (lib/hasher/src).

Kept apart from the provider's own code on purpose: the emulator is what the provider is tested against.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from pathlib import Path

#: The schemes irods_hasher_factory.cpp:18-31 knows, and the prefix each digest is written with
#: (checksum.h:10-13); MD5 has none: bare lowercase hex (MD5Strategy.cpp:22-31).
PREFIXES = {"sha256": "sha2:", "sha512": "sha512:", "sha1": "sha1:", "adler32": "adler32:", "md5": ""}
_CHUNK = 1024 * 1024


def file_checksum(path: Path, scheme: str) -> str:
    """``path``'s checksum as a server of ``scheme`` writes it: ``sha2:``/``sha512:``/``sha1:`` + base64
    (SHA256Strategy.cpp:24-33 and its twins), ``adler32:`` + 8 lowercase hex digits (ADLER32Strategy.cpp:
    43-51), MD5 as 32 lowercase hex digits."""
    if scheme not in PREFIXES:
        raise ValueError(f"unknown hash scheme {scheme!r}")
    adler, digest = 1, None if scheme == "adler32" else hashlib.new(scheme)
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            if digest is None:
                adler = zlib.adler32(chunk, adler)
            else:
                digest.update(chunk)
    if digest is None:
        return PREFIXES[scheme] + f"{adler:08x}"
    if scheme == "md5":
        return digest.hexdigest()
    return PREFIXES[scheme] + base64.b64encode(digest.digest()).decode("ascii")


def scheme_of_checksum(checksum: str) -> str:
    """The scheme of a stored checksum as get_hash_scheme_from_checksum finds it (irods_hasher_factory.cpp:
    52-72): by prefix, anything else hex being MD5; a checksum of no scheme is hashed as SHA-256 here."""
    for scheme, prefix in PREFIXES.items():
        if prefix and checksum.startswith(prefix):
            return scheme
    return "md5" if checksum and all(c in "0123456789abcdefABCDEF" for c in checksum) else "sha256"
