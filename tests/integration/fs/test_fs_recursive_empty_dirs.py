"""``put``/``get`` with ``recursive=True`` bring empty directories / collections along, as fsspec's own
convention does: ``AbstractFileSystem.put``/``get`` expand the source with its directories and
``put_file``/``get_file`` of a directory create it (fsspec ``spec.py``). The expectation is what fsspec's
``LocalFileSystem`` makes of the same tree, not a list written here.
"""

from __future__ import annotations

from pathlib import Path

from fsspec.implementations.local import LocalFileSystem

HOME = "/tempZone/home/rods"
TREE = {"a.txt": b"a", "full/b.txt": b"b", "full/deeper/c.txt": b"c"}
EMPTY = ("empty", "full/empty_too", "nested/empty/deep")


def local_tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() + ("/" if p.is_dir() else "") for p in root.rglob("*")}


def make_source(root: Path) -> Path:
    for rel, data in TREE.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    for rel in EMPTY:
        (root / rel).mkdir(parents=True, exist_ok=True)
    return root


def irods_tree(irods_fs, root: str) -> set[str]:
    found = irods_fs.find(root, withdirs=True, detail=True)
    return {
        path.removeprefix(f"{root}/") + ("/" if info["type"] == "directory" else "")
        for path, info in found.items()
        if path != root
    }


def test_put_and_get_bring_empty_directories_as_fsspecs_local_copy_does(irods_fs, tmp_path: Path) -> None:
    src = make_source(tmp_path / "src")
    local = LocalFileSystem()
    local.put(str(src), str(tmp_path / "ref"), recursive=True)
    expected = local_tree(tmp_path / "ref")
    assert {"empty/", "full/empty_too/", "nested/empty/deep/"} <= expected  # fsspec's own convention

    irods_fs.put(str(src), f"{HOME}/up", recursive=True)
    assert irods_tree(irods_fs, f"{HOME}/up") == expected
    assert irods_fs.cat_file(f"{HOME}/up/full/deeper/c.txt") == b"c"

    irods_fs.get(f"{HOME}/up", str(tmp_path / "got"), recursive=True)
    local.get(str(tmp_path / "ref"), str(tmp_path / "ref-got"), recursive=True)
    assert local_tree(tmp_path / "got") == local_tree(tmp_path / "ref-got") == expected
    assert (tmp_path / "got" / "full/deeper/c.txt").read_bytes() == b"c"
