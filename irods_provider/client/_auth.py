"""Bearer-token providers: the TokenProvider protocol, Basic login (and its OpenID client-mode twin) and
static tokens; the typed auth specs (``Basic | Token | OpenId | OpenIdClientMode``) and
:func:`build_token_source`, the one place a spec becomes a provider."""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, cast, runtime_checkable
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from irods_provider.client._openid import OpenId, TokenCallback, openid_token_source
from irods_provider.client._operation import token_problem
from irods_provider.client._renewals import RenewalRecord
from irods_provider.client._token_store import TokenStore
from irods_provider.client._versions import LoginScheme
from irods_provider.exceptions import IrodsAuthenticationError, IrodsConfigurationError

__all__ = [
    "AuthSpec",
    "Basic",
    "BasicAuth",
    "LoginBindable",
    "OpenIdClientMode",
    "OpenIdClientModeAuth",
    "StaticToken",
    "Token",
    "TokenProvider",
    "build_token_source",
    "url_credentials",
]

#: A session's login: ``(username, password)`` → the server's bearer token; a third argument, the
#: :data:`LoginScheme`, only for a login that is not Basic (so two-argument login functions keep working).
LoginFunction = Callable[..., str]
AsyncLoginFunction = Callable[..., Awaitable[str]]


@dataclass(frozen=True)
class Basic:
    """Auth spec: an iRODS user and password exchanged at ``/authenticate`` for a token."""

    username: str
    password: str = field(repr=False)

    def secrets(self) -> list[str]:
        """The password, for masking."""
        return [self.password] if self.password else []


@dataclass(frozen=True)
class Token:
    """Auth spec: a bearer token obtained elsewhere."""

    access_token: str = field(repr=False)

    def __post_init__(self) -> None:
        # A token pasted with a trailing newline or space: what surrounds it is no part of it.
        object.__setattr__(self, "access_token", self.access_token.strip())

    def secrets(self) -> list[str]:
        """The token, for masking."""
        return [self.access_token]


@dataclass(frozen=True)
class OpenIdClientMode:
    """Auth spec: an OpenID provider's username and password, which a 0.4.0/0.5.0 server in OpenID *client*
    mode exchanges at its provider (``Authorization: iRODS``) for a token of its own."""

    username: str
    password: str = field(repr=False)

    def secrets(self) -> list[str]:
        """The password, for masking."""
        return [self.password] if self.password else []


AuthSpec = Basic | Token | OpenId | OpenIdClientMode


@runtime_checkable
class TokenProvider(Protocol):
    """Supplies bearer tokens for the iRODS HTTP API; thread-safe; at most one login/refresh in flight."""

    def get_token(self, *, reject: str | None = None) -> str:
        """A valid token; renew first if ``reject`` (a token that just got a 401) is still current."""
        ...

    async def aget_token(self, *, reject: str | None = None) -> str:
        """Async twin of :meth:`get_token`."""
        ...

    def close(self) -> None:
        """Forget tokens and release resources."""
        ...


#: The login function of the session asking for a token, set by the session around its token request: a
#: BasicAuth shared by several sessions (threads, event loops) logs in through the session that needs the
#: token, on that session's loop, never through the session bound last (which may be closed or live on
#: another loop). Unset, the bound function is used.
SESSION_LOGIN: ContextVar[Callable[..., object] | None] = ContextVar(
    "irods_provider_session_login", default=None
)


@runtime_checkable
class LoginBindable(Protocol):
    """A provider that logs in through the session's own ``/authenticate`` endpoint."""

    def bind(self, *, login: LoginFunction | None = None, alogin: AsyncLoginFunction | None = None) -> None:
        """Receive the session's login function(s)."""
        ...


class BasicAuth:
    """Username and password exchanged at ``POST /authenticate`` for a token, reused until a 401.

    The token lifetime is unknown to the client, so it is renewed only when the server refuses it.
    One login at a time: threads (or tasks) that see the same 401 wait for the one renewal and share
    its token. The session binds its login function on construction.

    Example:

    ```python
    from irods_provider.client import BasicAuth, IrodsSession

    base_url = "https://irods.example.org/irods-http-api/0.7.0"
    with IrodsSession(base_url, auth=BasicAuth("alice", "secret")) as session:
        print(session.collections.exists("/tempZone/home/alice"))
    ```
    """

    #: The ``Authorization`` scheme of the login (``iRODS`` for :class:`OpenIdClientModeAuth`).
    scheme: ClassVar[LoginScheme] = "Basic"

    def __init__(self, username: str, password: str, *, on_token: TokenCallback | None = None) -> None:
        if not username:
            raise IrodsConfigurationError(f"{type(self).__name__} needs a username")
        self.username = username
        self._password = password
        self._token: str | None = None
        self._lock = threading.Lock()
        # One asyncio lock per event loop: a lock binds to the first loop that waits on it, and one
        # BasicAuth may serve sessions on several loops (triggers run with asyncio.run in turn, threads).
        self._alocks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._renewals = RenewalRecord()
        self._login: LoginFunction | None = None
        self._alogin: AsyncLoginFunction | None = None
        self._on_token = on_token
        self.login_count = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(username={self.username!r}, password='***')"

    def bind(self, *, login: LoginFunction | None = None, alogin: AsyncLoginFunction | None = None) -> None:
        """Attach the session's sync and/or async ``/authenticate`` call."""
        if login is not None:
            self._login = login
        if alogin is not None:
            self._alogin = alogin

    def _usable(self, reject: str | None) -> str | None:
        token = self._token
        return token if token is not None and token != reject else None

    def get_token(self, *, reject: str | None = None) -> str:
        """The current token, logging in first when there is none or ``reject`` is still current.

        Callers that waited for a login that failed get its failure: N threads cost one login attempt.
        """
        token = self._usable(reject)
        if token is not None:
            return token
        ticket = self._renewals.ticket()
        with self._lock:
            token = self._usable(reject)
            if token is not None:
                return token
            login = cast("LoginFunction | None", SESSION_LOGIN.get()) or self._login
            if login is None:
                raise IrodsConfigurationError(f"{type(self).__name__} is not bound to a (sync) IrodsSession")
            self._renewals.raise_failure_since(ticket)
            self.login_count += 1
            with self._renewals.renewing():
                return self._minted(login(*self._login_arguments()))

    async def aget_token(self, *, reject: str | None = None) -> str:
        """Async twin of :meth:`get_token` (single-flight with one asyncio lock per event loop)."""
        token = self._usable(reject)
        if token is not None:
            return token
        ticket = self._renewals.ticket()
        alock = self._alocks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
        async with alock:
            token = self._usable(reject)
            if token is not None:
                return token
            alogin = cast("AsyncLoginFunction | None", SESSION_LOGIN.get()) or self._alogin
            if alogin is None:
                raise IrodsConfigurationError(f"{type(self).__name__} is not bound to an AsyncIrodsSession")
            self._renewals.raise_failure_since(ticket)
            self.login_count += 1
            with self._renewals.renewing():
                return self._minted(await alogin(*self._login_arguments()))

    def _login_arguments(self) -> tuple[str, ...]:
        """The login function's arguments: the scheme only when it is not Basic (see LoginFunction)."""
        if self.scheme == "Basic":
            return self.username, self._password
        return self.username, self._password, self.scheme

    def _minted(self, token: str) -> str:
        """Keep a freshly minted token, telling ``on_token`` (e.g. a log masker) first."""
        if self._on_token is not None:
            self._on_token(token)
        self._token = token
        return token

    def close(self) -> None:
        """Forget the token (the server has no logout; it expires on its own)."""
        self._token = None


class OpenIdClientModeAuth(BasicAuth):
    """An OpenID provider's username and password, sent as ``Authorization: iRODS base64(user:pass)`` to
    ``POST /authenticate`` of a 0.4.0/0.5.0 server in OpenID client mode: the server runs the password grant
    at its provider, maps the ID token to a zone user and answers with its own token, used and renewed as a
    Basic token is (endpoints/authentication/src/main.cpp:557-656 at 0.5.0). 0.6.0 removed the mode (#416):
    the session refuses this login there with IrodsConfigurationError before sending it.

    Example:

    ```python
    from irods_provider.client import IrodsSession, OpenIdClientModeAuth

    base_url = "https://irods.example.org/irods-http-api/0.5.0"
    with IrodsSession(base_url, auth=OpenIdClientModeAuth("alice", "provider-password")) as session:
        print(session.collections.exists("/tempZone/home/alice"))
    ```
    """

    scheme: ClassVar[LoginScheme] = "iRODS"


def login_refused(username: str, scheme: LoginScheme, http_status: int | None) -> str:
    """Why a login was refused, from its HTTP status (the server's answers carry no text)."""
    if scheme == "Basic":
        return f"login refused for user {username!r} (wrong username or password?)"
    if http_status == 401:
        reason = (
            "an empty username or password, or the zone has no user of the name the provider's ID token "
            "maps to (0.5.0)"
        )
    else:
        reason = (
            "the OpenID provider refused the username or password, or the server could not verify the ID "
            "token or map it to a zone user, or the server is not in OpenID client mode"
        )
    return f"OpenID client-mode login refused for user {username!r} (HTTP {http_status}): {reason}"


class StaticToken:
    """A bearer token obtained elsewhere; a 401 on it is final.

    Example:

    ```python
    from irods_provider.client import IrodsSession, StaticToken

    base_url = "https://irods.example.org/irods-http-api/0.7.0"
    with IrodsSession(base_url, auth=StaticToken("eyJhbGciOi...")) as session:
        print(session.collections.exists("/tempZone/home/alice"))
    ```
    """

    def __init__(self, token: str) -> None:
        token = token.strip()  # pasted with a trailing newline or space
        if not token:
            raise IrodsConfigurationError("StaticToken needs a non-empty token")
        problem = token_problem(token)
        if problem is not None:
            raise IrodsConfigurationError(f"the static bearer token cannot be sent: {problem}")
        self._token = token

    def __repr__(self) -> str:
        return "StaticToken('***')"

    def get_token(self, *, reject: str | None = None) -> str:
        """The token; raises IrodsAuthenticationError once the server has refused it (no renewal)."""
        if reject is not None and reject == self._token:
            raise IrodsAuthenticationError(
                "the server refused the static bearer token (HTTP 401: unknown to it, expired, or revoked at "
                "its OpenID provider); a static token cannot be renewed: give a new one, or an OpenID grant "
                "or login the client can renew when a token ends mid-transfer",
                http_status=401,
            )
        return self._token

    async def aget_token(self, *, reject: str | None = None) -> str:
        """Async twin of :meth:`get_token`."""
        return self.get_token(reject=reject)

    def close(self) -> None:
        """Nothing to release."""


def build_token_source(
    spec: AuthSpec,
    *,
    verify: bool | str = True,
    timeout: float = 30.0,
    on_token: TokenCallback | None = None,
    token_store: TokenStore | None = None,
) -> TokenProvider:
    """The token provider for ``spec``; every token it mints (Basic login or OpenID) goes to ``on_token``.

    ``verify`` and ``timeout`` apply to the OpenID provider's endpoints (Basic logs in through the session);
    ``token_store`` shares rotated refresh tokens across processes (default: this process's own store).
    """
    match spec:
        case Basic(username=username, password=password):
            return BasicAuth(username, password, on_token=on_token)
        case OpenIdClientMode(username=username, password=password):
            return OpenIdClientModeAuth(username, password, on_token=on_token)
        case Token(access_token=access_token):
            return StaticToken(access_token)
        case OpenId():
            return openid_token_source(
                spec, verify=verify, timeout=timeout, on_token=on_token, token_store=token_store
            )


def url_credentials(base_url: str, auth: TokenProvider | None) -> tuple[str, TokenProvider | None]:
    """``base_url`` without a ``user:password@`` it holds, and the credentials to use: those, as a Basic
    login, when ``auth`` is None. Never left in the URL: httpx would send them as a Basic header on every
    request, over the bearer token (the server answers 400), and the URL shows in logs and reprs.

    Refused, naming the URL with its password left out: credentials there beside ``auth`` (which was meant
    is not guessed), a user without a password, a password without a user.
    """
    parts = urlsplit(base_url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        return base_url, auth
    clean = urlunsplit(parts._replace(netloc=hostport))
    user, colon, password = userinfo.partition(":")
    user, password = unquote(user), unquote(password)
    shown = f"{parts.scheme}://{quote(user, safe='')}{':***' if colon else ''}@{clean.partition('://')[2]}"
    if auth is not None:
        raise IrodsConfigurationError(
            f"the base URL {shown} holds credentials and auth= is given too: give them once (auth=, or the "
            "URL alone)"
        )
    if not user:
        raise IrodsConfigurationError(f"the base URL {shown} holds a password but no user name")
    if not colon:
        raise IrodsConfigurationError(f"the base URL {shown} names user {user!r} but no password")
    return clean, BasicAuth(user, password)
