"""The zone's checksum schemes as :class:`ChecksumScheme` (see :mod:`irods_provider._checksum_formats`)."""

from __future__ import annotations

from irods_provider._checksum_formats import Digest, format_digest, new_hash, same_stored, scheme_name

from ._config import ChecksumScheme


def new_digest(scheme: ChecksumScheme) -> Digest:
    """A fresh hash of ``scheme``."""
    return new_hash(scheme.value)


def format_checksum(scheme: ChecksumScheme, digest: bytes) -> str:
    """``digest`` written the way a zone of ``scheme`` stores it."""
    return format_digest(scheme.value, digest)


def scheme_of(checksum: str | None) -> ChecksumScheme | None:
    """The scheme a zone's checksum is written in (``sha2:``, ``sha512:``, ``sha1:``, ``adler32:`` prefix, or
    32 hex digits: MD5); None for any other."""
    name = scheme_name(checksum)
    return None if name is None else ChecksumScheme(name)


def same_stored_checksum(stored: str, ours: str) -> bool:
    """Whether the zone's ``stored`` checksum is ``ours`` (see :func:`~.._checksum_formats.same_stored`)."""
    return same_stored(stored, ours)
