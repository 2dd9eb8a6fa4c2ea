"""Turn an Airflow ``irods`` connection into plain settings: pure parsing, no I/O and no Airflow imports.

Field mapping (documented in the README and the connection form):

* ``host``: the HTTP API host name, optionally with ``:port``; a leading ``http://`` or ``https://`` sets the
  protocol too. A path, query, user name or password in it is refused (the path goes in ``api_path``).
* ``port``: the HTTP API port (default 443 for https, 80 for http; the host's own ``:port`` when empty).
* ``schema``: the protocol, ``https`` (default) or ``http`` -- as Airflow's HTTP provider uses it.
* ``login`` / ``password``: the iRODS user for Basic authentication; in ``openid_password`` mode they are
  the OpenID username and password unless the ``openid_username`` / ``openid_password`` extras are set,
  in ``openid_client_mode`` the OpenID provider's user, whom a 0.4.0/0.5.0 server in OpenID client mode
  logs in itself, and in ``token`` mode the password holds the access token unless the ``access_token``
  extra is set.
* extras: see :data:`EXTRA_DEFAULTS` and :data:`AUTH_MODES`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from irods_provider._auth_names import AUTH_MODES, CLIENT_AUTH_METHODS, AuthMode
from irods_provider.client._auth import AuthSpec, Basic, OpenIdClientMode, Token
from irods_provider.client._config import OutcomeWait
from irods_provider.client._openid import (
    ClientCredentialsGrant,
    OpenId,
    OpenIdOptions,
    PasswordGrant,
    RefreshTokenGrant,
)
from irods_provider.exceptions import IrodsConfigurationError

__all__ = [
    "AUTH_MODES",
    "CLIENT_AUTH_METHODS",
    "EXTRA_DEFAULTS",
    "RENAMED_EXTRAS",
    "SECRET_EXTRAS",
    "ConnectionSettings",
    "parse_connection",
    "parse_extras",
]

#: Values of the ``checksum_scheme`` extra besides ``auto`` (the zone's ``default_hash_scheme``).
CHECKSUM_SCHEMES: tuple[str, ...] = ("sha256", "md5", "sha512", "sha1", "adler32")

MIB = 1024 * 1024
_WAIT = OutcomeWait()

#: Every extra the hook reads, with its default (``None``: unset).
EXTRA_DEFAULTS: dict[str, Any] = {
    "api_path": "/irods-http-api",
    "api_version": "auto",
    "zone": None,
    "default_resource": None,
    "checksum_scheme": None,
    "connect_timeout": 10.0,
    "timeout": 60.0,
    # A lost reply's outcome (checksum, copy, replication, trim, tree removal: client.OutcomeWait): the least
    # wait, the storage pace that lengthens it for a large object, and the server's whole-request deadline.
    "outcome_wait_seconds": _WAIT.min_seconds,
    "outcome_wait_mib_per_second": _WAIT.bytes_per_second / MIB,
    "server_deadline_seconds": _WAIT.server_deadline,
    "verify_tls": True,
    "ca_bundle": None,
    "auth_mode": "basic",
    "access_token": None,
    "openid_discovery_url": None,
    # The token endpoint. Not named *token*: Airflow's masker hides every extra whose name holds "token"
    # (or "secret", "password", ...), which blanked this URL out of every log line and error.
    "openid_grant_url": None,
    "openid_client_id": None,
    "openid_client_secret": None,
    "openid_client_auth_method": "client_secret_basic",
    "openid_scope": None,
    "openid_audience": None,
    "openid_username": None,
    "openid_password": None,
    "openid_refresh_token": None,
    # OpenID endpoint policy: plain http only for loopback test providers; a token endpoint from
    # discovery on another host/port than the issuer only when the provider really works that way.
    "openid_allow_insecure_http": False,
    "openid_allow_foreign_token_endpoint": False,
}

#: Older names still read, with the name that replaced them (one of the two may be set).
RENAMED_EXTRAS: dict[str, str] = {"openid_token_url": "openid_grant_url"}

#: Extras holding secrets: masked the moment they are read.
SECRET_EXTRAS: tuple[str, ...] = (
    "access_token",
    "openid_client_secret",
    "openid_password",
    "openid_refresh_token",
)

#: iRODS's anonymous user: Basic login with an empty password (ticket access, public collections).
ANONYMOUS_USER = "anonymous"

_TRUE = {"1", "true", "yes", "on"}
_VERSION = re.compile(r"\d+\.\d+\.\d+")
_PATH_SEGMENT = re.compile(r"(?!\.\.?$)[A-Za-z0-9._~-]+")
_FALSE = {"0", "false", "no", "off"}
# iRODS zone names (irods schemas/configuration/v4/server_config.json.in:164 at 4.3.0; v5 at 5.0.2).
_ZONE_NAME = re.compile(r"[A-Za-z0-9_.]{1,63}")


@dataclass(frozen=True)
class ConnectionSettings:
    """Everything needed to open a session; secrets are excluded from ``repr``."""

    conn_id: str
    base_url: str
    host: str
    zone: str | None
    default_resource: str | None
    connect_timeout: float
    timeout: float
    verify: bool | str
    #: How to authenticate: the typed spec that ``client.build_token_source`` turns into a token source.
    auth: AuthSpec
    #: The connection's login and password fields as given (the spec holds what is used).
    username: str | None
    password: str | None = field(repr=False)
    #: The pinned API version (``api_version`` extra or a version-ending ``api_path``); None: ``auto``,
    #: discovered by the hook, and ``base_url`` is then the API root without a version.
    api_version: str | None = None

    @property
    def api_root(self) -> str:
        """``scheme://host:port/<api_path>`` without the version segment (where ``auto`` probes)."""
        if self.api_version is None:
            return self.base_url
        return self.base_url.removesuffix(f"/{self.api_version}")

    checksum_scheme: str | None = None
    """One of :data:`CHECKSUM_SCHEMES` pins the zone's checksum scheme; None learns it from the server."""

    outcome_wait: OutcomeWait = field(default_factory=OutcomeWait)
    """How long a lost reply's outcome is read back for (``outcome_wait_*``, ``server_deadline_seconds``)."""

    @property
    def auth_mode(self) -> AuthMode:
        """The ``auth_mode`` name of :attr:`auth` (for messages)."""
        match self.auth:
            case Basic():
                return "basic"
            case Token():
                return "token"
            case OpenIdClientMode():
                return "openid_client_mode"
            case OpenId(grant=grant):
                return _OPENID_MODES[type(grant)]

    @property
    def openid(self) -> OpenId | None:
        """The OpenID spec, or None in the basic and token modes."""
        return self.auth if isinstance(self.auth, OpenId) else None

    @property
    def access_token(self) -> str | None:
        """The static bearer token of the ``token`` mode."""
        return self.auth.access_token if isinstance(self.auth, Token) else None

    def secrets(self) -> list[str]:
        """Every secret value held, for masking."""
        return [v for v in (self.password, *self.auth.secrets()) if v]


def _as_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise IrodsConfigurationError(f"connection extra {key!r} must be true or false, got {value!r}")


def _as_seconds(key: str, value: Any) -> float:
    if isinstance(value, bool):  # a JSON true is no number of seconds (float(True) would be 1 s)
        raise IrodsConfigurationError(f"connection extra {key!r} must be a number of seconds, got {value!r}")
    try:
        seconds = float(value)
    except (TypeError, ValueError, OverflowError):
        raise IrodsConfigurationError(f"connection extra {key!r} must be a number of seconds") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise IrodsConfigurationError(
            f"connection extra {key!r} must be positive (a finite number of seconds), got {seconds}"
        )
    return seconds


def _text(extras: Mapping[str, Any], key: str) -> str | None:
    value = extras.get(key)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _base_url(*, host: str | None, port: int | None, schema: str | None, extras: Mapping[str, Any]) -> str:
    if not host:
        raise IrodsConfigurationError("the connection has no host: set it to the iRODS HTTP API host name")
    protocol = (schema or "").strip().lower() or None
    if protocol not in (None, "http", "https"):
        raise IrodsConfigurationError(
            f"the connection schema must be the protocol 'http' or 'https', got {schema!r} "
            "(put the iRODS zone in the 'zone' extra)"
        )
    port = port or None  # Airflow 3.3's UI posts 0 for a port left empty: both mean the default
    url_protocol, host, host_port = _split_host(host)
    protocol = url_protocol or protocol or "https"
    if port is not None and host_port is not None and port != host_port:
        raise IrodsConfigurationError(
            f"the connection host names port {host_port} but the port field says {port}: keep one"
        )
    port = host_port if port is None else port
    port = port if port is not None else (443 if protocol == "https" else 80)
    if not 0 < port <= 65535:
        raise IrodsConfigurationError(f"the connection port {port} is out of range (1-65535)")
    api_path, version = _api_path_and_version(extras)
    netloc = f"[{host}]" if ":" in host else host  # an IPv6 address is bracketed in a URL, once
    root = f"{protocol}://{netloc}:{port}{api_path}"
    return root if version is None else f"{root}/{version}"


def _split_host(host: str) -> tuple[str | None, str, int | None]:
    """(protocol or None, host name, port or None) of the host field: a name, ``name:port``, an IPv6
    address (bracketed or not, ``[addr]:port``) or an ``http(s)://`` URL of them.

    Refused, naming the field but never quoting it (it may hold a password): whitespace, a user name or
    password before ``@``, a query or fragment, and a path (the API prefix is the ``api_path`` extra; a
    reverse proxy's prefix goes there too, e.g. ``/irods/irods-http-api``).
    """
    if any(c.isspace() for c in host):
        raise IrodsConfigurationError("the connection host contains whitespace: give only the host name")
    bare_ipv6 = "://" not in host and host.count(":") > 1 and not host.startswith("[")
    if bare_ipv6:
        return None, host, None
    try:
        parts = urlsplit(host if "://" in host else f"//{host}")
        port = parts.port
    except ValueError:  # a port out of range or not a number, a malformed IPv6 address
        raise IrodsConfigurationError(
            "the connection host is not a valid URL or host name (check the port and IPv6 brackets)"
        ) from None
    if "://" in host and parts.scheme not in ("http", "https"):
        raise IrodsConfigurationError(
            "unsupported protocol in host (the connection's host field): use http:// or https://"
        )
    if "@" in parts.netloc:
        raise IrodsConfigurationError(
            "the connection host holds a user name or password before '@': put them in the login and "
            "password fields instead"
        )
    if parts.query or parts.fragment or host.endswith(("?", "#")):
        raise IrodsConfigurationError("the connection host has a query or fragment: give only the host name")
    if parts.path.strip("/"):
        raise IrodsConfigurationError(
            "the connection host has a path: give only the host name and put the path in the 'api_path' "
            "extra (e.g. /irods/irods-http-api behind a reverse proxy's /irods prefix)"
        )
    if not parts.hostname:
        raise IrodsConfigurationError("the connection host names no host")
    return (parts.scheme or None), parts.hostname, port


def _api_path_and_version(extras: Mapping[str, Any]) -> tuple[str, str | None]:
    """The API path without a version and the pinned version (None: ``auto``).

    ``api_version`` is ``auto`` or ``X.Y.Z``; an ``api_path`` ending in ``X.Y.Z`` pins that version too.
    """
    api_path = "/" + str(extras.get("api_path") or EXTRA_DEFAULTS["api_path"]).strip().strip("/")
    if api_path != "/" and not all(_PATH_SEGMENT.fullmatch(part) for part in api_path[1:].split("/")):
        raise IrodsConfigurationError(
            "connection extra 'api_path' must be a URL path of plain segments such as /irods-http-api "
            "(letters, digits, '.', '_', '~', '-'; no '..', '?', '#', '%' or spaces)"
        )
    requested = str(extras.get("api_version") or EXTRA_DEFAULTS["api_version"]).strip().strip("/")
    if requested.lower() == "auto":
        version: str | None = None
    elif _VERSION.fullmatch(requested):
        version = requested
    else:
        raise IrodsConfigurationError(
            f"connection extra 'api_version' must be 'auto' or a version such as 0.6.0, got {requested!r}"
        )
    head, _, last = api_path.rpartition("/")
    if _VERSION.fullmatch(last):
        if version is not None and version != last:
            raise IrodsConfigurationError(
                f"the api_path {api_path!r} names version {last} but the api_version extra says {version}"
            )
        return head, last
    return api_path.rstrip("/"), version


_OpenIdGrant = ClientCredentialsGrant | PasswordGrant | RefreshTokenGrant
_OPENID_MODES: dict[type[_OpenIdGrant], AuthMode] = {
    ClientCredentialsGrant: "openid_client_credentials",
    PasswordGrant: "openid_password",
    RefreshTokenGrant: "openid_refresh_token",
}


def _auth_spec(
    conn_id: str, mode: str, extras: Mapping[str, Any], login: str | None, password: str | None
) -> AuthSpec:
    """The typed auth spec of ``auth_mode`` (the one place the mode is dispatched)."""
    if mode == "basic":
        if login == ANONYMOUS_USER and not password:
            return Basic(login, "")  # the server gives iRODS's anonymous user a token without a password
        if not (login and password):
            raise IrodsConfigurationError(
                f"connection {conn_id!r} needs a login and a password for Basic authentication "
                f"(or the login {ANONYMOUS_USER!r} without a password)"
            )
        return Basic(login, password)
    if mode == "openid_client_mode":
        if not (login and password):
            raise IrodsConfigurationError(
                f"connection {conn_id!r} needs a login and a password (the OpenID provider's) for auth_mode "
                "'openid_client_mode'"
            )
        return OpenIdClientMode(login, password)
    if mode == "token":
        access_token = _text(extras, "access_token") or password
        if not access_token:
            raise IrodsConfigurationError("auth_mode 'token' needs the access token in the password field")
        return Token(access_token)
    options = _openid_options(mode, extras)
    grant: _OpenIdGrant
    if mode == "openid_client_credentials":
        if not options.client_secret:
            raise IrodsConfigurationError(
                "auth_mode 'openid_client_credentials' needs the 'openid_client_secret' extra"
            )
        grant = ClientCredentialsGrant()
    elif mode == "openid_password":
        username = _text(extras, "openid_username") or login
        secret = _text(extras, "openid_password") or password
        if not (username and secret):
            raise IrodsConfigurationError(
                "auth_mode 'openid_password' needs a username and password "
                "(login/password or openid_* extras)"
            )
        grant = PasswordGrant(username, secret)
    else:
        refresh_token = _text(extras, "openid_refresh_token")
        if not refresh_token:
            raise IrodsConfigurationError(
                "auth_mode 'openid_refresh_token' needs the 'openid_refresh_token' extra"
            )
        grant = RefreshTokenGrant(refresh_token)
    return OpenId(grant, options)


def _refuse_url_credentials(key: str, url: str | None) -> None:
    """Refuse a URL with a user name or password before ``@``, never quoting it: the masker knows the
    connection's secret fields, not a password inside a URL, which error text names."""
    try:
        netloc = urlsplit(url).netloc if url else ""
    except ValueError:  # malformed (an unclosed IPv6 bracket): the request fails later, naming no secret
        netloc = ""
    if "@" in netloc:
        raise IrodsConfigurationError(
            f"connection extra {key!r} holds a user name or password before '@': put the client's in the "
            "openid_client_id and openid_client_secret extras instead"
        )


def _openid_options(mode: str, extras: Mapping[str, Any]) -> OpenIdOptions:
    discovery_url = _text(extras, "openid_discovery_url")
    token_url = _text(extras, "openid_grant_url")
    legacy = _text(extras, "openid_token_url")
    if token_url and legacy and token_url != legacy:
        raise IrodsConfigurationError(
            "the 'openid_grant_url' extra and its older name 'openid_token_url' differ: keep the first"
        )
    for key, url in (("openid_discovery_url", discovery_url), ("openid_grant_url", token_url)):
        _refuse_url_credentials(key, url)
    _refuse_url_credentials("openid_token_url", legacy)
    token_url = token_url or legacy
    if not discovery_url and not token_url:
        raise IrodsConfigurationError(
            f"auth_mode {mode!r} needs the 'openid_discovery_url' or the 'openid_grant_url' extra "
            "(the token endpoint)"
        )
    client_id = _text(extras, "openid_client_id")
    if not client_id:
        raise IrodsConfigurationError(f"auth_mode {mode!r} needs the 'openid_client_id' extra")
    method = _text(extras, "openid_client_auth_method") or EXTRA_DEFAULTS["openid_client_auth_method"]
    client_auth = next((m for m in CLIENT_AUTH_METHODS if m == method), None)
    if client_auth is None:
        raise IrodsConfigurationError(
            f"openid_client_auth_method must be one of {', '.join(CLIENT_AUTH_METHODS)}, got {method!r}"
        )
    return OpenIdOptions(
        client_id=client_id,
        discovery_url=discovery_url,
        token_url=token_url,
        client_secret=_text(extras, "openid_client_secret"),
        client_auth=client_auth,
        scope=_text(extras, "openid_scope"),
        audience=_text(extras, "openid_audience"),
        allow_insecure_http=_as_bool(
            "openid_allow_insecure_http", extras.get("openid_allow_insecure_http", False)
        ),
        allow_foreign_token_endpoint=_as_bool(
            "openid_allow_foreign_token_endpoint", extras.get("openid_allow_foreign_token_endpoint", False)
        ),
    )


_EXPECTED_EXTRAS = 'the extras must be a JSON object of names and values, such as {"zone": "tempZone"}'


def parse_extras(conn_id: str, extra: str | Mapping[str, Any] | None) -> dict[str, Any]:
    """The connection's extras as a dict; IrodsConfigurationError when they are not a JSON object.

    Airflow's ``extra_dejson`` turns broken extras into ``{}``, which would silently drop a CA bundle,
    zone or auth mode. The message names what is wrong and where, never the text (it may hold secrets).
    """
    if extra is None or (isinstance(extra, str) and not extra.strip()):
        return {}
    if isinstance(extra, Mapping):
        data: Any = extra
    else:
        try:
            data = json.loads(extra)
        except json.JSONDecodeError as exc:
            raise IrodsConfigurationError(
                f"connection {conn_id!r} has malformed extras: not valid JSON "
                f"({exc.msg} at line {exc.lineno} column {exc.colno}); {_EXPECTED_EXTRAS}"
            ) from None
    if not isinstance(data, Mapping):
        raise IrodsConfigurationError(
            f"connection {conn_id!r} has malformed extras: a JSON {_json_type(data)}; {_EXPECTED_EXTRAS}"
        )
    return dict(data)


def _json_type(data: Any) -> str:
    names = ((bool, "boolean"), (int | float, "number"), (str, "string"), (list, "array"))
    return next((name for kind, name in names if isinstance(data, kind)), "null")


def parse_connection(
    *,
    conn_id: str,
    host: str | None,
    port: int | None,
    schema: str | None,
    login: str | None,
    password: str | None,
    extras: Mapping[str, Any],
) -> ConnectionSettings:
    """Validate an ``irods`` connection and return its settings (IrodsConfigurationError, without secrets)."""
    unknown = sorted(set(extras) - set(EXTRA_DEFAULTS) - set(RENAMED_EXTRAS))
    if unknown:
        raise IrodsConfigurationError(
            f"connection {conn_id!r} has unknown extras {unknown}; known: {', '.join(sorted(EXTRA_DEFAULTS))}"
        )
    mode = (_text(extras, "auth_mode") or "basic").lower()
    if mode not in AUTH_MODES:
        raise IrodsConfigurationError(f"auth_mode must be one of {', '.join(AUTH_MODES)}, got {mode!r}")
    ca_bundle = _text(extras, "ca_bundle")
    verify_tls = _as_bool("verify_tls", extras.get("verify_tls", True))
    auth = _auth_spec(conn_id, mode, extras, login, password)
    return ConnectionSettings(
        conn_id=conn_id,
        base_url=_base_url(host=host, port=port, schema=schema, extras=extras),
        api_version=_api_path_and_version(extras)[1],
        host=str(host),
        zone=_zone(extras),
        default_resource=_default_resource(extras),
        connect_timeout=_seconds(extras, "connect_timeout"),
        timeout=_seconds(extras, "timeout"),
        verify=(ca_bundle or True) if verify_tls else False,
        auth=auth,
        username=login,
        password=password,
        checksum_scheme=_checksum_scheme(extras),
        outcome_wait=_outcome_wait(extras),
    )


def _zone(extras: Mapping[str, Any]) -> str | None:
    """The ``zone`` extra: an iRODS zone name (a ``/`` in it would build paths like ``//tempZone/home``)."""
    zone = _text(extras, "zone")
    if zone is not None and not _ZONE_NAME.fullmatch(zone):
        raise IrodsConfigurationError(
            "connection extra 'zone' must be an iRODS zone name such as tempZone (letters, digits, '_' and "
            f"'.', at most 63 characters; no '/'), got {zone!r}"
        )
    return zone


def _default_resource(extras: Mapping[str, Any]) -> str | None:
    """The ``default_resource`` extra: a root resource name, as the operators' ``resource`` argument."""
    resource = _text(extras, "default_resource")
    if resource is not None and any(c.isspace() or c in ";/\x00" for c in resource):
        raise IrodsConfigurationError(
            "connection extra 'default_resource' must be a root resource name such as demoResc (no spaces, "
            f"'/' or ';': a hierarchy such as root;leaf is no resource name), got {resource!r}"
        )
    return resource


def _seconds(extras: Mapping[str, Any], key: str) -> float:
    """A positive number extra; unset, null or empty (``?timeout=`` in a URI, a cleared form field) is its
    default, as for every other extra."""
    value = extras.get(key)
    empty = value is None or (isinstance(value, str) and not value.strip())
    return float(EXTRA_DEFAULTS[key]) if empty else _as_seconds(key, value)


def _outcome_wait(extras: Mapping[str, Any]) -> OutcomeWait:
    """The ``outcome_wait_seconds``, ``outcome_wait_mib_per_second``, ``server_deadline_seconds`` extras."""
    return OutcomeWait(
        min_seconds=_seconds(extras, "outcome_wait_seconds"),
        bytes_per_second=_seconds(extras, "outcome_wait_mib_per_second") * MIB,
        server_deadline=_seconds(extras, "server_deadline_seconds"),
    )


def _checksum_scheme(extras: Mapping[str, Any]) -> str | None:
    """The ``checksum_scheme`` extra: unset/``auto`` = learn from the server, else one of CHECKSUM_SCHEMES."""
    value = (_text(extras, "checksum_scheme") or "auto").strip().lower()
    if value == "auto":
        return None
    if value not in CHECKSUM_SCHEMES:
        raise IrodsConfigurationError(
            f"checksum_scheme must be auto or one of {', '.join(CHECKSUM_SCHEMES)}, got {value!r}"
        )
    return value
