"""The emulator's attribute mapping (0.4.0 ``user_attribute_mapping``, 0.5.0 ``local_file`` plugin) matches as
the server's nlohmann::json does: entries in user-name order, claims compared with nlohmann's ``==``.

Sources at irods/irods_client_http_api: core/src/common.cpp:340-372 at 0.4.0 and
plugins/user_mapping/src/local_file.cpp:70-128 at 0.5.0; both hold the mapping in an ``nlohmann::json``, whose
objects are ``std::map`` (sorted keys), and compare ``*value_of_interest == _iter.value()``.
"""

from __future__ import annotations

import pytest

from irods_provider.testing._openid_client import AttributeMapper


def test_the_first_match_is_the_first_user_by_name_not_by_the_mapping_order() -> None:
    mapper = AttributeMapper({"zed": {"email": "a@example.org"}, "amy": {"email": "a@example.org"}})
    assert mapper.username({"email": "a@example.org"}) == "amy"


@pytest.mark.parametrize(
    ("wanted", "claim", "matches"),
    [
        (True, 1, False),  # a boolean equals no number in nlohmann::json (Python: True == 1)
        (1, True, False),
        (0, False, False),
        (1, 1.0, True),  # numbers compare by value across integer and float
        ([True], [1], False),
        ({"admin": True}, {"admin": 1}, False),
        ("1", 1, False),
    ],
)
def test_claims_compare_as_nlohmann_json_values(wanted: object, claim: object, matches: bool) -> None:
    mapper = AttributeMapper({"alice": {"flag": wanted}})
    assert (mapper.username({"flag": claim}) == "alice") is matches
