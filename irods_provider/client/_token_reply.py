"""Decode an OpenID token endpoint's answer (RFC 6749 sections 5.1 and 5.2): pure functions, no I/O.

Success is HTTP 200 with a JSON object holding an ``access_token``; an OAuth error is a JSON object with an
``error`` string (any status); anything else is a protocol error naming the status. Lifetimes that cannot be
used (not a number, infinite, too large for a float, zero or negative) are unknown: the token is then renewed
after the server refuses it, never before every call.
"""

from __future__ import annotations

import base64
import json
import math
import time
from collections.abc import Iterable, Mapping
from typing import Any

from irods_provider.exceptions import IrodsProtocolError, IrodsTimeoutError

__all__ = [
    "MAX_TOKEN_REPLY_BYTES",
    "Refused",
    "decode_token_reply",
    "jwt_exp",
    "jwt_lifetime",
    "lifetime_seconds",
    "read_bounded",
]

#: A token answer is a few KiB (a JWT with many claims stays far below): more is refused, not read on.
MAX_TOKEN_REPLY_BYTES = 1024 * 1024


class Refused(Exception):
    """The provider answered a token request with an OAuth error."""

    def __init__(self, error: str, description: str | None) -> None:
        super().__init__(error)
        self.error = error
        self.description = description


def read_bounded(
    chunks: Iterable[bytes], headers: Mapping[str, str], *, url: str, what: str, within: float | None = None
) -> bytes:
    """The body of a provider's answer, refused (IrodsProtocolError) when compressed or over the limit, and
    given up (IrodsTimeoutError) once still arriving ``within`` seconds after its headers: each read's
    timeout alone would let a provider trickling a byte at a time hold the request forever."""
    deadline = None if within is None else time.monotonic() + within
    encoding = headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise IrodsProtocolError(
            f"OpenID provider at {url} answered the {what} with a {encoding!r}-encoded body although the "
            "request accepted none (Accept-Encoding: identity)"
        )
    body = bytearray()
    for chunk in chunks:
        body += chunk
        if len(body) > MAX_TOKEN_REPLY_BYTES:
            raise IrodsProtocolError(
                f"OpenID provider at {url} answered the {what} with more than "
                f"{MAX_TOKEN_REPLY_BYTES} bytes (a token answer is a few KiB); refused"
            )
        if deadline is not None and time.monotonic() > deadline:
            raise IrodsTimeoutError(
                f"OpenID provider at {url} was still sending its answer to the {what} {within:g} s after "
                f"its headers ({len(body)} bytes so far; a token answer is a few KiB): not read further"
            )
    return bytes(body)


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # not JSON (or not UTF-8), or nested deeper than the decoder goes
        return None
    return data if isinstance(data, dict) else None


def decode_token_reply(status: int, body: bytes, *, url: str, grant_type: str) -> dict[str, Any]:
    """The JSON object of a successful answer; raises :class:`Refused` on an OAuth error answer and
    IrodsProtocolError on anything else (a non-200 answer is never a success, whatever it holds)."""
    answer = _json_object(body)
    error = answer.get("error") if answer is not None else None
    where = f"OpenID provider at {url} answered the {grant_type} request with HTTP {status}"
    if error is not None and status < 500:
        description = answer.get("error_description") if answer is not None else None
        raise Refused(_text(error), _text(description) if description is not None else None)
    if status >= 500:
        oauth = f" (OAuth error {_text(error)!r})" if error is not None else ""
        raise IrodsProtocolError(f"{where}{oauth}: the provider failed; try again later")
    if 300 <= status < 400:
        raise IrodsProtocolError(
            f"{where}, a redirect: not followed (credentials go to the configured endpoint only)"
        )
    if status != 200:
        if answer is not None and "access_token" in answer:
            raise IrodsProtocolError(
                f"{where}, no OAuth error and an access_token: not accepted (success is HTTP 200 only, "
                "RFC 6749 section 5.1)"
            )
        raise IrodsProtocolError(f"{where} and no OAuth error")
    if answer is None:
        raise IrodsProtocolError(f"{where} and a body that is not a JSON object")
    return answer


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)[:200]


def lifetime_seconds(value: object) -> float | None:
    """``expires_in`` as seconds, or None when it is not a usable positive finite number of seconds."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        seconds = float(value.strip() if isinstance(value, str) else value)
    except (ValueError, OverflowError):  # "abc", or an integer too large for a float (10**400)
        return None
    return seconds if math.isfinite(seconds) and seconds > 0 else None


def _jwt_payload(token: str) -> dict[str, Any]:
    """The claims of a JWT (unverified: only used to schedule renewal), or {} for anything else."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, RecursionError):
        return {}
    return payload if isinstance(payload, dict) else {}


def _date_claim(claims: Mapping[str, Any], name: str) -> float | None:
    """A NumericDate claim as finite epoch seconds, or None."""
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        seconds = float(value)
    except OverflowError:  # an integer too large for a float
        return None
    return seconds if math.isfinite(seconds) else None


def jwt_exp(token: str) -> float | None:
    """The ``exp`` claim of a JWT access token (unverified: only used to schedule renewal), or None."""
    return _date_claim(_jwt_payload(token), "exp")


def jwt_lifetime(token: str, *, now: float) -> float | None:
    """How long a JWT access token lives, for a provider that sent no ``expires_in``: ``exp - iat``, both
    stamped by the provider's clock, so a clock here that is ahead of or behind the provider's changes
    nothing; without ``iat``, ``exp - now`` by this machine's clock (``now``, epoch seconds). None when
    that is unknown or not positive (a token already expired by the clock used): renewed after a 401."""
    claims = _jwt_payload(token)
    exp = _date_claim(claims, "exp")
    if exp is None:
        return None
    iat = _date_claim(claims, "iat")
    return lifetime_seconds(exp - (now if iat is None else iat))
