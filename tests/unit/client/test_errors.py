import inspect

import httpx2
import pytest

from irods_provider.client._errors import HTTPX_ERROR_MAP, error_for_reply, map_httpx_errors
from irods_provider.exceptions import (
    IrodsAuthenticationError,
    IrodsBadRequestError,
    IrodsCollectionNotEmptyError,
    IrodsConnectionError,
    IrodsError,
    IrodsNotACollectionError,
    IrodsNotFoundError,
    IrodsProtocolError,
    IrodsResponseError,
    IrodsServerBusyError,
    IrodsTimeoutError,
)

ALL_HTTPX_ERRORS = sorted(
    (c for _, c in inspect.getmembers(httpx2, inspect.isclass) if issubclass(c, Exception)),
    key=lambda c: c.__name__,
)


def _first_match(cls):
    for source, target, _ in HTTPX_ERROR_MAP:
        if issubclass(cls, source):
            return source, target
    return None, None


@pytest.mark.parametrize("cls", ALL_HTTPX_ERRORS, ids=lambda c: c.__name__)
def test_every_httpx2_exception_is_mapped_to_its_own_entry(cls):
    source, target = _first_match(cls)
    assert source is cls, f"{cls.__name__} falls through to {source}"
    assert issubclass(target, IrodsError)


def test_map_entries_are_ordered_most_specific_first():
    seen = []
    for source, _, _ in HTTPX_ERROR_MAP:
        assert not any(issubclass(s, source) is False and issubclass(source, s) for s in seen), source
        seen.append(source)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (httpx2.ConnectTimeout("slow"), IrodsTimeoutError),
        (httpx2.ReadTimeout("slow"), IrodsTimeoutError),
        (httpx2.ConnectError("refused"), IrodsConnectionError),
        (httpx2.ReadError("reset"), IrodsConnectionError),
        (httpx2.RemoteProtocolError("peer closed"), IrodsConnectionError),
        (httpx2.DecodingError("gzip"), IrodsProtocolError),
    ],
)
def test_translation_chains_original(exc, expected):
    with pytest.raises(expected) as info, map_httpx_errors(operation="collections.stat", path="/z/a"):
        raise exc
    assert info.value.__cause__ is exc
    assert info.value.operation == "collections.stat"
    assert info.value.path == "/z/a"


def test_non_httpx_errors_pass_through():
    with pytest.raises(KeyError), map_httpx_errors(operation="x", path=None):
        raise KeyError("k")


def reply_error(status, content=b"", operation="collections.list", path="/z/a"):
    return error_for_reply(status=status, content=content, operation=operation, path=path)


def test_success_is_none():
    assert reply_error(200, b'{"irods_response":{"status_code":0}}') is None


@pytest.mark.parametrize(
    ("status", "content", "cls", "code"),
    [
        (200, b'{"irods_response":{"status_code":-170000}}', IrodsNotACollectionError, -170000),
        (400, b'{"irods_response":{"status_code":-170000}}', IrodsNotACollectionError, -170000),
        (
            200,
            b'{"irods_response":{"status_code":-79000,"status_message":"x"}}',
            IrodsCollectionNotEmptyError,
            -79000,
        ),
        (200, b'{"irods_response":{"status_code":-358000}}', IrodsNotFoundError, -358000),
        (400, b"", IrodsBadRequestError, None),
        (401, b"", IrodsAuthenticationError, None),
        (429, b"", IrodsServerBusyError, None),
        (503, b"", IrodsServerBusyError, None),
        (500, b"", IrodsResponseError, None),
        (500, b"<html>oops</html>", IrodsResponseError, None),
    ],
)
def test_reply_errors(status, content, cls, code):
    error = reply_error(status, content)
    assert type(error) is cls
    assert error.http_status == status
    assert error.irods_code == code
    assert error.path == "/z/a"
    assert error.operation == "collections.list"


def test_status_message_and_failed_operation_are_kept():
    error = reply_error(
        400,
        b'{"irods_response":{"status_code":-130000,"failed_operation":{"operation_index":1,'
        b'"error_message":"bad avu"}}}',
    )
    assert error.server_message == "operation 1: bad avu"
    assert "SYS_INVALID_INPUT_PARAM" in str(error)


def test_404_from_base_path_is_a_protocol_error():
    error = reply_error(404, b"", operation="collections.stat")
    assert isinstance(error, IrodsProtocolError)
    assert "wrong version" in str(error)
    assert isinstance(reply_error(404, b"", operation="data_objects.read"), IrodsNotFoundError)
