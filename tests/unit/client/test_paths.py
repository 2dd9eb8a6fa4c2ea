import pytest

from irods_provider.client import genquery_condition, genquery_literal, validate_path
from irods_provider.client._genquery import match_condition, prefix_condition
from irods_provider.client._models import AVU
from irods_provider.client._paths import (
    MAX_PATH_BYTES,
    basename,
    check_query_value,
    join_path,
    parent_path,
    validate_avu,
)
from irods_provider.exceptions import IrodsInvalidPathError, IrodsUsageError


@pytest.mark.parametrize(
    "path", ["/", "/tempZone", "/tempZone/home/a b/it's", "/z/h/ä+=&%#", "/z/.hidden", "/z/a..b"]
)
def test_valid_paths(path):
    assert validate_path(path) == path


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("relative/x", "absolute"),
        ("", "absolute"),
        ("/z//x", "empty component"),
        ("/z/x/", "empty component"),
        ("/z/./x", "'.' or '..'"),
        ("/z/../x", "'.' or '..'"),
        ("/z/a\x00b", "control"),
        ("/z/a\nb", "control"),
    ],
)
def test_invalid_paths_name_the_path(path, reason):
    with pytest.raises(IrodsInvalidPathError) as info:
        validate_path(path, operation="collections.stat")
    assert reason in str(info.value)
    assert info.value.path == path
    assert info.value.operation == "collections.stat"


def test_plus_cannot_travel_in_get():
    with pytest.raises(IrodsInvalidPathError, match=r"contains '\+'") as info:
        check_query_value("/z/a+b", name="lpath", operation="collections.stat")
    assert info.value.path == "/z/a+b"
    assert check_query_value("/z/a b=&%", name="lpath", operation="x") == "/z/a b=&%"


def test_path_helpers():
    assert join_path("/z/home/", "a", "b") == "/z/home/a/b"
    assert parent_path("/z/home/a") == "/z/home"
    assert parent_path("/z") == "/"
    assert basename("/z/home/a") == "a"


def test_genquery_literals():
    assert genquery_literal("it's") == "'it''s'"
    assert genquery_condition("DATA_NAME", "o'k") == "DATA_NAME = 'o''k'"
    with pytest.raises(IrodsUsageError, match=r"\+"):
        genquery_literal("a+b")
    with pytest.raises(IrodsUsageError):
        genquery_condition("DATA_NAME; drop", "x")
    with pytest.raises(IrodsUsageError):
        genquery_condition("DATA_NAME", "x", operator="; or")
    assert match_condition("COLL_NAME", "/z/a+b") == ("COLL_NAME like '/z/a_b'", True)
    # A quote: 5.0 wants it doubled, 4.3 binds the text between the first and last quote verbatim;
    # only a like with '_' in its place reads the same on both (rows are re-checked by the caller).
    assert match_condition("COLL_NAME", "/z/a'b") == ("COLL_NAME like '/z/a_b'", True)
    assert prefix_condition("COLL_NAME", "/z/it's+/") == "COLL_NAME like '/z/it_s_/%'"
    # Backslash is LIKE's escape character (and starts 5.0's \xHH): widened, never left to escape.
    assert match_condition("V", "a\\$+b") == ("V like 'a_$_b'", True)
    assert prefix_condition("COLL_NAME", "/z/a\\b/") == "COLL_NAME like '/z/a_b/%'"
    assert match_condition("V", "a\\b") == ("V = 'a\\b'", False)
    assert match_condition("V", "a\\x41") == ("V like 'a_x41'", True)
    # Keywords, %, _, non-ASCII stay in an exact '=' literal: 4.3 finds the lower-case keywords first.
    for value in ("nowhere where.txt", "WHERE", "x=y", "a and b", "select", "50%_off", "漢字 é"):
        assert match_condition("DATA_NAME", value) == (f"DATA_NAME = '{value}'", False)
    # '_' and '%' are escaped with a backslash in like patterns, so a name holding them matches itself only.
    assert prefix_condition("COLL_NAME", "/z/run_1%/") == "COLL_NAME like '/z/run\\_1\\%/%'"
    assert match_condition("DATA_NAME", "a_b+c") == ("DATA_NAME like 'a\\_b_c'", True)


def test_path_length_is_bounded_in_utf8_bytes():
    longest = "/z/" + "x" * (MAX_PATH_BYTES - 3)
    assert validate_path(longest) == longest
    with pytest.raises(
        IrodsInvalidPathError, match=r"too long: 1088 bytes of UTF-8, .* at most 1087"
    ) as info:
        validate_path(longest + "x", operation="data_objects.write")
    assert info.value.operation == "data_objects.write"
    # 544 two-byte characters: 1088 characters would pass a character count, the bytes do not
    with pytest.raises(IrodsInvalidPathError, match=r"too long: 1091 bytes"):
        validate_path("/z/" + "é" * 544)


def test_path_with_a_lone_surrogate_is_refused():
    with pytest.raises(IrodsInvalidPathError, match="not valid UTF-8"):
        validate_path("/z/bad\udcffname")


@pytest.mark.parametrize(
    ("avu", "words"),
    [
        (AVU("a\x00b", "v"), ("attribute", "NUL")),
        (AVU("a", "v\x00"), ("value", "NUL")),
        (AVU("a", "v", "u\x00"), ("units", "NUL")),
        (AVU("a" * 2701, "v"), ("attribute", "2701 bytes", "at most 2700")),
        (AVU("a", "v" * 2701), ("value", "2701 bytes", "at most 2700")),
        (AVU("a", "ü" * 1351), ("value", "2702 bytes", "at most 2700")),
        (AVU("a", "v", "u" * 251), ("units", "251 bytes", "at most 250")),
        (AVU("a", "v\udcff"), ("value", "not valid UTF-8")),
    ],
)
def test_invalid_avus_name_the_field_and_the_limit(avu, words):
    with pytest.raises(IrodsUsageError) as info:
        validate_avu(avu, operation="metadata.apply", path="/z/x")
    text = str(info.value)
    assert text.startswith("invalid AVU")
    for word in words:
        assert word in text
    assert info.value.path == "/z/x"


def test_avus_at_the_limits_are_accepted():
    avu = AVU("a" * 2700, "v\n" * 1350, "u" * 250)
    assert validate_avu(avu, operation="metadata.apply") is avu
