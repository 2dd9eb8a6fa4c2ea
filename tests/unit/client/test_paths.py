import pytest

from irods_provider.client import genquery_condition, genquery_literal, validate_path
from irods_provider.client._genquery import match_condition, prefix_condition
from irods_provider.client._paths import basename, check_query_value, join_path, parent_path
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
    assert match_condition("COLL_NAME", "/z/a'b") == ("COLL_NAME = '/z/a''b'", False)
    assert prefix_condition("COLL_NAME", "/z/it's+/") == "COLL_NAME like '/z/it''s_/%'"
    # Backslash is LIKE's escape character: a literal one is doubled, or the pattern under-matches.
    assert match_condition("V", "a\\$+b") == ("V like 'a\\\\$_b'", True)
    assert prefix_condition("COLL_NAME", "/z/a\\b/") == "COLL_NAME like '/z/a\\\\b/%'"
