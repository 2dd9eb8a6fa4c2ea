"""Keep secrets out of logs and messages: ticket values in URLs, provider error text holding tokens.

Tickets travel in query strings (``...&ticket=4x0tPG...``) and httpx2 logs every request URL at INFO, so
a filter on the httpx2 logger rewrites ticket values before any handler sees them. ``scrub`` removes known
secrets and anything shaped like a token from text a remote party chose (an OAuth ``error_description``).
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus

from irods_provider.client._operation import Operation, Reply, decode_reply
from irods_provider.exceptions import IrodsError, IrodsResponseError

__all__ = [
    "REDACTED",
    "SecretCallback",
    "basic_credentials",
    "decode_withheld",
    "install_log_redaction",
    "redact_tickets",
    "scrub",
    "secrets_of",
    "shown_forms",
    "withhold",
    "withhold_echo",
]

REDACTED = "***"
SecretCallback = Callable[[str], None]
T = TypeVar("T")
SECRET_FIELDS = ("ticket",)
MIN_SECRET_LENGTH = 5
HTTP_LOGGERS = ("httpx2", "httpx")

_TICKET_IN_URL = re.compile(r"(?i)((?:^|[?&;\s])ticket=)[^&#\s\"']*")
# JWTs, and long runs of token characters mixing upper case, lower case and digits (words and paths don't).
_JWT = re.compile(r"eyJ[\w-]*\.[\w-]*(?:\.[\w-]*)?")
_RUN = re.compile(r"[A-Za-z0-9_\-+=~]{16,}")
# UUIDs: the iRODS HTTP API's own bearer tokens are shaped so (and are all lower case).
_UUID = re.compile(r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")


def _token_shaped(match: re.Match[str]) -> str:
    run = match.group(0)
    mixed = any(c.isdigit() for c in run) and any(c.islower() for c in run) and any(c.isupper() for c in run)
    return REDACTED if mixed else run


def redact_tickets(text: str) -> str:
    """``text`` with every ``ticket=VALUE`` query parameter's value replaced by ``***``."""
    return _TICKET_IN_URL.sub(rf"\g<1>{REDACTED}", text)


def secrets_of(op: Operation[Any]) -> list[str]:
    """The secret field values (tickets) an operation sends."""
    return [
        value.decode() if isinstance(value, bytes) else value
        for key, value in op.fields
        if key in SECRET_FIELDS and value
    ]


class _TicketRedactingFilter(logging.Filter):
    """Rewrites ticket values in a record's message and arguments (httpx2 passes the URL as an argument)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "ticket=" in record.msg.lower():
            record.msg = redact_tickets(record.msg)
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(_redact_arg(arg) for arg in record.args)
        return True


def _redact_arg(arg: object) -> object:
    if isinstance(arg, str | bytes | int | float | type(None)):
        return redact_tickets(arg) if isinstance(arg, str) else arg
    text = str(arg)  # httpx2.URL and friends
    return redact_tickets(text) if "ticket=" in text.lower() else arg


def install_log_redaction() -> None:
    """Put the ticket filter on the HTTP client loggers once per process (idempotent)."""
    for name in HTTP_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _TicketRedactingFilter) for f in logger.filters):
            logger.addFilter(_TicketRedactingFilter())


def scrub(text: str, secrets: Iterable[str | None] = (), *, limit: int = 300) -> str:
    """``text`` without any of ``secrets``, without token-shaped strings, cut to ``limit`` characters."""
    text = withhold(text, secrets)
    text = _RUN.sub(_token_shaped, _UUID.sub(REDACTED, _JWT.sub(REDACTED, text)))
    return text if len(text) <= limit else text[:limit] + "..."


def withhold(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every shown form of ``secrets`` replaced, nothing else changed (no shape guessing, no
    cut): for text whose other parts must stay as they are, such as a server's message naming a path."""
    # Like Airflow's masker, secrets under 5 characters are left alone (they would blank out ordinary words).
    forms = {form for secret in secrets if secret for form in shown_forms(secret)}
    for form in sorted((f for f in forms if len(f) >= MIN_SECRET_LENGTH), key=len, reverse=True):
        text = text.replace(form, REDACTED)
    return text


def decode_withheld(op: Operation[T], reply: Reply, token: str | None) -> T:
    """:func:`~irods_provider.client._operation.decode_reply`, with what the request carried taken out of
    the error it raises (:func:`withhold_echo`)."""
    try:
        return decode_reply(op, reply)
    except IrodsError as error:
        withhold_echo(error, op, token)
        raise


def withhold_echo(error: IrodsError, op: Operation[Any], token: str | None) -> None:
    """Take what a request carried (its bearer token, a ticket) out of the error its reply gave: a proxy or a
    debugging server may echo the request into its error text, which would reach task logs, XCom and a
    trigger's event (a token the triggerer minted is unknown to the worker's log masker)."""
    sent = [token, *secrets_of(op)]
    error.message = withhold(error.message, sent)
    error.args = (error.message, *error.args[1:])
    if isinstance(error, IrodsResponseError) and error.server_message:
        error.server_message = withhold(error.server_message, sent)


def shown_forms(secret: str) -> set[str]:
    """The ways ``secret`` may appear in text: as it is, without surrounding whitespace, escaped as Python's
    ``repr`` (of text or bytes) or JSON show it (a pasted newline shows as ``\\n``), and form- or URL-encoded
    as a token request carries it (``client+secret%2Fx``: an OpenID provider may echo the request body).

    Forms under 5 characters are left out (a masker would blank out ordinary words).
    """
    forms = set()
    for value in {secret, secret.strip()}:
        forms |= {
            value,
            repr(value)[1:-1],
            repr(value.encode("utf-8", "backslashreplace"))[2:-1],
            value.encode("unicode_escape").decode("ascii"),
            json.dumps(value)[1:-1],
            # application/x-www-form-urlencoded (authlib's request bodies), and percent-encoding as in a URL
            # or a client_secret_basic credential encoded per RFC 6749 section 2.3.1 (either hex case).
            quote_plus(value, safe=""),
            quote(value, safe=""),
            quote(value),
        }
    forms |= {_lower_hex(form) for form in forms if "%" in form}
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


_HEX_ESCAPE = re.compile(r"%[0-9A-F]{2}")


def _lower_hex(text: str) -> str:
    return _HEX_ESCAPE.sub(lambda m: m.group(0).lower(), text)


def basic_credentials(user: str, secret: str) -> list[str]:
    """``user:secret`` in base64 as an HTTP Basic ``Authorization`` header carries it (as given, and with both
    parts form-encoded per RFC 6749 section 2.3.1), for scrubbing: a provider may echo the header."""
    forms = []
    for pair in {f"{user}:{secret}", f"{quote_plus(user, safe='')}:{quote_plus(secret, safe='')}"}:
        for charset in ("utf-8", "latin-1"):
            try:
                forms.append(base64.b64encode(pair.encode(charset)).decode("ascii"))
            except UnicodeEncodeError:
                continue
    return forms
