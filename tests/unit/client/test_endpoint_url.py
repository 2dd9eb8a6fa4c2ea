"""Endpoint URLs are parsed once per base URL and give requests the same URL as the text form did."""

from __future__ import annotations

import httpx2
import pytest

from irods_provider.client import _ops_fs as ops
from irods_provider.client._operation import endpoint_url, request_arguments


@pytest.mark.parametrize(
    "base",
    [
        "https://irods.example:443/irods-http-api/0.7.0",
        "http://[::1]:9000/prefix/irods-http-api/0.6.0",
        "http://127.0.0.1:8080/irods%20api/irods-http-api/0.7.0",
    ],
)
def test_requests_get_the_url_the_text_form_gave(base: str) -> None:
    op = ops.do_calculate_checksum("/tempZone/home/rods/a b+c.txt")
    built = httpx2.Client().build_request(**request_arguments(op, base_url=base, token="t"))
    assert built.url == httpx2.URL(f"{base}/data-objects")
    assert str(built.url) == str(httpx2.URL(f"{base}/data-objects"))
    stat = ops.do_stat("/tempZone/home/rods/x y.txt")
    get = httpx2.Client().build_request(**request_arguments(stat, base_url=base, token="t"))
    assert get.url.copy_with(query=None) == httpx2.URL(f"{base}/data-objects")
    assert dict(get.url.params) == {"op": "stat", "lpath": "/tempZone/home/rods/x y.txt"}


def test_an_endpoint_is_parsed_once_per_base_url() -> None:
    base = "http://127.0.0.1:1/irods-http-api/0.7.0"
    assert endpoint_url(base, "collections") is endpoint_url(base, "collections")
    assert endpoint_url(base, "collections") != endpoint_url(base, "data-objects")
    assert endpoint_url("http://other:1/irods-http-api/0.7.0", "collections").host == "other"
