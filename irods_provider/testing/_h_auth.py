"""``/authenticate`` of a 0.4.0/0.5.0 server in OpenID client mode (see ``_openid_client``): the redirect, the
provider's redirect back, and the ``Authorization: iRODS`` password grant; each answers an empty-bodied
status on failure and the server's own bearer token (text/plain) on success."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from urllib.parse import parse_qsl

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from irods_provider.testing._model import EmulatorModel
from irods_provider.testing._openid_client import ClientModeRefused, OpenIdClientMode

__all__ = ["client_mode_get", "client_mode_password"]

log = logging.getLogger(__name__)


def _empty(status: int) -> Response:
    return Response(b"", status_code=status, media_type="application/json")


def _redirect_uri(client: OpenIdClientMode, request: Request) -> str:
    """The configured ``redirect_uri``, else this ``/authenticate``'s own URL without its query."""
    return client.redirect_uri or str(request.url.replace(query=""))


async def client_mode_get(
    request: Request, client: OpenIdClientMode, model: EmulatorModel, *, checked: bool
) -> Response:
    """No query: 302 to the provider (main.cpp:177-216 at 0.5.0: the URL parser throws without a query).

    With one: the provider's redirect back, 400 for a missing, unknown, expired or spent ``state``, for no
    ``code`` (with or without ``error``) and any refused exchange (main.cpp:224-351); 401 for a mapped user
    not in the catalog (0.5.0, :354-374); else the server's own token (:377-395).
    """
    if not request.url.query:
        location = client.authorization_url(_redirect_uri(client, request))
        return Response(b"", status_code=302, headers={"Location": location})
    query = dict(parse_qsl(request.url.query, keep_blank_values=True))
    state, code = query.get("state"), query.get("code")
    if state is None or not client.take_state(state) or code is None:
        return _empty(400)
    login = partial(client.code_login, code, _redirect_uri(client, request), checked=checked)
    return await _issue(login, client=client, model=model, checked=checked)


async def client_mode_password(
    username: str, password: str, client: OpenIdClientMode, model: EmulatorModel, *, checked: bool
) -> Response:
    """``Authorization: iRODS``: 401 for an empty user or password, then the password grant
    (main.cpp:557-656 at 0.5.0)."""
    if not username or not password:
        return _empty(401)
    login = partial(client.password_login, username, password, checked=checked)
    return await _issue(login, client=client, model=model, checked=checked)


async def _issue(
    login: Callable[[], str], *, client: OpenIdClientMode, model: EmulatorModel, checked: bool
) -> Response:
    """Run ``login`` off the event loop (it asks the provider); the server's own token for its user."""
    try:
        user = await anyio.to_thread.run_sync(login)
    except ClientModeRefused as refusal:
        log.info("OpenID client-mode login refused: %s", refusal.reason)
        return _empty(refusal.status)
    if checked and not model.user_exists(user):
        log.info("OpenID client-mode login: mapped user %r is not in the catalog", user)
        return _empty(401)
    return PlainTextResponse(model.issue_token(user, client.timeout_in_seconds))
