"""The async session: one pooled httpx2 client, auth, retries and server limits."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import ssl
import time
from collections.abc import AsyncIterator
from contextvars import ContextVar
from types import TracebackType
from typing import Any, TypeVar

import httpx2

from irods_provider.client._async._catalog import AsyncMetadata, AsyncQuery, AsyncTickets
from irods_provider.client._async._fs import AsyncCollections, AsyncDataObjects
from irods_provider.client._auth import (
    SESSION_LOGIN,
    LoginBindable,
    TokenProvider,
    login_refused,
    url_credentials,
)
from irods_provider.client._bounded import BoundedBody, ReplyLimits
from irods_provider.client._config import (
    DEFAULT_POOL_LIMITS,
    DEFAULT_TIMEOUT,
    OutcomeWait,
    TimeoutTypes,
    UseDefault,
    client_options,
    to_timeout,
)
from irods_provider.client._errors import map_httpx_errors
from irods_provider.client._events import emit, retry_cause
from irods_provider.client._locks import unavailable_error
from irods_provider.client._models import Replica, ServerLimits
from irods_provider.client._operation import (
    HeldBody,
    Operation,
    Reply,
    html_instead_of_bytes,
    request_arguments,
)
from irods_provider.client._ops_misc import authenticate, info
from irods_provider.client._pools import AsyncShardedTransport
from irods_provider.client._redact import (
    SecretCallback,
    decode_withheld,
    install_log_redaction,
    secrets_of,
)
from irods_provider.client._retry import RetryPolicy, reply_lost
from irods_provider.client._versions import (
    RESTRICTED_OPERATIONS,
    ApiVersion,
    LoginScheme,
    api_version_facts,
    version_from_url,
)
from irods_provider.exceptions import (
    IrodsAuthenticationError,
    IrodsBadRequestError,
    IrodsError,
    IrodsNotADataObjectError,
    IrodsReplicaUnavailableError,
    IrodsResponseError,
    IrodsUsageError,
)

__all__ = ["AsyncIrodsSession"]

logger = logging.getLogger("irods_provider.client")
T = TypeVar("T")

# Set while a request fetches its token: a login it causes makes one attempt, as the request's own
# retry loop repeats it (otherwise attempts multiply: 4 request attempts x 4 login attempts).
_IN_REQUEST: ContextVar[bool] = ContextVar("irods_provider_in_request", default=False)
#: Bytes of a bounded reply body each read timeout allows once its headers arrived (about 140 kB/s at 60 s).
_BODY_PER_READ_TIMEOUT = 8 * 1024 * 1024


class AsyncIrodsSession:
    """A connection to one iRODS HTTP API server (``.../irods-http-api/0.7.0``).

    Owns one pooled HTTP client, the credentials (a TokenProvider), the retry policy and the server
    limits (read once from ``/info``, lazily). API groups: ``collections``, ``data_objects``,
    ``metadata``, ``query``, ``tickets``. Use as a context manager or call ``aclose()``.

    ``outcome_wait`` bounds how long a checksum, copy or replication whose reply was lost (the server's
    whole-request deadline cut it off, 30 s by default) is read back from the catalog before
    IrodsOutcomeUnknownError; such operations are never resent blindly. ``reply_limits`` bounds reply
    bodies (a larger one is an IrodsProtocolError naming the operation);
    ``on_secret`` is called with every ticket string the session creates or sends (the Airflow hook
    registers them with the log masker). Ticket values in request URLs are redacted from httpx2's log.

    Example:

    ```python
    from irods_provider.client import AsyncIrodsSession, BasicAuth, RetryPolicy

    base_url = "https://irods.example.org/irods-http-api/0.7.0"
    auth = BasicAuth("alice", "secret")
    async with AsyncIrodsSession(base_url, auth=auth, retry=RetryPolicy(max_attempts=6)) as session:
        await session.collections.create("/tempZone/home/alice/runs", exist_ok=True)
        await session.data_objects.write("/tempZone/home/alice/runs/a.txt", b"hello")
    ```
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth: TokenProvider | None = None,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        verify: bool | str | ssl.SSLContext = True,
        retry: RetryPolicy | None = None,
        pool_limits: httpx2.Limits | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        reply_limits: ReplyLimits | None = None,
        on_secret: SecretCallback | None = None,
        outcome_wait: OutcomeWait | None = None,
    ) -> None:
        # ``user:password@`` in the URL: the Basic login's credentials (when no auth is given), never sent
        base_url, auth = url_credentials(base_url, auth)
        self.base_url = base_url.rstrip("/")
        #: How long a checksum, copy or replication whose reply was lost is waited for (see OutcomeWait).
        self.outcome_wait = outcome_wait if outcome_wait is not None else OutcomeWait()
        self.auth = auth
        self.reply_limits = reply_limits if reply_limits is not None else ReplyLimits()
        self.on_secret = on_secret
        install_log_redaction()
        self.retry = retry if retry is not None else RetryPolicy()
        options = client_options(timeout=timeout, verify=verify, url=self.base_url)
        #: The connection pool's limits (the transfer engine keeps its small-file lane within them).
        self.pool_limits = pool_limits if pool_limits is not None else DEFAULT_POOL_LIMITS
        options["limits"] = self.pool_limits
        if transport is None:  # the pool in shards: cheaper per request with many requests in flight
            transport = AsyncShardedTransport(verify=options["verify"], limits=self.pool_limits)
        self._client = httpx2.AsyncClient(transport=transport, **options)
        self._limits: ServerLimits | None = None
        self._limits_lock = asyncio.Lock()
        url_version = version_from_url(self.base_url)
        self._api: ApiVersion | None = None if url_version is None else api_version_facts(url_version)
        if isinstance(auth, LoginBindable):
            auth.bind(alogin=self._login)
        self.collections = AsyncCollections(self)
        self.data_objects = AsyncDataObjects(self)
        self.metadata = AsyncMetadata(self)
        self.query = AsyncQuery(self)
        self.tickets = AsyncTickets(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r}, auth={self.auth!r})"

    async def __aenter__(self) -> AsyncIrodsSession:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pooled connections (the token provider is left to its owner)."""
        await self._client.aclose()

    @property
    def default_timeout(self) -> httpx2.Timeout:
        """The timeouts a request is sent with unless it names its own."""
        return self._client.timeout

    @property
    def limits(self) -> ServerLimits:
        """The server limits from ``/info`` (read on first use)."""
        if self._limits is None:
            # unasync: sync-only return self.get_limits()
            raise IrodsUsageError("await session.get_limits() first")  # unasync: async-only
        return self._limits

    async def get_limits(self) -> ServerLimits:
        """Read ``/info`` once and cache the server limits."""
        if self._limits is None:
            async with self._limits_lock:
                if self._limits is None:
                    self._limits = await self.execute(info())
        return self._limits

    def adopt_limits(self, limits: ServerLimits) -> None:
        """Use an ``/info`` answer read just before this session (the version probe's) instead of asking
        the server again; a session that already has its limits keeps them."""
        if self._limits is None:
            self._limits = limits

    @property
    def api(self) -> ApiVersion:
        """The server's API version facts: from the base URL, else from ``/info`` (read on first use)."""
        if self._api is None:
            # unasync: sync-only return self.get_api()
            raise IrodsUsageError("await session.get_api() first")  # unasync: async-only
        return self._api

    async def get_api(self) -> ApiVersion:
        """The facts of the server's API version (``/info``'s ``api_version`` when the URL names none)."""
        if self._api is None:
            self._api = api_version_facts((await self.get_limits()).api_version)
        return self._api

    async def execute(
        self,
        op: Operation[T],
        *,
        timeout: TimeoutTypes | UseDefault = UseDefault.USE_DEFAULT,
        retry: RetryPolicy | bool | None = None,
    ) -> T:
        """Send ``op`` (authenticating and retrying per policy) and return its decoded result.

        ``retry`` overrides the session's policy for this call (``False``: exactly one attempt).
        """
        if op.hold is not None:  # unasync: async-only
            raise IrodsUsageError(HELD_BODY_NEEDS_SYNC, operation=op.name)  # unasync: async-only
        if op.name in RESTRICTED_OPERATIONS:
            (await self.get_api()).check(op)
        self.note_secrets(secrets_of(op))
        policy = self.retry.override(retry)
        started = policy.clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._execute_once(op, timeout)
            except IrodsError as error:
                idempotent = op.idempotent and (op.resend_lost_reply or not reply_lost(error))
                delay = policy.next_delay(error, idempotent=idempotent, attempt=attempt, started=started)
                if delay is None and type(error) is IrodsReplicaUnavailableError and op.path:
                    raise await self._unavailable(op, error) from error
                if delay is None:
                    raise
                emit("retry", cause=retry_cause(error))
                if logger.isEnabledFor(logging.INFO):
                    logger.info(
                        "retrying %s in %.2fs after attempt %d failed: %s", op.name, delay, attempt, error
                    )
                await policy.asleep(delay)

    async def _unavailable(self, op: Operation[Any], error: IrodsResponseError) -> IrodsResponseError:
        """HIERARCHY_ERROR said as what the catalog shows (:func:`unavailable_error`): the replicas of the
        objects ``op`` names and which of their resources are marked down; ``error`` as it is when those
        cannot be read (no lock is claimed then either)."""
        found: list[tuple[str, list[Replica]]] = []
        try:
            for path in dict.fromkeys(p for p in (op.path, op.destination) if p):
                with contextlib.suppress(IrodsNotADataObjectError):
                    found.append((path, await self.data_objects.replicas(path)))
            names = sorted({name for _, rs in found for r in rs for name in r.hierarchy.split(";")})
            down = await self.down_resources(names)
        except IrodsError as exc:
            logger.info("the replicas behind %s's HIERARCHY_ERROR could not be read: %s", op.name, exc)
            return error
        return unavailable_error(error, found, down)

    async def down_resources(self, names: list[str]) -> set[str]:
        """Which of the resources ``names`` the catalog marks down (``RESC_STATUS``)."""
        if not names:
            return set()
        listed = ", ".join(f"'{name}'" for name in names)
        query = f"select RESC_NAME, RESC_STATUS where RESC_NAME in ({listed})"
        return {row[0] async for row in self.query.genquery(query) if row[1] == "down"}

    async def _execute_once(self, op: Operation[T], timeout: TimeoutTypes | UseDefault) -> T:
        token = await self._token() if op.authenticated else None
        reply = await self._send(op, token, timeout)
        renewals, most = 0, renewals_allowed(self.auth)
        while reply.status == 401 and token is not None:
            # The server authenticates before it acts, so a refused request can be resent after renewal.
            if renewals == most:
                raise _refused_after_renewals(op, self.auth, most)
            renewals += 1
            emit("retry", cause="token_renewal")
            token = await self._token(reject=token, op=op)
            reply = await self._send(op, token, timeout)
        if reply.status != 200 and op.name in RESTRICTED_OPERATIONS:
            return _decode(await self.get_api(), op, reply, token)
        return decode_withheld(op, reply, token)  # an echo of the token stays out of the error

    async def _send(self, op: Operation[Any], token: str | None, timeout: TimeoutTypes | UseDefault) -> Reply:
        args = request_arguments(op, base_url=self.base_url, token=token)
        if not isinstance(timeout, UseDefault):
            args["timeout"] = to_timeout(timeout)
        started = time.monotonic()
        with map_httpx_errors(operation=op.name, path=op.path):
            request = self._client.build_request(**args)
            self._check_body_size(op, request)
            if op.hold is not None:
                assert isinstance(request.stream, httpx2.SyncByteStream)
                request.stream = HeldBody(request.stream, op.hold)
            elif _joins(request):
                await request.aread()  # unasync: async-only
                # unasync: sync-only request.read()
            response = await self._client.send(request, stream=True)
            try:
                limit = self.reply_limits.for_reply(op, response.status_code)
                body = BoundedBody(op, limit, response.headers, within=self._reply_within(args, limit))
                async for chunk in _raw_chunks(response):
                    body.add(chunk)
            finally:
                await response.aclose()
        elapsed_ms = (time.monotonic() - started) * 1000.0
        emit("request", elapsed_ms, endpoint=op.endpoint, operation=op.name, status=str(response.status_code))
        return Reply(status=response.status_code, headers=response.headers, content=body.content)

    def _check_body_size(self, op: Operation[Any], request: httpx2.Request) -> None:
        """Refuse a body over the server's limit (known from ``/info``): its parser ends such a request at the
        header with no reply, the connection closed (core/src/session.cpp:75, 96-99 at HTTP API 0.7.0), so
        it would look like a broken connection and be sent again, though the server never acted."""
        length = request.headers.get("Content-Length")
        limit = self._limits.max_request_body_bytes if self._limits is not None else None
        if limit is not None and length is not None and length.isdigit() and int(length) > limit:
            raise IrodsUsageError(
                f"the request body of {int(length)} bytes exceeds the server's limit of {limit} bytes "
                "(max_size_of_request_body_in_bytes), which it answers by closing the connection; split "
                "the call (several metadata or permission calls are each atomic on their own)",
                operation=op.name,
                path=op.path,
            )

    def _reply_within(self, args: dict[str, Any], limit: int | None) -> float | None:
        """Seconds a reply body of at most ``limit`` bytes may take once its headers arrived: the request's
        read timeout per started 8 MiB (the read timeout alone would let a server trickling a byte at a
        time hold the request forever); None for an unbounded body."""
        timeout: httpx2.Timeout = args.get("timeout", self._client.timeout)
        if timeout.read is None or limit is None:
            return None
        return timeout.read * max(1, -(-limit // _BODY_PER_READ_TIMEOUT))

    def note_secrets(self, values: list[str]) -> None:
        """Hand ticket strings (created or sent) to ``on_secret``."""
        if self.on_secret is not None:
            for value in values:
                self.on_secret(value)

    async def stream(
        self,
        op: Operation[Any],
        *,
        chunk_size: int | None,
        timeout: TimeoutTypes | UseDefault = UseDefault.USE_DEFAULT,
        retry: RetryPolicy | bool | None = None,
    ) -> AsyncIterator[bytes]:
        """Send a GET ``op`` and yield its 200 body in chunks of at most ``chunk_size`` bytes (None: the
        pieces as the network delivers them, never joined or split).

        Errors are raised before the first chunk (a 401 renews the token once); the request is
        retried per policy (or the ``retry`` override) only until the body starts.
        """
        api = await self.get_api() if op.name in RESTRICTED_OPERATIONS else None
        if api is not None:
            api.check(op)
        self.note_secrets(secrets_of(op))
        policy = self.retry.override(retry)
        started = policy.clock()
        attempt, begun = 0, False
        while True:
            attempt += 1
            reject: str | None = None
            for renewal in itertools.count():  # ends: only a renewable 401 continues
                token = await self._token(reject=reject, op=op)
                most = renewals_allowed(self.auth)  # may depend on the token just fetched
                args = request_arguments(op, base_url=self.base_url, token=token)
                if not isinstance(timeout, UseDefault):
                    args["timeout"] = to_timeout(timeout)
                try:
                    with map_httpx_errors(operation=op.name, path=op.path):
                        async with self._client.stream(**args) as response:
                            renewable = renewal < most
                            if response.status_code == 401 and token is not None and renewable:
                                reject = token
                                continue
                            if response.status_code != 200:
                                limit = self.reply_limits.for_reply(op, response.status_code)
                                within = self._reply_within(args, limit)
                                body = BoundedBody(op, limit, response.headers, within=within)
                                async for piece in _raw_chunks(response):
                                    body.add(piece)
                                reply = Reply(response.status_code, response.headers, body.content)
                                if reply.status == 401 and reject is not None:
                                    raise _refused_after_renewals(op, self.auth, most)
                                _decode(api, op, reply, token)
                            if (html := html_instead_of_bytes(op, response.headers)) is not None:
                                raise html
                            begun = True
                            limit = op.max_reply_bytes  # a bounded read (a transfer's chunk) has a deadline
                            within = self._reply_within(args, limit)
                            received = BoundedBody(op, limit, response.headers, keep=False, within=within)
                            async for chunk in _raw_chunks(response, chunk_size):
                                received.add(chunk)
                                yield chunk
                            return
                except IrodsError as error:
                    if begun:
                        raise
                    delay = policy.next_delay(error, idempotent=True, attempt=attempt, started=started)
                    if delay is None:
                        raise
                    await policy.asleep(delay)
                    break

    async def _token(self, *, reject: str | None = None, op: Operation[Any] | None = None) -> str | None:
        """The bearer token for a request (None without credentials); see ``_IN_REQUEST``. A refusal that
        names no operation (a static token refused) is told as ``op``'s, naming its path."""
        if self.auth is None:
            return None
        marker, login = _IN_REQUEST.set(True), SESSION_LOGIN.set(self._login)
        try:
            return await self.auth.aget_token(reject=reject)
        except IrodsAuthenticationError as error:
            if op is None or error.operation is not None:
                raise
            raise error.retold(error.message, operation=op.name, path=op.path) from error
        finally:
            SESSION_LOGIN.reset(login)
            _IN_REQUEST.reset(marker)

    async def _login(self, username: str, password: str, scheme: LoginScheme = "Basic") -> str:
        """Log in: one attempt inside a request (whose retries repeat it), the session's policy otherwise.

        An OpenID client-mode login (``scheme="iRODS"``) is refused with 400 or 401 (see ``login_refused``).
        """
        op = authenticate(username, password, scheme=scheme)
        refusals: tuple[type[IrodsResponseError], ...] = (IrodsAuthenticationError,)
        if scheme != "Basic":
            refusals = (IrodsAuthenticationError, IrodsBadRequestError)
        try:
            return await self.execute(op, retry=False if _IN_REQUEST.get() else None)
        except refusals as exc:
            raise IrodsAuthenticationError(
                login_refused(username, scheme, exc.http_status),
                http_status=exc.http_status,
                operation=op.name,
            ) from None


HELD_BODY_NEEDS_SYNC = "a held request body (Operation.hold) blocks its thread: send it from a sync session"

#: A request body up to this size is sent joined, in one write: a multipart form is a stream of about four
#: pieces per field (part header, value, CRLF), and each piece would otherwise be its own send (its own
#: syscall and TLS record, its own segment with TCP_NODELAY): 25 for a small write, 9 for a checksum.
#: Joining copies the body once, which costs less than one send up to here; bigger bodies (chunks of a large
#: write) stream their pieces as they are, the value uncopied.
JOIN_BODY_BYTES = 64 * 1024


def _joins(request: httpx2.Request) -> bool:
    """Whether ``request``'s body is a stream of pieces small enough to send joined."""
    if isinstance(request.stream, httpx2.ByteStream):
        return False  # one piece already
    length = request.headers.get("content-length")
    return length is not None and 0 < int(length) <= JOIN_BODY_BYTES


async def _raw_chunks(response: httpx2.Response, chunk_size: int | None = None) -> AsyncIterator[bytes]:
    """The body as sent (never decompressed), in chunks; a body a transport already read comes whole."""
    if response.is_stream_consumed:
        yield response.content
        return
    async for chunk in response.aiter_raw(chunk_size):
        yield chunk


#: A token can expire while its request is in flight, and under load a token another thread renewed a moment
#: ago can expire too before this request reaches the server; each refusal renews, this many times at most.
TOKEN_RENEWALS_PER_REQUEST = 3


def renewals_allowed(auth: object) -> int:
    """How many times one request renews its token after a 401: the provider's ``renewals_per_request``
    (an OpenID source: once for tokens living a minute or more, since a fresh one refused again is a
    configuration problem), else :data:`TOKEN_RENEWALS_PER_REQUEST`."""
    allowed = getattr(auth, "renewals_per_request", None)
    return allowed if isinstance(allowed, int) and allowed >= 0 else TOKEN_RENEWALS_PER_REQUEST


def _refused_after_renewals(op: Operation[Any], auth: object, renewals: int) -> IrodsAuthenticationError:
    # A refused login raises its own error ("login refused ..."): reaching here means logins succeed.
    explain = getattr(auth, "explain_refusal", None)
    if callable(explain):
        message = str(explain(renewals + 1))
    else:
        message = (
            f"the server refused {renewals + 1} bearer tokens in a row, each renewed right after the refusal "
            "although logging in succeeded: its token lifetime may be shorter than a request takes here, or "
            "it forgets tokens (a restart, or replicas behind a load balancer without sticky sessions)"
        )
    return IrodsAuthenticationError(message, http_status=401, operation=op.name, path=op.path)


def _decode(api: ApiVersion | None, op: Operation[T], reply: Reply, token: str | None) -> T:
    """Decode ``reply`` as the newest release's answer (``api``'s reading of an older one's, if any)."""
    decode = functools.partial(decode_withheld, op, token=token)
    return decode(reply) if api is None else api.decode_canonical(op, reply, decode)
