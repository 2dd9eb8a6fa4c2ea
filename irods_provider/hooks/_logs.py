"""Bounded task logs: httpx2's one-INFO-line-per-request goes to DEBUG in processes that use the hook.

A 1 TB transfer in 8 MiB chunks would otherwise write ~125,000 ``HTTP Request: ...`` lines to the task log.
Requests that fail (HTTP status >= 400) keep their INFO line, so an error still shows the failing request
(method, URL with tickets redacted, status); bearer tokens travel in headers and are never logged.

Switch: the environment variable ``IRODS_PROVIDER_HTTP_REQUEST_LOG`` = ``debug`` (default: successful
requests only when the logger is enabled for DEBUG) or ``info`` (httpx2's own behaviour, every request).
"""

from __future__ import annotations

import logging
import os

from irods_provider.client._redact import HTTP_LOGGERS

__all__ = ["REQUEST_LOG_ENV", "RequestLogDemotion", "install_request_log_demotion"]

REQUEST_LOG_ENV = "IRODS_PROVIDER_HTTP_REQUEST_LOG"
_PREFIX = "HTTP Request:"
_STATUS_ARG = 3  # httpx2: 'HTTP Request: %s %s "%s %d %s"' % (method, url, http_version, status, reason)


def _status(record: logging.LogRecord) -> int | None:
    args = record.args
    status = args[_STATUS_ARG] if isinstance(args, tuple) and len(args) > _STATUS_ARG else None
    return status if isinstance(status, int) else None


class RequestLogDemotion(logging.Filter):
    """Turns httpx2's per-request INFO records of successful requests into DEBUG records (or drops them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not str(record.msg).startswith(_PREFIX):
            return True
        if os.environ.get(REQUEST_LOG_ENV, "debug").strip().lower() == "info":
            return True
        status = _status(record)
        if status is not None and status >= 400:
            return True  # a failing request stays visible at INFO
        if not logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
            return False
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


def install_request_log_demotion() -> None:
    """Put the demotion filter on the HTTP client loggers once per process (idempotent)."""
    for name in HTTP_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RequestLogDemotion) for f in logger.filters):
            logger.addFilter(RequestLogDemotion())
