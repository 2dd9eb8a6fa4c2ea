"""``auto`` API version discovery: probe ``GET <root>/<v>/info`` for the known versions, newest first.

The server answers only under its own exact ``/irods-http-api/X.Y.Z`` prefix (404 with an empty body
elsewhere) and has no unversioned ``/info``, so probing the known versions is the only discovery there
is. The answer is cached per API root for the life of the process (one probe per connection), and
concurrent callers for the same root wait for one probe instead of each sending their own.
"""

from __future__ import annotations

import ssl
import threading
from urllib.parse import urlsplit

import httpx2

from irods_provider.client._config import TimeoutTypes, client_options
from irods_provider.client._errors import json_object, map_httpx_errors
from irods_provider.client._versions import KNOWN_VERSIONS, version_from_url
from irods_provider.exceptions import IrodsProtocolError

__all__ = ["discover_api_version", "forget_discovered_versions", "resolve_base_url"]

_FOUND: dict[str, str] = {}
_LOCKS: dict[str, threading.Lock] = {}
_GUARD = threading.Lock()


def discover_api_version(
    root: str,
    *,
    verify: bool | str | ssl.SSLContext = True,
    timeout: TimeoutTypes = 10.0,
    transport: httpx2.BaseTransport | None = None,
    candidates: tuple[str, ...] = KNOWN_VERSIONS,
) -> str:
    """The version whose ``<root>/<v>/info`` answers first (newest first), cached per ``root``.

    ``root`` is the API path without a version (``https://host:443/irods-http-api``). Raises
    IrodsProtocolError naming every URL tried when none answers like an iRODS HTTP API, and the
    connection/TLS/timeout error at once when the host cannot be reached at all (nothing is cached).
    """
    root = root.rstrip("/")
    with _GUARD:
        lock = _LOCKS.setdefault(root, threading.Lock())
    with lock:
        found = _FOUND.get(root)
        if found is None:
            found = _probe(root, verify=verify, timeout=timeout, transport=transport, candidates=candidates)
            _FOUND[root] = found
    return found


def resolve_base_url(
    url: str,
    *,
    verify: bool | str | ssl.SSLContext = True,
    timeout: TimeoutTypes = 10.0,
    transport: httpx2.BaseTransport | None = None,
) -> str:
    """``url`` when it ends in a version; else ``url`` (``/irods-http-api`` added to a bare host) plus
    the version :func:`discover_api_version` finds there."""
    url = url.rstrip("/")
    if version_from_url(url) is not None:
        return url
    root = url if urlsplit(url).path.strip("/") else f"{url}/irods-http-api"
    return f"{root}/{discover_api_version(root, verify=verify, timeout=timeout, transport=transport)}"


def forget_discovered_versions() -> None:
    """Drop every cached discovery (tests; a server upgraded while the process runs)."""
    with _GUARD:
        _FOUND.clear()


def _probe(
    root: str,
    *,
    verify: bool | str | ssl.SSLContext,
    timeout: TimeoutTypes,
    transport: httpx2.BaseTransport | None,
    candidates: tuple[str, ...],
) -> str:
    answers: list[str] = []
    with httpx2.Client(transport=transport, **client_options(timeout=timeout, verify=verify)) as client:
        for version in candidates:
            url = f"{root}/{version}/info"
            with map_httpx_errors(operation="info", path=None):
                response = client.get(url)
            data = json_object(response.content) if response.status_code == 200 else None
            if data is not None and "api_version" in data:
                return version  # the prefix that answers is the one requests must use
            answers.append(f"HTTP {response.status_code}")
    tried = ",".join(candidates)
    raise IrodsProtocolError(
        f"no iRODS HTTP API found under {root}/{{{tried}}}/info (answers: {', '.join(answers)}); "
        "check the host, port and api_path, or set api_version explicitly for a newer server",
        operation="info",
    )
