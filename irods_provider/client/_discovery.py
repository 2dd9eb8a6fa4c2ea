"""``auto`` API version discovery: probe ``GET <root>/<v>/info`` for the known versions, newest first.

The server answers only under its own exact ``/irods-http-api/X.Y.Z`` prefix (404 with an empty body
elsewhere) and has no unversioned ``/info``, so probing the known versions is the only discovery there
is. The answer is cached per API root for the life of the process (one probe per connection), and
concurrent callers for the same root wait for one probe instead of each sending their own.
"""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx2

from irods_provider.client._bounded import BoundedBody, ReplyLimits
from irods_provider.client._config import NO_COMPRESSION, TimeoutTypes, client_options, to_timeout
from irods_provider.client._errors import json_object, map_httpx_errors
from irods_provider.client._operation import Reply
from irods_provider.client._ops_misc import info
from irods_provider.client._retry import RetryPolicy
from irods_provider.client._versions import KNOWN_VERSIONS, version_from_url
from irods_provider.exceptions import IrodsError, IrodsProtocolError, IrodsResponseError

__all__ = [
    "Discovered",
    "discover_api",
    "discover_api_version",
    "forget_discovered_versions",
    "resolve_base_url",
]

_FOUND: dict[str, str] = {}
_LOCKS: dict[str, threading.Lock] = {}
_GUARD = threading.Lock()


@dataclass(frozen=True)
class Discovered:
    """The API version found under a root, and the ``/info`` answer when this very call probed for it."""

    version: str
    #: The probe's ``/info`` body (the server's limits, fresh): None when the version came from the cache.
    info: dict[str, Any] | None = None


def discover_api_version(
    root: str,
    *,
    verify: bool | str | ssl.SSLContext = True,
    timeout: TimeoutTypes = 10.0,
    transport: httpx2.BaseTransport | None = None,
    candidates: tuple[str, ...] = KNOWN_VERSIONS,
    retry: RetryPolicy | None = None,
) -> str:
    """The version whose ``<root>/<v>/info`` answers first (newest first), cached per ``root``.

    ``root`` is the API path without a version (``https://host:443/irods-http-api``). A busy or failing
    answer (429, 5xx) or a dropped connection is retried per ``retry`` (the client's default policy)
    before moving on. Raises IrodsProtocolError naming every URL tried when none answers like an iRODS
    HTTP API, and the connection/TLS/timeout error when the host cannot be reached (nothing is cached).
    """
    return discover_api(
        root, verify=verify, timeout=timeout, transport=transport, candidates=candidates, retry=retry
    ).version


def discover_api(
    root: str,
    *,
    verify: bool | str | ssl.SSLContext = True,
    timeout: TimeoutTypes = 10.0,
    transport: httpx2.BaseTransport | None = None,
    candidates: tuple[str, ...] = KNOWN_VERSIONS,
    retry: RetryPolicy | None = None,
) -> Discovered:
    """Like :func:`discover_api_version`, with the probe's ``/info`` answer when this call probed: a
    session built on it need not ask ``/info`` again (one round trip less before the first byte)."""
    root = root.rstrip("/")
    with _GUARD:
        lock = _LOCKS.setdefault(root, threading.Lock())
    with lock:
        found = _FOUND.get(root)
        if found is not None:
            return Discovered(found)
        policy = retry if retry is not None else RetryPolicy()
        discovered = _probe(
            root, verify=verify, timeout=timeout, transport=transport, candidates=candidates, retry=policy
        )
        _FOUND[root] = discovered.version
    return discovered


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
    # A ``user:password@`` is the session's to take (url_credentials): the probe never sends or shows it.
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    bare = urlunsplit(parts._replace(netloc=hostport))
    root = bare if parts.path.strip("/") else f"{bare}/irods-http-api"
    found = f"{root}/{discover_api_version(root, verify=verify, timeout=timeout, transport=transport)}"
    return found.replace("://", f"://{userinfo}@", 1) if at else found


#: Bytes of the probe's reply each read timeout allows once its headers arrived (the session's own rate).
_BODY_PER_READ_TIMEOUT = 8 * 1024 * 1024


def _read_info(client: httpx2.Client, url: str) -> Reply:
    """GET one ``/info`` and read its body as the session reads a JSON reply: never decompressed, cut at
    ``ReplyLimits().json_bytes`` (errors at ``error_bytes``), within the read timeout per started 8 MiB
    (the probe runs before any session: a hostile server must not bomb, flood or trickle it either)."""
    op, limits = info(), ReplyLimits()
    read = client.timeout.read
    with map_httpx_errors(operation="info", path=None), client.stream("GET", url) as response:
        limit = limits.for_reply(op, response.status_code)
        within = None if read is None or limit is None else read * max(1, -(-limit // _BODY_PER_READ_TIMEOUT))
        body = BoundedBody(op, limit, response.headers, within=within)
        if response.is_stream_consumed:  # a transport that read the body already (tests)
            body.add(response.content)
        else:
            for chunk in response.iter_raw():
                body.add(chunk)
    return Reply(status=response.status_code, headers=response.headers, content=body.content)


def _get_info(client: httpx2.Client, url: str, policy: RetryPolicy) -> Reply:
    """GET one ``/info``, retrying busy/failing answers and dropped connections per ``policy``."""
    started = policy.clock()
    attempt = 0
    while True:
        attempt += 1
        response: Reply | None = None
        try:
            response = _read_info(client, url)
            if response.status not in policy.retry_statuses:
                return response
            error: IrodsError = IrodsResponseError(
                f"HTTP {response.status} from {url}", http_status=response.status, operation="info"
            )
        except IrodsError as exc:
            error = exc
        delay = policy.next_delay(error, idempotent=True, attempt=attempt, started=started)
        if delay is None:
            if response is not None:
                return response  # still failing: reported among the answers
            raise error
        policy.sleep(delay)


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
    retry: RetryPolicy,
) -> Discovered:
    answers: list[str] = []
    # The session built on the answer warns about disabled TLS verification; the probe stays quiet.
    options = (
        client_options(timeout=timeout, verify=verify, url=root)
        if verify is not False
        else {
            "timeout": to_timeout(timeout),
            "verify": False,
            "follow_redirects": False,
            "headers": dict(NO_COMPRESSION),
        }
    )
    with httpx2.Client(transport=transport, **options) as client:
        for version in candidates:
            response = _get_info(client, f"{root}/{version}/info", retry)
            data = json_object(response.content) if response.status == 200 else None
            if data is not None and "api_version" in data:
                return Discovered(version, data)  # the prefix that answers is the one requests must use
            answers.append(f"HTTP {response.status}")
    tried = ",".join(candidates)
    raise IrodsProtocolError(
        f"no iRODS HTTP API found under {root}/{{{tried}}}/info (answers: {', '.join(answers)}); "
        "check the host, port and api_path, or set api_version explicitly for a newer server",
        operation="info",
    )
