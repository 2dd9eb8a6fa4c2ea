"""``move=True`` on the local operators: sources removed after verified copies (data objects with no_trash
unless ``trash=True``), emptied directories and collections below the source root removed, and a source
that changed after its copy kept."""

from __future__ import annotations

from pathlib import Path

from irods_provider.transfers import irods_to_local, local_to_irods
from irods_provider.transfers.irods_to_local import IrodsToLocalOperator
from irods_provider.transfers.local_to_irods import LocalToIrodsOperator

HOME = "/tempZone/home/rods"
TRASH = "/tempZone/trash/home/rods"


def put(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)


def local_state(root: Path) -> tuple[dict[str, bytes], list[str]]:
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    return files, sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_dir())


def test_local_tree_moved_into_irods(session, tmp_path) -> None:
    src = tmp_path / "src"
    put(
        src,
        {"a.csv": b"a", "sub/b.csv": b"b", "sub/deeper/c.csv": b"c", "kept/d.csv": b"d", "kept/n.txt": b"n"},
    )
    report = LocalToIrodsOperator(
        task_id="up", source_path=f"{src}/**/*.csv", glob=True, destination_path=f"{HOME}/lm", move=True
    ).execute({})
    assert report["transferred"] == 4
    assert session.data_objects.read(f"{HOME}/lm/sub/deeper/c.csv") == b"c"
    assert local_state(src) == ({"kept/n.txt": b"n"}, ["kept"])  # the root src/ itself stays
    assert src.is_dir()


def test_local_source_changed_after_its_copy_is_kept(session, tmp_path, monkeypatch) -> None:
    src = tmp_path / "src"
    put(src, {"x/one.bin": b"one", "x/two.bin": b"two"})
    upload = local_to_irods.upload_files

    def upload_then_rewrite(*args, **kwargs):
        report = upload(*args, **kwargs)
        (src / "x/two.bin").write_bytes(b"TWO")  # same size, after the verified copy
        return report

    monkeypatch.setattr(local_to_irods, "upload_files", upload_then_rewrite)
    report = LocalToIrodsOperator(
        task_id="up", source_path=str(src), destination_path=f"{HOME}/ch", move=True
    ).execute({})
    assert report["transferred"] == 2
    assert session.data_objects.read(f"{HOME}/ch/x/two.bin") == b"two"
    assert local_state(src) == ({"x/two.bin": b"TWO"}, ["x"])  # kept, and so is its directory


def test_irods_tree_moved_to_local_with_no_trash(session, tmp_path) -> None:
    for rel in ("a.bin", "sub/b.bin", "sub/deeper/c.bin"):
        session.collections.create(f"{HOME}/dl/{rel}".rsplit("/", 1)[0], intermediates=True, exist_ok=True)
        session.data_objects.write(f"{HOME}/dl/{rel}", rel.encode())
    report = IrodsToLocalOperator(
        task_id="down", source_path=f"{HOME}/dl", destination_path=str(tmp_path / "got"), move=True
    ).execute({})
    assert report["transferred"] == 3
    assert local_state(tmp_path / "got")[0] == {
        "a.bin": b"a.bin",
        "sub/b.bin": b"sub/b.bin",
        "sub/deeper/c.bin": b"sub/deeper/c.bin",
    }
    assert list(session.collections.iterate(f"{HOME}/dl", recursive=True)) == []  # sub/ and deeper/ gone
    assert session.collections.exists(f"{HOME}/dl")  # the root stays
    assert not session.collections.exists(f"{TRASH}/dl")  # nothing went to the trash


def test_irods_move_to_local_with_trash_and_a_changed_source(session, tmp_path, monkeypatch) -> None:
    session.collections.create(f"{HOME}/tr/sub", intermediates=True)
    session.data_objects.write(f"{HOME}/tr/sub/a.bin", b"to the trash")
    session.data_objects.write(f"{HOME}/tr/sub/b.bin", b"version one")
    download = irods_to_local.download_files

    def download_then_rewrite(*args, **kwargs):
        report = download(*args, **kwargs)
        session.data_objects.write(f"{HOME}/tr/sub/b.bin", b"version two!")
        return report

    monkeypatch.setattr(irods_to_local, "download_files", download_then_rewrite)
    report = IrodsToLocalOperator(
        task_id="down", source_path=f"{HOME}/tr", destination_path=str(tmp_path / "t"), move=True, trash=True
    ).execute({})
    assert report["transferred"] == 2
    assert session.data_objects.read(f"{TRASH}/tr/sub/a.bin") == b"to the trash"
    assert session.data_objects.read(f"{HOME}/tr/sub/b.bin") == b"version two!"  # changed: kept
    assert (tmp_path / "t/sub/b.bin").read_bytes() == b"version one"
