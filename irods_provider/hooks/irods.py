"""The ``irods`` connection type: :class:`IrodsHook` turns an Airflow connection into a client session."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook
from airflow.sdk.log import mask_secret

from irods_provider._metrics import install_metrics
from irods_provider.client._redact import basic_credentials, shown_forms
from irods_provider.exceptions import (
    IrodsConfigurationError,
    IrodsNotACollectionError,
    IrodsNotFoundError,
    IrodsPermissionError,
)
from irods_provider.hooks._connection import ConnectionSettings, parse_connection, parse_extras
from irods_provider.hooks._diagnose import describe_failure, extra_key_hint, missing_zone, typed_connection_id
from irods_provider.hooks._logs import install_request_log_demotion
from irods_provider.hooks._shortcuts import IrodsShortcutsMixin

if TYPE_CHECKING:
    from types import TracebackType

    from airflow.sdk import Connection

    from irods_provider.client import AsyncIrodsSession, IrodsSession, RetryPolicy, TokenProvider
    from irods_provider.client._models import ServerLimits

__all__ = ["IrodsHook"]


def _mask(secret: str) -> None:
    """Register ``secret`` with Airflow's log masker in every form text may show it: as it is, escaped, and
    form- or URL-encoded (an OpenID provider may echo a token request's body into its error text)."""
    mask_secret(secret)
    for form in shown_forms(secret):
        mask_secret(form)


def _mask_token(token: str) -> None:
    """Register a minted bearer token (Basic login or OpenID) with the log masker."""
    _mask(token)


class IrodsHook(IrodsShortcutsMixin, BaseHook):
    """Interact with iRODS through its HTTP API.

    Example:

    ```python
    from airflow.sdk import task

    from irods_provider.hooks.irods import IrodsHook


    @task
    def count_csv(path: str) -> int:
        with IrodsHook("irods_default") as hook:
            session = hook.get_conn()
            return sum(name.endswith(".csv") for name in session.collections.list(path))
    ```

    :param irods_conn_id: an Airflow connection of type ``irods`` (see the connection form for its fields).
    :param retry: the client's retry policy (default: the client's default).
    """

    conn_name_attr = "irods_conn_id"
    default_conn_name = "irods_default"
    conn_type = "irods"
    hook_name = "iRODS (HTTP API)"

    def __init__(self, irods_conn_id: str = default_conn_name, *, retry: RetryPolicy | None = None) -> None:
        super().__init__()
        self.irods_conn_id = irods_conn_id
        self.retry = retry
        self._settings: ConnectionSettings | None = None
        self._session: IrodsSession | None = None

    @staticmethod
    def settings_from_connection(conn: Connection) -> ConnectionSettings:
        """Parse ``conn`` and register every secret it holds with Airflow's log masker.

        Extras that are not a JSON object raise IrodsConfigurationError (Airflow would read them as ``{}``).
        """
        install_request_log_demotion()  # bounded task logs: per-request lines at DEBUG, from the first one
        install_metrics()  # retries by cause, checksum mismatches, request latency to Airflow's metrics
        if conn.password:
            _mask(conn.password)
        # Parsed once, here: Airflow's extra_dejson would read broken extras as {} (settings.secrets()
        # masks every secret extra below). The UI form saves every field, an empty one as null: null means
        # "not set" (the default), like a missing key.
        extras = {
            key: value for key, value in parse_extras(conn.conn_id, conn.extra).items() if value is not None
        }
        try:
            settings = parse_connection(
                conn_id=conn.conn_id,
                host=conn.host,
                port=conn.port,
                schema=conn.schema,
                login=conn.login,
                password=conn.password,
                extras=extras,
            )
        except IrodsConfigurationError as error:
            hint = extra_key_hint(extras)
            if not hint:
                raise
            raise IrodsConfigurationError(f"{error} ({hint})") from None
        for secret in settings.secrets():
            _mask(secret)
        if settings.auth_mode == "openid_client_mode" and settings.username and settings.password:
            # Authorization: iRODS base64(user:pass), the same form a Basic header has (if a log shows it).
            for credentials in basic_credentials(settings.username, settings.password):
                mask_secret(credentials)
        openid = settings.openid
        if openid is not None and openid.options.client_secret:  # the client_secret_basic header, if echoed
            for credentials in basic_credentials(openid.options.client_id, openid.options.client_secret):
                mask_secret(credentials)
        return settings

    @property
    def settings(self) -> ConnectionSettings:
        """The parsed connection (read once per hook)."""
        if self._settings is None:
            self._settings = self.settings_from_connection(self.get_connection(self.irods_conn_id))
        return self._settings

    def _session_kwargs(
        self, settings: ConnectionSettings, auth: TokenProvider | None = None
    ) -> dict[str, Any]:
        import httpx2

        kwargs: dict[str, Any] = {
            "auth": self._auth(settings) if auth is None else auth,
            "timeout": httpx2.Timeout(settings.timeout, connect=settings.connect_timeout),
            "verify": settings.verify,
            "on_secret": mask_secret,  # tickets the session creates or sends
            "outcome_wait": settings.outcome_wait,
        }
        if self.retry is not None:
            kwargs["retry"] = self.retry
        return kwargs

    @staticmethod
    def _auth(settings: ConnectionSettings) -> TokenProvider:
        """The connection's token source; every token it mints is registered with the log masker."""
        from irods_provider.client import build_token_source
        from irods_provider.hooks._token_store import default_token_store

        return build_token_source(
            settings.auth,
            verify=settings.verify,
            timeout=settings.timeout,
            on_token=_mask_token,
            token_store=default_token_store(),
        )

    @staticmethod
    def api_base_url(settings: ConnectionSettings, retry: RetryPolicy | None = None) -> str:
        """The full API base URL: the pinned version's, or the one ``auto`` discovery finds.

        Discovery probes ``<api root>/<v>/info`` for the known versions, newest first, once per API root
        per process (cached, thread-safe); IrodsProtocolError names every URL tried when none answers.
        """
        return IrodsHook._discover(settings, retry)[0]

    @staticmethod
    def _discover(settings: ConnectionSettings, retry: RetryPolicy | None) -> tuple[str, ServerLimits | None]:
        """The API base URL, and the server limits when ``auto`` discovery probed just now (its ``/info``
        answer, handed to the session so that it does not ask again)."""
        if settings.api_version is not None:
            return settings.base_url, None
        from irods_provider.client._discovery import discover_api
        from irods_provider.client._ops_misc import decode_limits

        found = discover_api(
            settings.api_root, verify=settings.verify, timeout=settings.connect_timeout, retry=retry
        )
        limits = decode_limits(found.info) if found.info is not None else None
        return f"{settings.api_root}/{found.version}", limits

    def get_conn(self) -> IrodsSession:
        """Return this hook's session, opened on first use and kept until :meth:`close`."""
        if self._session is None:
            from irods_provider.client import IrodsSession
            from irods_provider.client.transfer import pin_checksum_scheme

            settings = self.settings
            base_url, limits = self._discover(settings, self.retry)
            self._session = IrodsSession(base_url, **self._session_kwargs(settings))
            if limits is not None:
                self._session.adopt_limits(limits)
            if settings.checksum_scheme is not None:
                pin_checksum_scheme(self._session, settings.checksum_scheme)
        return self._session

    async def get_async_conn(self, *, share_token_source: bool = False) -> AsyncIrodsSession:
        """Open a new async session (for triggers); the caller closes it (``async with``).

        ``share_token_source``: use this process's token source of the same connection (the triggerer's
        sessions, opened in turn, present the token still valid instead of each minting one that Airflow's
        masker keeps for the process's life; see ``hooks/_token_sources.py``).
        """
        from irods_provider.client import AsyncIrodsSession
        from irods_provider.hooks._token_sources import shared_token_source

        if self._settings is None:
            conn = await self.aget_connection(self.irods_conn_id)
            self._settings = self.settings_from_connection(conn)
        settings = self._settings
        # The process's first https client loads the CA store (20-40 ms of blocking I/O, then shared): keep it
        # off the event loop. Discovery (cached after the first probe) is blocking I/O too.

        def build() -> AsyncIrodsSession:
            base_url, limits = self._discover(settings, self.retry)
            auth = shared_token_source(settings, lambda: self._auth(settings)) if share_token_source else None
            session = AsyncIrodsSession(base_url, **self._session_kwargs(settings, auth))
            if limits is not None:
                session.adopt_limits(limits)
            return session

        return await asyncio.to_thread(build)

    def write_resource(self) -> str | None:
        """The connection's ``default_resource``: where ``write_bytes``/``upload_file`` write."""
        return self.settings.default_resource

    def user_name(self) -> str | None:
        """The iRODS user the connection acts as, when it names one: its login, or the OpenID username in
        the ``openid_password`` mode; None for a static token or client credentials."""
        from irods_provider.client._openid import OpenId, PasswordGrant

        auth = self.settings.auth
        if isinstance(auth, OpenId) and isinstance(auth.grant, PasswordGrant):
            return auth.grant.username or self.settings.username
        return self.settings.username

    def home_collection(self, zone: str | None = None, user: str | None = None) -> str:
        """The user's home collection in ``zone``: the given ones, else the connection's.

        The connection's (local) zone is its ``zone`` extra, else the server's (``/info``); the user is the
        connection's login (the OpenID username in the ``openid_password`` mode). A connection naming no user
        (a static token, client credentials) needs ``user``. In another (federated) zone a user's home is
        ``/<zone>/home/<user>#<home zone>``, as iRODS names remote users' homes: so is the connection's own
        user's there. A ``user`` given is a user of ``zone`` unless written ``name#zone``, which says which
        zone is its home.
        """
        settings = self.settings
        if user and "#" not in user and zone:
            return f"/{zone}/home/{user}"  # a user of that zone: no connection needed
        user = user or self.user_name()
        if not user:
            raise IrodsConfigurationError(
                f"connection {self.irods_conn_id!r} names no user ({settings.auth_mode}): give the user"
            )
        name, _, user_zone = user.partition("#")
        local = settings.zone or (None if user_zone and zone else self.get_conn().limits.irods_zone)
        home_zone = user_zone or local
        zone = zone or local
        return f"/{zone}/home/{name}" if zone == home_zone else f"/{zone}/home/{name}#{home_zone}"

    def close(self) -> None:
        """Close the cached session (logs out nothing: iRODS HTTP tokens simply expire)."""
        if self._session is not None:
            session, self._session = self._session, None
            session.close()
            if session.auth is not None:
                session.auth.close()  # the session leaves its token source (an OpenID HTTP client) to us

    def __enter__(self) -> IrodsHook:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def test_connection(self) -> tuple[bool, str]:
        """Reach the server, check it is an iRODS HTTP API of the expected version, log in, check the zone.

        Returns ``(ok, message)``; the message names what failed in plain words and never holds a secret.
        Under the UI's Test button it names the connection id the user typed, not Airflow's temporary one.
        """
        typed = typed_connection_id(self.irods_conn_id)
        ok, message = self._test_connection()
        if typed != self.irods_conn_id:
            message = message.replace(repr(self.irods_conn_id), repr(typed))
        return ok, message

    def _test_connection(self) -> tuple[bool, str]:
        try:
            settings = self.settings
        except Exception as error:
            return False, f"The connection is misconfigured: {error}"
        from irods_provider.client import IrodsSession

        step = "reach"
        kwargs: dict[str, Any] = {}
        try:
            kwargs = self._session_kwargs(settings)
            base_url, probed = self._discover(settings, self.retry)
            with IrodsSession(base_url, **kwargs) as session:
                if probed is not None:
                    session.adopt_limits(probed)
                limits = session.limits
                step = "login"
                zone = settings.zone or limits.irods_zone or ""
                # Logged in once the server answers about its catalog, whatever the answer.
                with contextlib.suppress(IrodsNotFoundError, IrodsNotACollectionError, IrodsPermissionError):
                    session.collections.stat(f"/{limits.irods_zone or zone}")
                problem = missing_zone(session, settings.zone, limits.irods_zone) if settings.zone else None
                if problem is not None:
                    return False, problem
        except Exception as error:
            return False, describe_failure(error, settings=settings, step=step)
        finally:
            if "auth" in kwargs:
                kwargs["auth"].close()  # the session leaves its token source (an OpenID HTTP client) to us
        how = "pinned" if settings.api_version is not None else "detected automatically"
        return True, (
            f"Connected to the iRODS HTTP API {limits.api_version} ({how}) at {base_url} "
            f"(zone {zone or 'unknown'}) with {settings.auth_mode} authentication"
        )
