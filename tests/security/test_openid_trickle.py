"""An OpenID provider trickling its answer (a byte at a time, each within the read timeout) cannot hold a
token request or a discovery forever: the whole answer must arrive within the source's ``timeout`` after
its headers (a token answer is a few KiB). Before the fix only each read was bounded: a 1 MiB answer at a
byte per 29 s would have held every worker and the triggerer's renewals for about a year."""

from __future__ import annotations

import json
import time

import pytest
from hostile_server import trickling_server

from irods_provider.client import OpenIdClientCredentials
from irods_provider.exceptions import IrodsTimeoutError

pytestmark = pytest.mark.timeout(60)

PADDING = " " * 10_000  # at a byte per 50 ms: over 8 minutes for the whole answer


def _source(**where: str) -> OpenIdClientCredentials:
    return OpenIdClientCredentials(
        client_id="c", client_secret="cs-Abc-123456", allow_insecure_http=True, timeout=1.5, **where
    )


def test_a_trickled_token_answer_meets_a_whole_answer_deadline() -> None:
    answer = json.dumps({"access_token": "at-123456789", "token_type": "Bearer", "pad": PADDING}).encode()
    with trickling_server(answer) as url:
        source = _source(token_url=f"{url}/token")
        started = time.monotonic()
        try:
            with pytest.raises(IrodsTimeoutError, match="token") as caught:
                source.get_token()
        finally:
            source.close()
    assert "still sending" in str(caught.value)
    assert time.monotonic() - started < 30


def test_a_trickled_discovery_document_meets_a_whole_answer_deadline() -> None:
    with trickling_server(json.dumps({"issuer": "x", "pad": PADDING}).encode()) as url:
        source = _source(discovery_url=url)
        try:
            with pytest.raises(IrodsTimeoutError, match="discovery document") as caught:
                source.get_token()
        finally:
            source.close()
    assert "still sending" in str(caught.value)
