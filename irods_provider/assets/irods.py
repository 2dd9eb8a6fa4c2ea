"""Airflow asset URIs for iRODS (provider info ``asset-uris``): ``irods://<zone>/<path inside the zone>``.

``irods://tempZone/home/rods/out.csv`` names the data object or collection ``/tempZone/home/rods/out.csv``.
The zone is the URI's host, so the same logical path always gives the same asset whatever the HTTP API
server or Airflow connection used to reach it. OpenLineage datasets use namespace ``irods://<zone>`` and the
absolute logical path as name.

The filesystem's own URLs, ``irods://<conn_id>@/<zone>/<path>`` and ``irods:///<zone>/<path>`` (no host: the
zone is the first path segment), name the same asset: Airflow reports ObjectStoragePath reads and writes to
hook lineage by those strings; their paths are verbatim, as the filesystem reads them (``%41`` is three
characters). Path segments of the asset form are percent-encoded canonically (``a b`` and ``a%20b`` are one
asset), as :func:`asset_uri` encodes them. Airflow cuts any URI at ``#`` before this module sees it, so an
ObjectStoragePath name with ``#`` reaches it cut; :func:`asset_uri` writes ``#`` as ``%23``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, quote, unquote, urlsplit

if TYPE_CHECKING:
    from airflow.sdk import Asset

__all__ = [
    "asset_uri",
    "convert_asset_to_openlineage",
    "create_asset",
    "logical_path",
    "openlineage_name",
    "sanitize_uri",
]

SCHEME = "irods"
# iRODS zone names: letters, digits, '_', '-' and '.' (no ':', '@', '/' or spaces).
_ZONE = re.compile(r"^[A-Za-z0-9_.\-]+$")
# Characters of a path segment kept as they are (RFC 3986 pchar minus '%'); everything else, notably '#'
# (every federated home is /zone/home/user#localZone), '?', '%', spaces and non-ASCII, is percent-encoded.
_SEGMENT_SAFE = "!$&'()*+,;=:@"


def _fail(uri: SplitResult, problem: str) -> ValueError:
    return ValueError(f"Invalid iRODS asset URI {uri.geturl()!r}: {problem} (expected irods://<zone>/<path>)")


def _is_filesystem_url(uri: SplitResult) -> bool:
    """True for the filesystem's URLs, which have no host: ``irods://<conn_id>@/<zone>/...``, ``irods:///...``."""
    return not uri.netloc.rpartition("@")[2]


def _zone_as_host(uri: SplitResult) -> SplitResult:
    """A filesystem URL with its first path segment, the zone, as the host, and its path verbatim as the
    filesystem reads it (a ``?`` Airflow parsed out as a query goes back into the path); any other URI as it
    is."""
    if not _is_filesystem_url(uri):
        return uri
    path = uri.path + (f"?{uri.query}" if uri.query else "")
    zone, _, rest = path.lstrip("/").partition("/")
    return uri._replace(netloc=zone, path=f"/{rest}" if rest else "", query="")


def _check_netloc(uri: SplitResult) -> None:
    if "@" in uri.netloc:
        raise _fail(uri, "user information is not allowed; the zone alone is the host")
    if not uri.netloc:
        raise _fail(uri, "the zone is missing")
    if not _ZONE.match(uri.netloc):
        raise _fail(uri, f"{uri.netloc!r} is not a valid zone name (no port, letters/digits/_-. only)")


def _check_path(uri: SplitResult, *, verbatim: bool) -> str:
    path = uri.path
    if not path.startswith("/") or path.strip("/") == "":
        raise _fail(uri, "a path inside the zone is required")
    decode = (lambda segment: segment) if verbatim else unquote
    segments = [decode(segment) for segment in path[1:].removesuffix("/").split("/")]
    for segment in segments:
        if segment == "":
            raise _fail(uri, "empty path segments ('//') are not allowed")
        if segment in (".", ".."):
            raise _fail(uri, f"relative segment {segment!r} is not allowed")
    return "/" + "/".join(quote(segment, safe=_SEGMENT_SAFE) for segment in segments)


def sanitize_uri(uri: SplitResult) -> SplitResult:
    """Validate and normalise ``irods://<zone>/<path>`` (Airflow calls it after its own normalisation).

    Raises ValueError naming the problem: missing or malformed zone, user info before a zone, missing path,
    empty or relative (``.``/``..``) segments, query or fragment (Airflow drops a fragment before calling
    this: a ``#`` in a name must be written ``%23``). The trailing slash is removed, a filesystem URL's zone
    becomes the host and the path's percent-encoding is made canonical. A filesystem URL's path is read as
    the filesystem reads it, verbatim (``%41`` is three characters, a ``?`` part of the name), since
    Airflow reports ObjectStoragePath reads and writes by it.
    """
    if uri.scheme.lower() != SCHEME:
        raise _fail(uri, f"the scheme must be {SCHEME!r}")
    verbatim = _is_filesystem_url(uri)
    uri = _zone_as_host(uri)
    _check_netloc(uri)
    if uri.query:
        raise _fail(uri, "a query string is not allowed")
    if uri.fragment:
        raise _fail(uri, "a fragment is not allowed")
    return uri._replace(scheme=SCHEME, path=_check_path(uri, verbatim=verbatim))


def asset_uri(path: str, *, zone: str | None = None) -> str:
    """The asset URI of an absolute logical path: ``/tempZone/home/x`` → ``irods://tempZone/home/x``.

    With ``zone``, ``path`` may also be given relative to the zone (``/home/x``). Characters a URI cannot
    carry literally (``#``, ``?``, ``%``, spaces, non-ASCII) are percent-encoded; :func:`logical_path`
    decodes them.
    """
    segments = [s for s in path.split("/") if s]
    if zone is not None and (not segments or segments[0] != zone):
        segments.insert(0, zone)
    if len(segments) < 2:
        raise ValueError(f"Invalid iRODS path {path!r}: expected /<zone>/<path>")
    encoded = "/".join(quote(s, safe=_SEGMENT_SAFE) for s in segments[1:])
    uri = urlsplit(f"{SCHEME}://{segments[0]}/{encoded}")
    return sanitize_uri(uri).geturl()


def logical_path(uri: str) -> str:
    """The absolute logical path an asset URI names: ``irods://tempZone/home/x`` → ``/tempZone/home/x``.

    Percent-encoded characters are decoded (``user%23zone`` → ``user#zone``), so paths round-trip.
    """
    parsed = sanitize_uri(urlsplit(uri))
    return f"/{parsed.netloc}{unquote(parsed.path)}"


def openlineage_name(uri: str) -> tuple[str, str]:
    """OpenLineage ``(namespace, name)`` of an asset URI: ``("irods://<zone>", "/<zone>/<path>")``.

    The name is the decoded logical path, the same name :func:`irods_provider._lineage.irods_dataset` gives.
    """
    parsed = sanitize_uri(urlsplit(uri))
    return f"{SCHEME}://{parsed.netloc}", f"/{parsed.netloc}{unquote(parsed.path)}"


def create_asset(*, path: str, zone: str | None = None, extra: dict[str, Any] | None = None) -> Asset:
    """Asset factory for hook-level lineage: ``asset_kwargs={"path": "/tempZone/home/rods/x"}``."""
    from airflow.sdk import Asset

    return Asset(uri=asset_uri(path, zone=zone), extra=extra)


def convert_asset_to_openlineage(asset: Asset, lineage_context: Any = None) -> Any:
    """The OpenLineage Dataset for an iRODS asset (None when the OpenLineage client is not installed)."""
    from airflow.providers.common.compat.openlineage.facet import Dataset

    namespace, name = openlineage_name(asset.uri)
    return Dataset(namespace=namespace, name=name)
