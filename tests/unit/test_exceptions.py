from __future__ import annotations

import pickle

import pytest

from irods_provider import exceptions
from irods_provider._error_codes import IRODS_ERROR_CODES, error_code, error_name
from irods_provider.exceptions import (
    IrodsAlreadyExistsError,
    IrodsBadRequestError,
    IrodsNotACollectionError,
    IrodsNotFoundError,
    IrodsPermissionError,
    IrodsResponseError,
    IrodsServerBusyError,
    response_error_class,
)


def test_all_is_sorted_and_complete() -> None:
    assert exceptions.__all__ == sorted(exceptions.__all__)
    public = {
        name
        for name, value in vars(exceptions).items()
        if isinstance(value, type)
        and issubclass(value, Exception)
        and value.__module__ == exceptions.__name__
        and not name.startswith("_")  # a private base shares code, users catch the public classes
    }
    assert public <= set(exceptions.__all__)


def test_error_names_round_trip_and_sub_codes() -> None:
    for name, code in IRODS_ERROR_CODES.items():
        assert error_name(code) == name
        assert error_code(name) == code
    assert error_name(-818001) == "CAT_NO_ACCESS_PERMISSION"
    assert error_name(-1) == "UNKNOWN_ERROR"


@pytest.mark.parametrize(
    ("http_status", "code", "expected"),
    [
        (400, -170000, IrodsNotACollectionError),
        (200, -818000, IrodsPermissionError),
        (200, -312000, IrodsAlreadyExistsError),
        (404, None, IrodsNotFoundError),
        (400, None, IrodsBadRequestError),
        (503, None, IrodsServerBusyError),
        (429, None, IrodsServerBusyError),
        (200, -999999000, IrodsResponseError),
    ],
)
def test_most_specific_class(http_status: int, code: int | None, expected: type[Exception]) -> None:
    assert response_error_class(http_status=http_status, irods_code=code) is expected


def test_message_names_cause_and_survives_pickling() -> None:
    error = IrodsPermissionError(
        "cannot write",
        http_status=200,
        irods_code=-818000,
        operation="data_objects.write",
        path="/tempZone/x",
    )
    text = str(error)
    for part in (
        "cannot write",
        "data_objects.write",
        "'/tempZone/x'",
        "CAT_NO_ACCESS_PERMISSION",
        "-818000",
    ):
        assert part in text
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is IrodsPermissionError
    assert str(clone) == text
    assert isinstance(clone, PermissionError)
