"""The planner's directories of a tree (pure planning over the local disk): empty ones, merges, clashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from irods_provider.client.transfer._local import plan_local_tree
from irods_provider.exceptions import IrodsUsageError


def test_a_tree_plans_its_directories_parents_first_and_a_pattern_none(tmp_path: Path) -> None:
    (tmp_path / "t" / "b" / "deep").mkdir(parents=True)
    (tmp_path / "t" / "a").mkdir()
    (tmp_path / "t" / "a" / "f.txt").write_bytes(b"f")
    plan = plan_local_tree(str(tmp_path / "t"), "/z/home/d")
    assert [d.destination for d in plan.directories] == ["/z/home/d/a", "/z/home/d/b", "/z/home/d/b/deep"]
    assert [d.source for d in plan.directories] == [str(tmp_path / "t" / p) for p in ("a", "b", "b/deep")]
    assert plan_local_tree(str(tmp_path / "t"), "/z/home/d", pattern="*.txt").directories == []
    assert plan_local_tree(str(tmp_path / "t"), "/z/home/d", recursive=False).directories == []


def test_two_trees_merge_their_directories_but_a_file_never_lands_on_one(tmp_path: Path) -> None:
    for tree in ("one", "two"):
        (tmp_path / tree / "logs").mkdir(parents=True)
    merged = plan_local_tree([str(tmp_path / "one"), str(tmp_path / "two")], "/z/home/d")
    assert [d.destination for d in merged.directories] == ["/z/home/d/logs", "/z/home/d/logs"]
    (tmp_path / "three").mkdir()
    (tmp_path / "three" / "logs").write_bytes(b"a file named like the directory")
    with pytest.raises(IrodsUsageError, match="same path") as caught:
        plan_local_tree([str(tmp_path / "one"), str(tmp_path / "three")], "/z/home/d")
    assert caught.value.path == "/z/home/d/logs"
