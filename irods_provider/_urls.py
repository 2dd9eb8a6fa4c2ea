"""The one reading of an ``irods://`` URL, shared by the fsspec layer and lineage (cheap: imports nothing)."""

from __future__ import annotations

__all__ = ["PROTOCOL", "split_url"]

PROTOCOL = "irods"


def split_url(url: str) -> tuple[str, str]:
    """Split ``irods://<netloc>/<path>`` into ``(netloc, "/<path>")``; plain paths have an empty netloc.

    The path is taken verbatim (no query or fragment parsing, no percent-decoding): iRODS names may
    contain ``?``, ``#`` (every federated home is ``/<zone>/home/<user>#<zone>``) and ``%``.
    """
    if url.startswith(f"{PROTOCOL}://"):
        rest = url[len(PROTOCOL) + 3 :]
        slash = rest.find("/")
        if slash < 0:
            return rest, "/"
        return rest[:slash], rest[slash:]
    if url.startswith(f"{PROTOCOL}:"):
        return "", url[len(PROTOCOL) + 1 :]
    return "", url
