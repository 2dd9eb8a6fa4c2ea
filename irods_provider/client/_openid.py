"""OpenID Connect token sources for the iRODS HTTP API (which validates tokens but issues none).

Three grants, all satisfying ``TokenProvider``: client credentials (service accounts), resource-owner
password (direct grant) and an offline/long-lived refresh token. Tokens are renewed before they expire
(``expires_in``, else the JWT's ``exp - iat``: lifetimes the provider states, counted on this client's
monotonic clock from when the request went out, so a provider clock ahead of or behind this machine's
changes nothing) and after a 401 on the current token, with one token request in flight across threads and
coroutines. A lifetime that cannot be used (not a positive finite number, or a JWT without ``iat`` already
expired by this client's wall clock) counts as unknown: that token is renewed only after a 401.
A refresh token from the provider is tried first; if it is refused the primary grant is used again.

Requests are authenticated (``client_secret_basic``/``client_secret_post``) by authlib's OAuth2 client, whose
httpx integration runs on httpx2; answers are read bounded and decoded in ``_token_reply``. The async path
hands the token request to a worker thread: a token request is rare, and one lock then serialises every
thread and event loop alike.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import ssl
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Required, TypedDict, Unpack
from urllib.parse import urlsplit

import httpx2

from irods_provider._auth_names import CLIENT_AUTH_METHODS, ClientAuthMethod, OpenIdGrant
from irods_provider.client._config import NO_COMPRESSION, shared_ssl_context
from irods_provider.client._operation import token_problem
from irods_provider.client._redact import basic_credentials, scrub
from irods_provider.client._renewals import RenewalRecord
from irods_provider.client._token_reply import (
    Refused,
    decode_token_reply,
    jwt_exp,
    jwt_lifetime,
    lifetime_seconds,
    read_bounded,
)
from irods_provider.client._token_store import PROCESS_TOKEN_STORE, TokenStore
from irods_provider.exceptions import (
    IrodsAuthenticationError,
    IrodsConfigurationError,
    IrodsConnectionError,
    IrodsProtocolError,
    IrodsTimeoutError,
)

if TYPE_CHECKING:
    from authlib.integrations.httpx_client import OAuth2Client

__all__ = [
    "ClientCredentialsGrant",
    "OpenId",
    "OpenIdClientCredentials",
    "OpenIdOptions",
    "OpenIdPassword",
    "OpenIdRefreshToken",
    "PasswordGrant",
    "RefreshTokenGrant",
]

WELL_KNOWN = "/.well-known/openid-configuration"
_TOKEN_HEADERS = {
    "Accept": "application/json",
    "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
}
logger = logging.getLogger(__name__)
TokenCallback = Callable[[str], None]


@dataclass(frozen=True)
class OpenIdOptions:
    """Where the provider is and who the client is: what every OpenID grant needs besides its own secret."""

    client_id: str
    discovery_url: str | None = None
    token_url: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    client_auth: ClientAuthMethod = "client_secret_basic"
    scope: str | None = None
    audience: str | None = None
    allow_insecure_http: bool = False
    allow_foreign_token_endpoint: bool = False


@dataclass(frozen=True)
class ClientCredentialsGrant:
    """The ``client_credentials`` grant (a service account: the client secret is the credential)."""

    grant_type: ClassVar[OpenIdGrant] = "client_credentials"

    def __str__(self) -> str:
        return self.grant_type

    def secrets(self) -> list[str]:
        """Secrets held by the grant itself (none: the client secret is in the options)."""
        return []


@dataclass(frozen=True)
class PasswordGrant:
    """The resource-owner ``password`` grant for one user."""

    username: str
    password: str = field(repr=False)
    grant_type: ClassVar[OpenIdGrant] = "password"

    def __str__(self) -> str:
        return self.grant_type

    def secrets(self) -> list[str]:
        """The user's password."""
        return [self.password]


@dataclass(frozen=True)
class RefreshTokenGrant:
    """The ``refresh_token`` grant from an offline or long-lived refresh token."""

    refresh_token: str = field(repr=False)
    grant_type: ClassVar[OpenIdGrant] = "refresh_token"

    def __str__(self) -> str:
        return self.grant_type

    def secrets(self) -> list[str]:
        """The configured refresh token."""
        return [self.refresh_token]


@dataclass(frozen=True)
class OpenId:
    """An OpenID auth spec: one grant and the provider/client options."""

    grant: ClientCredentialsGrant | PasswordGrant | RefreshTokenGrant
    options: OpenIdOptions

    def secrets(self) -> list[str]:
        """Every secret held (client secret and the grant's own), for masking."""
        held = [self.options.client_secret, *self.grant.secrets()]
        return [s for s in held if s]


@dataclass(frozen=True)
class _Token:
    access_token: str
    renew_at: float | None  # on the source's clock; None = lifetime unknown, renew only after a 401
    refresh_token: str | None
    lifetime: float | None = None  # seconds, as the provider said (None: unknown)


class _SourceOptions(TypedDict, total=False):
    """The keyword arguments every token source takes besides its grant's own (defaults in the base)."""

    client_id: Required[str]
    discovery_url: str | None
    token_url: str | None
    scope: str | None
    audience: str | None
    client_auth: ClientAuthMethod
    leeway: float
    timeout: float
    verify: bool | str
    on_token: TokenCallback | None
    clock: Callable[[], float]
    wall_clock: Callable[[], float]
    allow_insecure_http: bool
    allow_foreign_token_endpoint: bool


def _verify_option(verify: bool | str, *, provider: str) -> ssl.SSLContext | bool:
    """The TLS verification of the provider's client: the shared context of ``verify`` (the default trust,
    plus a CA bundle), or False with a warning naming the provider."""
    if verify is not False:
        return shared_ssl_context(verify)
    logger.warning("TLS certificate verification is DISABLED for the OpenID provider %s", provider)
    return False


def _origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port with the scheme's default) of a URL."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or default


#: How often a refused refresh token is followed to a newer one a concurrent renewal stored.
_RACES_FOLLOWED = 3
#: How long a refused renewal looks for that newer token in a store without an exclusive lease.
_REREAD_SECONDS = 3.0
_REREAD_POLL_SECONDS = 0.1

#: Tokens living at least this long are renewed once per refused request (see ``renewals_per_request``).
_LONG_LIVED_SECONDS = 60.0


class _OpenIdTokenSource:
    """Shared machinery: discovery, token requests through authlib, renewal and single flight."""

    grant_type: ClassVar[str]

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str | None,
        discovery_url: str | None = None,
        token_url: str | None = None,
        scope: str | None = None,
        audience: str | None = None,
        client_auth: ClientAuthMethod = "client_secret_basic",
        leeway: float = 5.0,
        timeout: float = 30.0,
        verify: bool | str = True,
        on_token: TokenCallback | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        allow_insecure_http: bool = False,
        allow_foreign_token_endpoint: bool = False,
    ) -> None:
        """``clock`` (monotonic seconds) times each token's lifetime; ``wall_clock`` (epoch seconds) is read
        only for a JWT that states its ``exp`` but neither ``expires_in`` nor ``iat``. Both are seams for
        tests that let lifetimes pass or skew clocks without waiting, kept as the public attributes
        ``clock`` and ``wall_clock`` (settable on a source built elsewhere, e.g. by the hook)."""
        self.allow_insecure_http = allow_insecure_http
        self.allow_foreign_token_endpoint = allow_foreign_token_endpoint
        if not client_id:
            raise IrodsConfigurationError(f"OpenID {self.grant_type} grant needs a client id")
        if (discovery_url is None) == (token_url is None):
            raise IrodsConfigurationError("OpenID needs exactly one of discovery_url and token_url")
        if client_auth not in CLIENT_AUTH_METHODS:
            raise IrodsConfigurationError(f"unsupported OpenID client authentication {client_auth!r}")
        if discovery_url is not None and not discovery_url.endswith(WELL_KNOWN):
            discovery_url = discovery_url.rstrip("/") + WELL_KNOWN
        for url, what in ((discovery_url, "discovery URL"), (token_url, "token endpoint")):
            if url is not None:
                self._check_scheme(url, what)
        self.client_id = client_id
        self.discovery_url = discovery_url
        self.token_url = token_url
        self.scope = scope
        self.audience = audience
        self.leeway = leeway
        self.token_requests = 0
        self._on_token = on_token
        self.clock = clock
        self.wall_clock = wall_clock
        self._lock = threading.Lock()
        self._alocks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._current: _Token | None = None
        self._renewals = RenewalRecord()
        self._client_options: dict[str, Any] = {
            "client_id": client_id,
            "client_secret": client_secret,
            "token_endpoint_auth_method": client_auth if client_secret else "none",
            "scope": scope,
            "timeout": timeout,
            "verify": _verify_option(verify, provider=str(discovery_url or token_url)),
            "headers": dict(NO_COMPRESSION),
        }
        self._oauth_client: OAuth2Client | None = None

    def __repr__(self) -> str:
        where = self.discovery_url or self.token_url
        return f"{type(self).__name__}(client_id={self.client_id!r}, provider={where!r}, secrets='***')"

    # -- endpoint policy (RFC 8414 / OpenID Connect Discovery) ----------------------------------------

    def _check_scheme(self, url: str, what: str) -> None:
        """https only: plain http carries the client secret and tokens in clear (unless allowed for tests)."""
        scheme = urlsplit(url).scheme.lower()
        if scheme == "https" or (scheme == "http" and self.allow_insecure_http):
            return
        raise IrodsConfigurationError(
            f"OpenID {what} {url} must use https (credentials are never sent over {scheme or 'no scheme'}; "
            "set openid_allow_insecure_http only for a loopback test provider)"
        )

    def _check_discovery(self, document: Mapping[str, Any]) -> str:
        """The token endpoint of a discovery document whose ``issuer`` matches the discovery URL."""
        url = str(self.discovery_url)
        expected = url[: -len(WELL_KNOWN)].rstrip("/")
        issuer = document.get("issuer")
        if not isinstance(issuer, str) or issuer.rstrip("/") != expected:
            raise IrodsConfigurationError(
                f"OpenID discovery document at {url} names issuer {scrub(str(issuer), limit=200)!r}, "
                f"not {expected!r}: the issuer must match the discovery URL (RFC 8414 section 3.3)",
                operation="openid_discovery",
            )
        endpoint = document.get("token_endpoint")
        if not isinstance(endpoint, str) or not endpoint:
            raise IrodsProtocolError(f"OpenID discovery document at {url} has no token_endpoint")
        self._check_scheme(endpoint, "token endpoint (from discovery)")
        if not self.allow_foreign_token_endpoint and _origin(endpoint)[1:] != _origin(expected)[1:]:
            raise IrodsConfigurationError(
                f"OpenID token endpoint {endpoint} from discovery at {url} is not on the issuer's host and "
                "port; refused (set openid_allow_foreign_token_endpoint if the provider really does this)",
                operation="openid_discovery",
            )
        return endpoint

    def _secrets(self) -> list[str | None]:
        """Every secret this source holds (scrubbed from provider error text)."""
        current = self._current
        secret = self._client_options.get("client_secret")
        held = [secret, *(basic_credentials(self.client_id, secret) if secret else [])]
        if current is not None:
            held += [current.access_token, current.refresh_token]
        return held

    @property
    def _provider(self) -> str:
        return str(self.token_url or self.discovery_url)

    @property
    def _subject(self) -> str:
        return f"client {self.client_id!r}"

    @property
    def renewals_per_request(self) -> int:
        """How often one request renews its token after a 401. Once for tokens that live a minute or more:
        a token the provider just issued and the server refuses again is a configuration problem (audience,
        user mapping), not an expiry. Three for short-lived tokens (or an unknown lifetime), which can
        expire on the way to the server when requests are slow."""
        current = self._current
        lifetime = None if current is None else current.lifetime
        return 1 if lifetime is not None and lifetime >= _LONG_LIVED_SECONDS else 3

    def explain_refusal(self, tokens: int) -> str:
        """Why the iRODS HTTP API refused ``tokens`` tokens from this provider in a row (for the error)."""
        current = self._current
        lifetime = None if current is None else current.lifetime
        expiry = (
            f", or its tokens ({lifetime:g} s) expire before requests this slow reach the server"
            if lifetime is not None and lifetime < _LONG_LIVED_SECONDS
            else ""
        )
        clocks = (
            ". A server that validates these JWTs itself allows no leeway: check that its clock agrees with "
            "the provider's (it refuses a token whose 'iat' or 'nbf' lies ahead of its clock, or whose "
            "'exp' it has passed)"
            if current is not None and jwt_exp(current.access_token) is not None
            else ""
        )
        return (
            f"the iRODS HTTP API refused {tokens} bearer tokens in a row (the last one just issued) "
            f"from OpenID provider {self._provider} for {self._subject} ({self.grant_type} grant): the "
            f"server does not accept this provider's tokens{expiry}. Check that the server's OpenID "
            "configuration names this provider and a matching audience/client id (the token's 'aud'), and "
            f"that the token's user claim maps to an iRODS user{clocks}"
        )

    # -- TokenProvider -------------------------------------------------------------------------------

    def _usable(self, reject: str | None) -> str | None:
        current = self._current
        if current is None or current.access_token == reject:
            return None
        if current.renew_at is not None and self.clock() >= current.renew_at:
            return None
        return current.access_token

    def get_token(self, *, reject: str | None = None) -> str:
        """A valid access token; a new one when the current is about to expire or ``reject`` is current.

        One renewal at a time; callers that waited for a renewal that failed get its failure (one token
        request and one timeout for all of them, not one each).
        """
        token = self._usable(reject)
        if token is not None:
            return token
        return self._renewed(reject, self._renewals.ticket())

    def _renewed(self, reject: str | None, ticket: int) -> str:
        with self._lock:
            token = self._usable(reject)
            if token is not None:
                return token
            self._renewals.raise_failure_since(ticket)
            with self._renewals.renewing():
                self._current = self._renew(self._current)
            return self._current.access_token

    async def aget_token(self, *, reject: str | None = None) -> str:
        """Async twin of :meth:`get_token`: one coroutine per loop waits for the (threaded) renewal."""
        token = self._usable(reject)
        if token is not None:
            return token
        ticket = self._renewals.ticket()
        loop = asyncio.get_running_loop()
        alock = self._alocks.setdefault(loop, asyncio.Lock())
        async with alock:
            token = self._usable(reject)
            if token is not None:
                return token
            return await asyncio.to_thread(self._renewed, reject, ticket)

    def close(self) -> None:
        """Forget the tokens and close the HTTP client (a later call opens a new one)."""
        with self._lock:
            self._current = None
            if self._oauth_client is not None:
                self._oauth_client.close()
                self._oauth_client = None

    @property
    def _oauth(self) -> OAuth2Client:
        if self._oauth_client is None:
            # authlib is imported on first use: it is a third of the client's import time.
            from authlib.integrations.httpx_client import OAuth2Client

            self._oauth_client = OAuth2Client(**self._client_options)
        return self._oauth_client

    # -- renewal -------------------------------------------------------------------------------------

    def _primary_params(self) -> dict[str, str]:
        raise NotImplementedError

    def _renew(self, old: _Token | None) -> _Token:
        if old is not None and old.refresh_token and self.grant_type != "refresh_token":
            try:
                return self._request("refresh_token", {"refresh_token": old.refresh_token})
            except Refused:
                pass  # expired or revoked refresh token: log in again with the primary grant
        try:
            return self._request(self.grant_type, self._primary_params())
        except Refused as refused:
            raise self._refusal(refused) from None

    def _refusal(self, refused: Refused) -> IrodsAuthenticationError:
        """The typed error for the primary grant's refusal, without the secrets providers echo back."""
        detail = refused.error + (f": {refused.description}" if refused.description else "")
        detail = scrub(detail, self._secrets())
        return IrodsAuthenticationError(
            f"OpenID provider {self._provider} refused the {self.grant_type} grant for "
            f"{self._subject}: {detail}",
            operation="openid_token",
        )

    @property
    def _answer_within(self) -> float | None:
        """Seconds a provider's whole answer may take once its headers arrived: the source's ``timeout``."""
        timeout = self._client_options["timeout"]
        return None if timeout is None else float(timeout)

    def _token_endpoint(self) -> str:
        if self.token_url is None:
            document = self._get_json(str(self.discovery_url), what="discovery document")
            self.token_url = self._check_discovery(document)
        return self.token_url

    def _get_json(self, url: str, *, what: str) -> Mapping[str, Any]:
        try:
            with self._oauth.stream("GET", url, withhold_token=True) as response:
                body = read_bounded(
                    response.iter_raw(), response.headers, url=url, what=what, within=self._answer_within
                )
        except httpx2.TimeoutException as error:
            raise IrodsTimeoutError(f"OpenID provider at {url} did not answer in time ({what})") from error
        except httpx2.HTTPError as error:
            raise IrodsConnectionError(f"cannot reach OpenID provider at {url}: {error}") from error
        try:
            document = json.loads(body) if response.status_code == 200 else None
        except (ValueError, RecursionError):  # not JSON, or nested deeper than the decoder goes
            document = None
        if not isinstance(document, dict):
            raise IrodsProtocolError(
                f"OpenID {what} at {url} is not a JSON object (HTTP {response.status_code})"
            )
        return document

    def _request(self, grant_type: str, params: dict[str, str]) -> _Token:
        """One token request; raises Refused on an OAuth error answer, typed errors otherwise.

        authlib authenticates the client (``client_secret_basic``/``client_secret_post``); the answer is read
        here, bounded and uncompressed, and decoded by :func:`decode_token_reply` (RFC 6749 section 5).
        """
        url = self._token_endpoint()
        form = {"grant_type": grant_type, **params}
        if self.scope:
            form["scope"] = self.scope
        if self.audience:
            form["audience"] = self.audience
        oauth = self._oauth
        auth = oauth.client_auth(oauth.token_endpoint_auth_method)
        self.token_requests += 1
        started = self.clock()
        what = f"{grant_type} request"
        try:
            with oauth.stream(
                "POST", url, data=form, headers=_TOKEN_HEADERS, auth=auth, withhold_token=True
            ) as reply:
                body = read_bounded(
                    reply.iter_raw(), reply.headers, url=url, what=what, within=self._answer_within
                )
        except httpx2.TimeoutException as error:
            raise IrodsTimeoutError(f"OpenID provider at {url} did not answer the {what} in time") from error
        except httpx2.HTTPError as error:
            raise IrodsConnectionError(f"cannot reach OpenID provider at {url}: {error}") from error
        answer = decode_token_reply(reply.status_code, body, url=url, grant_type=grant_type)
        return self._accept(answer, started=started, url=url, grant_type=grant_type)

    def _accept(self, answer: dict[str, Any], *, started: float, url: str, grant_type: str) -> _Token:
        access_token = answer.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise IrodsProtocolError(
                f"OpenID provider at {url} sent no access_token for the {grant_type} grant"
            )
        access_token = access_token.strip()
        problem = token_problem(access_token)
        if problem is not None:
            raise IrodsProtocolError(
                f"OpenID provider at {url} sent an access_token for the {grant_type} grant that cannot be "
                f"sent in an HTTP header: {problem}"
            )
        if self._on_token is not None:
            for key in ("access_token", "refresh_token", "id_token"):
                value = answer.get(key)
                if isinstance(value, str) and value.strip():
                    self._on_token(value.strip())  # the form sent (a masker matches whole values)
        # A lifetime that cannot be used (missing, not a number, infinite, zero or negative) is unknown: the
        # token is renewed after the server refuses it. Without expires_in a JWT's exp - iat is its lifetime
        # by the provider's own clock, whatever this machine's says (see jwt_lifetime).
        lifetime = lifetime_seconds(answer.get("expires_in"))
        if lifetime is None:
            lifetime = jwt_lifetime(access_token, now=self.wall_clock())
        renew_at = None
        if lifetime is not None:
            # ``started`` is taken before the token request went out, so the lifetime is counted from
            # the client's own clock and only a later request's transit needs the leeway (5 s by default:
            # a 60 s token costs one request per lifetime, not two). Short-lived tokens keep half their
            # lifetime usable instead of being renewed on every call.
            renew_at = started + lifetime - min(self.leeway, lifetime / 2)
        refresh_token = answer.get("refresh_token")
        refresh = refresh_token if isinstance(refresh_token, str) else None
        return _Token(access_token, renew_at, refresh, lifetime)


class OpenIdClientCredentials(_OpenIdTokenSource):
    """Tokens for a service account: the ``client_credentials`` grant.

    Example:

    ```python
    from irods_provider.client import IrodsSession, OpenIdClientCredentials

    auth = OpenIdClientCredentials(
        client_id="airflow-pipelines",
        client_secret="s3cr3t",
        token_url="https://keycloak.example.org/realms/irods/protocol/openid-connect/token",
    )
    with IrodsSession("https://irods.example.org/irods-http-api/0.7.0", auth=auth) as session:
        print(session.collections.exists("/tempZone/home/service-airflow"))
    ```
    """

    grant_type = "client_credentials"

    def __init__(
        self,
        *,
        client_secret: str,
        **options: Unpack[_SourceOptions],
    ) -> None:
        if not client_secret:
            raise IrodsConfigurationError("the OpenID client_credentials grant needs a client secret")
        super().__init__(client_secret=client_secret, **options)

    def _primary_params(self) -> dict[str, str]:
        return {}


class OpenIdPassword(_OpenIdTokenSource):
    """Tokens for a user by the resource-owner ``password`` grant (Keycloak "direct access grant").

    Example:

    ```python
    from irods_provider.client import IrodsSession, OpenIdPassword

    auth = OpenIdPassword(
        username="alice",
        password="secret",
        client_id="irods-http-api",
        discovery_url="https://keycloak.example.org/realms/irods/.well-known/openid-configuration",
    )
    with IrodsSession("https://irods.example.org/irods-http-api/0.7.0", auth=auth) as session:
        print(session.collections.exists("/tempZone/home/alice"))
    ```
    """

    grant_type = "password"

    def __init__(
        self,
        *,
        username: str,
        password: str,
        client_secret: str | None = None,
        **options: Unpack[_SourceOptions],
    ) -> None:
        if not username:
            raise IrodsConfigurationError("the OpenID password grant needs a username")
        self.username = username
        self._password = password
        super().__init__(client_secret=client_secret, **options)

    def _primary_params(self) -> dict[str, str]:
        return {"username": self.username, "password": self._password}

    def _secrets(self) -> list[str | None]:
        return [*super()._secrets(), self._password]

    @property
    def _subject(self) -> str:
        return f"user {self.username!r} (client {self.client_id!r})"


class OpenIdRefreshToken(_OpenIdTokenSource):
    """Tokens from an offline or long-lived refresh token, rotated through a shared :class:`TokenStore`.

    The store holds the newest refresh token of this configuration (provider, client and configured token).
    Each renewal holds the store's lease for it, reads the newest token, presents it once and stores the
    rotated one: sources in other threads and processes sharing the store never present a token twice. The
    default store is the process's own (:data:`PROCESS_TOKEN_STORE`).

    Example:

    ```python
    from irods_provider.client import IrodsSession, OpenIdRefreshToken, SqliteTokenStore

    auth = OpenIdRefreshToken(
        refresh_token="eyJhbGciOi...",
        client_id="irods-http-api",
        discovery_url="https://keycloak.example.org/realms/irods/.well-known/openid-configuration",
        store=SqliteTokenStore("/var/lib/airflow/irods-tokens.sqlite"),
    )
    with IrodsSession("https://irods.example.org/irods-http-api/0.7.0", auth=auth) as session:
        print(session.collections.exists("/tempZone/home/alice"))
    ```
    """

    grant_type = "refresh_token"

    def __init__(
        self,
        *,
        refresh_token: str,
        client_secret: str | None = None,
        store: TokenStore | None = None,
        lease_seconds: float | None = None,
        **options: Unpack[_SourceOptions],
    ) -> None:
        if not refresh_token:
            raise IrodsConfigurationError("the OpenID refresh_token grant needs a refresh token")
        super().__init__(client_secret=client_secret, **options)
        self._configured = refresh_token
        self._presented: str | None = None  # the refresh token of the last request (scrubbed from errors)
        self._store = PROCESS_TOKEN_STORE if store is None else store
        # A lease outlives one token request (its timeout) with a margin, so a live holder is never overtaken.
        self._lease_seconds = lease_seconds or float(self._client_options["timeout"]) + 10.0
        # An exclusive lease leaves no concurrent renewal to wait for: one immediate look suffices.
        exclusive = getattr(self._store, "exclusive_lease", False) is True
        self._reread_seconds = 0.0 if exclusive else _REREAD_SECONDS
        identity = "\n".join((self._provider, self.client_id, refresh_token))
        self.store_key = hashlib.sha256(identity.encode()).hexdigest()

    def _latest_refresh_token(self) -> str:
        return self._store.get(self.store_key) or self._configured

    def _primary_params(self) -> dict[str, str]:
        return {"refresh_token": self._latest_refresh_token()}

    def _secrets(self) -> list[str | None]:
        return [*super()._secrets(), self._configured, self._presented]

    def _renew(self, old: _Token | None) -> _Token:
        with self._store.lease(self.store_key, seconds=self._lease_seconds):
            token = self._present_newest()
            if token.refresh_token:
                self._store.put(self.store_key, token.refresh_token)
        return token

    def _present_newest(self) -> _Token:
        """Present the newest stored token; after ``invalid_grant``, the one a concurrent renewal stored.

        A store whose lease is not exclusive (Airflow Variables) can let two renewals read the same token:
        the provider rotates it for the first and refuses it to the second, whose store then shows (or
        soon shows) the first one's rotated token.
        """
        presented, followed = self._latest_refresh_token(), 0
        while True:
            self._presented = presented
            try:
                return self._request("refresh_token", {"refresh_token": presented})
            except Refused as refused:
                follow = refused.error == "invalid_grant" and followed < _RACES_FOLLOWED
                newer = self._newer_than(presented) if follow else None
                if newer is None:
                    raise self._refusal(refused) from None
                logger.info("OpenID refresh token was rotated by a concurrent renewal; using the newer one")
                presented, followed = newer, followed + 1

    def _newer_than(self, presented: str) -> str | None:
        """A stored token other than ``presented``, polled for ``reread_seconds`` (a concurrent renewal's
        write may still be on its way), or None."""
        deadline = time.monotonic() + self._reread_seconds
        while True:
            stored = self._store.get(self.store_key)
            if stored and stored != presented:
                return stored
            if time.monotonic() >= deadline:
                return None
            time.sleep(_REREAD_POLL_SECONDS)


def openid_token_source(
    spec: OpenId,
    *,
    verify: bool | str = True,
    timeout: float = 30.0,
    on_token: TokenCallback | None = None,
    token_store: TokenStore | None = None,
) -> _OpenIdTokenSource:
    """The token source of ``spec``'s grant; every token it mints is passed to ``on_token``.

    ``token_store`` holds the rotated refresh token of the ``refresh_token`` grant (default: this process's).
    """
    options = spec.options
    common: _SourceOptions = {
        "client_id": options.client_id,
        "discovery_url": None if options.token_url else options.discovery_url,
        "token_url": options.token_url,
        "client_auth": options.client_auth,
        "scope": options.scope,
        "audience": options.audience,
        "verify": verify,
        "timeout": timeout,
        "on_token": on_token,
        "allow_insecure_http": options.allow_insecure_http,
        "allow_foreign_token_endpoint": options.allow_foreign_token_endpoint,
    }
    grant = spec.grant
    secret = options.client_secret
    match grant:
        case ClientCredentialsGrant():
            return OpenIdClientCredentials(client_secret=secret or "", **common)
        case PasswordGrant(username=username, password=password):
            return OpenIdPassword(username=username, password=password, client_secret=secret, **common)
        case RefreshTokenGrant(refresh_token=refresh_token):
            return OpenIdRefreshToken(
                refresh_token=refresh_token, client_secret=secret, store=token_store, **common
            )
