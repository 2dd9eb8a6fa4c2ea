"""The provider's one pattern rule (``irods_provider.client._patterns``): segments, ``**``, escapes.

Expectations follow Python's own ``fnmatch``/``glob`` (the dialect the rule documents) wherever the two
overlap; ``**`` follows ``glob(recursive=True)`` (a middle ``**`` also matches no segment).
"""

from __future__ import annotations

import fnmatch
import glob as pyglob
import os

import pytest

from irods_provider.client._patterns import (
    GLOB_HINT,
    compile_filter,
    compile_name,
    compile_pattern,
    escape,
    has_magic,
    literal_hint,
)

Z = "/tempZone/home/rods"


def test_a_bracket_escape_is_literal_and_names_one_path() -> None:
    compiled = compile_pattern(f"{Z}/in/data[[]1].csv")
    assert compiled.literal
    assert compiled.base == f"{Z}/in/data[1].csv"
    assert compiled.matches_path(f"{Z}/in/data[1].csv")
    assert not compiled.matches_path(f"{Z}/in/data1.csv")


def test_a_class_with_one_character_is_that_character() -> None:
    # ``[1]`` is fnmatch's class of one character: as a pattern, ``data[1].csv`` names ``data1.csv``.
    compiled = compile_pattern(f"{Z}/data[1].csv")
    assert (compiled.literal, compiled.base) == (True, f"{Z}/data1.csv")


@pytest.mark.parametrize(
    "path",
    ["data[1].csv", "run[7].h5", "a*b?c.txt", "[[x]]", "plain.txt", "weird]name", "ä[ö]*ß?.csv", "x+y#[z].c"],
)
def test_escape_round_trips_like_glob_escape(path: str) -> None:
    assert escape(path) == pyglob.escape(path)
    compiled = compile_pattern(f"{Z}/{escape(path)}")
    assert (compiled.literal, compiled.base) == (True, f"{Z}/{path}")
    assert compile_name(escape(path)).fullmatch(path)


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("*.csv", "a.csv", True),
        ("*.csv", "a.csv.tmp", False),
        ("data?.csv", "data1.csv", True),
        ("data?.csv", "data10.csv", False),
        ("data[0-9].csv", "data7.csv", True),
        ("data[!0-9].csv", "data7.csv", False),
        ("data[!0-9].csv", "datax.csv", True),
        ("data[[]1].csv", "data[1].csv", True),
        ("data[[]1].csv", "data1.csv", False),
        ("a[*]b", "a*b", True),
        ("a[*]b", "axb", False),
        ("a[?]b", "a?b", True),
        ("[]]x", "]x", True),
        ("[!]]x", "ax", True),
        ("[!]]x", "]x", False),
        ("[a-]", "-", True),
        ("[z-a]", "m", False),  # a reversed range matches nothing, as in fnmatch
        ("data[1.csv", "data[1.csv", True),  # no closing bracket: literal
        ("a+b#c.txt", "a+b#c.txt", True),
        ("a+b#c.txt", "aab#c.txt", False),  # ``+`` is no regex quantifier here
        ("(x)|y.$", "(x)|y.$", True),
        ("ünï*.h5", "ünïcödé.h5", True),
        ("?.h5", "ß.h5", True),  # one character, not one byte
        ("CASE.txt", "case.txt", False),  # case-sensitive everywhere
        ("a**b", "axyzb", True),  # ** inside a segment is *
        ("*", "", True),
    ],
)
def test_name_patterns_agree_with_fnmatchcase(pattern: str, name: str, expected: bool) -> None:
    assert (compile_name(pattern).fullmatch(name) is not None) is expected
    assert fnmatch.fnmatchcase(name, pattern) is expected


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("x.csv", True),  # a middle ** also matches no segment
        ("a/x.csv", True),
        ("a/b/c/x.csv", True),
        ("a/b/c/x.txt", False),
        ("a/x.csv/y", False),
    ],
)
def test_double_star_spans_any_depth(relative: str, expected: bool) -> None:
    compiled = compile_pattern(f"{Z}/in/**/*.csv")
    assert (compiled.base, compiled.segments, compiled.max_depth) == (f"{Z}/in", ("**", "*.csv"), None)
    assert compiled.matches(relative) is expected
    assert compiled.matches_path(f"{Z}/in/{relative}") is expected


def test_double_star_agrees_with_python_glob(tmp_path) -> None:
    for relative in ["x.csv", "a/x.csv", "a/b/y.csv", "a/b/z.txt", "c/d/e/f.csv"]:
        target = tmp_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"")
    for pattern in ["**/*.csv", "a/**/*.csv", "*/*.csv", "**", "a/**", "*/b/*"]:
        ours = compile_pattern(f"{tmp_path}/{pattern}")
        python = {
            os.path.relpath(p, tmp_path)
            for p in pyglob.glob(f"{tmp_path}/{pattern}", recursive=True)
            if os.path.isfile(p)
        }
        files = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()}
        assert {f for f in files if ours.matches_path(f"{tmp_path}/{f}")} == python, pattern


def test_star_and_classes_never_cross_a_slash() -> None:
    compiled = compile_pattern(f"{Z}/*/x?")
    assert (compiled.base, compiled.max_depth) == (Z, 2)
    assert compiled.matches("in/x1")
    assert not compiled.matches("in/deep/x1")
    assert not compile_pattern("/z/a[!x]b").matches_path("/z/a/b")
    assert not compile_pattern("/z/a?b").matches_path("/z/a/b")


@pytest.mark.parametrize("klass", ["[ -~]", "[+-0]", "[.-9]", "[*-z]", "[!a]"])
def test_a_range_spanning_slash_stays_in_its_segment(klass: str) -> None:
    """Ranges that contain ``/`` by code point (``[ -~]``: any printable) still match within one segment."""
    compiled = compile_pattern(f"/z/run{klass}1")
    assert not compiled.matches_path("/z/run/1")
    assert compiled.matches_path("/z/run01") is fnmatch.fnmatchcase("run01", f"run{klass}1") is True
    assert not compile_pattern(f"/z/**/run{klass}1").matches_path("/z/g/run/1")
    assert not compile_filter(f"run{klass}1")("g/run/1")
    assert not compile_name(f"run{klass}1").fullmatch("run/1")


def test_trailing_double_star_is_everything_below_and_double_stars_collapse() -> None:
    compiled = compile_pattern(f"{Z}/in/**/**")
    assert compiled.segments == ("**",)
    assert compiled.matches("a")
    assert compiled.matches("a/b/c")
    assert not compiled.matches("")
    assert not compiled.matches_path(f"{Z}/in")  # the base itself is not below itself
    assert not compiled.matches_path(f"{Z}/inbox/a")


def test_bases_of_relative_root_and_doubled_slashes() -> None:
    assert compile_pattern("*.csv").base == "."
    assert compile_pattern("/*.csv").base == "/"
    assert compile_pattern("data//sub/*.csv").base == "data/sub"
    assert compile_pattern("/z//a/").base == "/z/a"
    assert compile_pattern("/").base == "/"
    assert compile_pattern("/*").matches_path("/z")


def test_filters_take_names_or_relative_paths() -> None:
    names = compile_filter("*.csv")
    assert names("deep/a/x.csv")
    assert not names("deep/a.csv/x.txt")
    paths = compile_filter("sub/*.csv")
    assert paths("sub/x.csv")
    assert not paths("sub/deep/x.csv")  # unlike fnmatch, ``*`` stays in its segment
    assert not paths("x.csv")
    assert compile_filter("sub/**/*.csv")("sub/a/b/x.csv")
    assert compile_filter("data[[]1].csv")("in/data[1].csv")
    assert not compile_filter("data[[]1].csv")("in/data1.csv")


def test_magic_and_the_hint() -> None:
    assert all(has_magic(text) for text in ("data[1].csv", "*.csv", "a?"))
    assert not has_magic("plain/data(1)+#.csv")
    assert literal_hint("/z/data[1].csv") == f" ({GLOB_HINT})"
    assert "pass glob=True" in GLOB_HINT
    assert literal_hint("/z/data1.csv") == ""
