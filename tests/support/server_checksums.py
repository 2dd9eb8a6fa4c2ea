"""The checksum an iRODS 4.3.4 server writes in each ``default_hash_scheme``, computed with hashlib/zlib only
(no provider code: the emulator's tests use it as well)."""

from __future__ import annotations

import base64
import hashlib
import zlib


def irods_checksum(scheme: str, data: bytes) -> str:
    """``data``'s checksum as a server of ``scheme`` writes it (the *Strategy.cpp digest methods):
    ``sha2:``/``sha512:``/``sha1:`` + base64, MD5 as 32 hex digits, ``adler32:`` + 8 hex digits."""
    if scheme == "adler32":
        return f"adler32:{zlib.adler32(data):08x}"
    if scheme == "md5":
        return hashlib.md5(data).hexdigest()
    prefix = {"sha256": "sha2:", "sha512": "sha512:", "sha1": "sha1:"}[scheme]
    return prefix + base64.b64encode(hashlib.new(scheme, data).digest()).decode()
