"""The iRODS HTTP API operation a request carries, for tests that count requests per operation."""

from __future__ import annotations

import re

import httpx2

#: One multipart form field: its name and value.
FIELD = re.compile(rb'name="([^"]+)"\r\n\r\n(.*?)\r\n--', re.S)


def request_op(request: httpx2.Request) -> str:
    """``op`` of a GET's query or a POST's form (or its header-form write), else ``authenticate``/``info``."""
    if request.url.path.endswith(("/authenticate", "/info")):
        return request.url.path.rsplit("/", 1)[-1]
    if request.method == "GET":
        return request.url.params.get("op", "")
    fields = {k.decode(): v.decode(errors="replace") for k, v in FIELD.findall(request.read())}
    return fields.get("op") or request.headers.get("irods-api-request-op", "")
