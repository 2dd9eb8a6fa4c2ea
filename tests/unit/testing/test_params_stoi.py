"""Integer parameters parse as the server's ``std::stoi`` / ``std::stoll`` (libstdc++ ``strtol`` rules)."""

from __future__ import annotations

import pytest

from irods_provider.testing._params import to_int


@pytest.mark.parametrize(
    ("text", "bits", "expected"),
    [
        ("12", 64, 12),
        ("12abc", 64, 12),  # stoi stops at the first non-digit
        (" \t7", 64, 7),  # leading C whitespace is skipped
        ("+5", 64, 5),
        ("-3", 32, -3),
        ("1_000", 64, 1),  # Python's int() would read 1000
        ("0x10", 64, 0),
        ("abc", 64, None),  # std::invalid_argument
        ("", 64, None),
        ("-", 64, None),
        (" ", 64, None),
        ("2147483647", 32, 2147483647),
        ("2147483648", 32, None),  # std::out_of_range for stoi
        ("2147483648", 64, 2147483648),
        ("9223372036854775808", 64, None),  # std::out_of_range for stoll
    ],
)
def test_to_int_follows_stoi_and_stoll(text: str, bits: int, expected: int | None) -> None:
    assert to_int(text, bits=bits) == expected
