"""Path safety, tree/list/glob planning, many-file runs, reports, progress lines, reader, exports."""

from __future__ import annotations

import io
import json
import logging
import os

import pytest

import irods_provider.client.transfer as transfer
from irods_provider.client.transfer import (
    ChecksumScheme,
    FileStatus,
    LoggingProgressSubscriber,
    OverwritePolicy,
    SkipPolicy,
    TransferConfig,
    download_files,
    open_reader,
    plan_local_sources,
    safe_local_path,
    upload_files,
    upload_object,
)
from irods_provider.exceptions import (
    IrodsAlreadyExistsError,
    IrodsChecksumMismatchError,
    IrodsIntegrityError,
    IrodsInvalidPathError,
)

HOME = "/tempZone/home/rods"
CFG = TransferConfig(streams=2, chunk_size=4, small_file_threshold=4, backoff_base_seconds=0.0)

UNSAFE = [
    "",
    "/etc/passwd",
    "\\windows",
    "C:evil",
    "../x",
    "a/../../x",
    "a/./b",
    "a//b",
    "a/",
    "..",
    ".",
    "a\\..\\b",
    "nul\x00byte",
]


@pytest.mark.parametrize("name", UNSAFE)
def test_unsafe_names_rejected(tmp_path, name):
    with pytest.raises(IrodsInvalidPathError, match="unsafe download name"):
        safe_local_path(tmp_path, name)


def test_symlink_escape_rejected(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(outside)
    (root / "file-link").symlink_to(outside / "f")
    for name in ("link/f", "file-link"):
        with pytest.raises(IrodsInvalidPathError, match="symlink"):
            safe_local_path(root, name)
    assert safe_local_path(root, "a/b.txt") == root.resolve() / "a" / "b.txt"


def make_tree(tmp_path):
    root = tmp_path / "tree"
    (root / "sub" / "deep").mkdir(parents=True)
    (root / "a.csv").write_bytes(b"aaaa1")
    (root / "b.txt").write_bytes(b"bb")
    (root / "sub" / "c.csv").write_bytes(b"ccccccccc")
    (root / "sub" / "deep" / "d.csv").write_bytes(b"")
    return root


def test_plan_tree_list_glob(tmp_path):
    root = make_tree(tmp_path)
    tree = plan_local_sources(root, f"{HOME}/dst")
    assert [p.destination for p in tree] == [
        f"{HOME}/dst/a.csv",
        f"{HOME}/dst/b.txt",
        f"{HOME}/dst/sub/c.csv",
        f"{HOME}/dst/sub/deep/d.csv",
    ]
    assert [p.size for p in tree] == [5, 2, 9, 0]
    flat = plan_local_sources(root, f"{HOME}/dst", recursive=False)
    assert [p.destination for p in flat] == [f"{HOME}/dst/a.csv", f"{HOME}/dst/b.txt"]
    globbed = plan_local_sources(str(root / "**" / "*.csv"), f"{HOME}/g", glob=True)
    assert [p.destination for p in globbed] == [
        f"{HOME}/g/a.csv",
        f"{HOME}/g/sub/c.csv",
        f"{HOME}/g/sub/deep/d.csv",
    ]
    listed = plan_local_sources([root / "b.txt", root / "sub" / "c.csv"], f"{HOME}/l")
    assert [p.destination for p in listed] == [f"{HOME}/l/b.txt", f"{HOME}/l/c.csv"]
    filtered = plan_local_sources(root, f"{HOME}/f", pattern="sub/**")
    assert [p.destination for p in filtered] == [f"{HOME}/f/sub/c.csv", f"{HOME}/f/sub/deep/d.csv"]
    # The one pattern rule: ``*`` stays within its segment (fnmatch's crossed "/").
    filtered = plan_local_sources(root, f"{HOME}/f", pattern="sub/*")
    assert [p.destination for p in filtered] == [f"{HOME}/f/sub/c.csv"]
    with pytest.raises(IrodsInvalidPathError):
        plan_local_sources(root / "missing", HOME)


def test_upload_files_then_download_files(fake, tmp_path):
    root = make_tree(tmp_path)
    report = upload_files(fake, root, f"{HOME}/dst", config=CFG)
    assert (report.transferred, report.skipped, report.failed, report.bytes) == (4, 0, 0, 16)
    assert bytes(fake.objects[f"{HOME}/dst/sub/c.csv"]) == b"ccccccccc"
    assert f"{HOME}/dst/sub/deep" in fake.collections_created
    data = json.loads(json.dumps(report.to_dict()))
    assert data["checksums"][f"{HOME}/dst/a.csv"].startswith("sha2:")
    again = upload_files(fake, root, f"{HOME}/dst", config=CFG, skip=SkipPolicy.CHECKSUM)
    assert (again.transferred, again.skipped) == (0, 4)
    with pytest.raises(IrodsAlreadyExistsError, match="already exists"):
        upload_files(fake, root, f"{HOME}/dst", config=CFG)
    out = tmp_path / "out"
    down = download_files(fake, f"{HOME}/dst", out, config=CFG)
    assert down.transferred == 4
    assert (out / "sub" / "deep" / "d.csv").read_bytes() == b""
    assert (out / "sub" / "c.csv").read_bytes() == b"ccccccccc"
    globbed = download_files(fake, f"{HOME}/dst/*.csv", tmp_path / "g", config=CFG, glob=True)
    assert [os.path.relpath(f.destination, tmp_path / "g") for f in globbed.files] == ["a.csv"]
    globbed = download_files(fake, f"{HOME}/dst/**/*.csv", tmp_path / "g2", config=CFG, glob=True)
    assert sorted(os.path.relpath(f.destination, tmp_path / "g2") for f in globbed.files) == [
        "a.csv",
        os.path.join("sub", "c.csv"),
        os.path.join("sub", "deep", "d.csv"),
    ]
    skipped = download_files(fake, f"{HOME}/dst", out, config=CFG, skip=SkipPolicy.SIZE)
    assert skipped.skipped == 4
    dry = download_files(fake, f"{HOME}/dst", tmp_path / "dry", config=CFG, dry_run=True)
    assert {f.status for f in dry.files} == {FileStatus.PLANNED}
    assert not (tmp_path / "dry").exists()


def test_download_rejects_server_names_escaping(fake, tmp_path):
    fake.objects[f"{HOME}/evil/../../etc/x"] = bytearray(b"boom")
    with pytest.raises(IrodsInvalidPathError):
        download_files(fake, f"{HOME}/evil", tmp_path / "t", config=CFG)
    assert not (tmp_path / "etc").exists()


def test_continue_on_error_records_failures(fake, tmp_path):
    root = make_tree(tmp_path)
    upload_files(fake, root / "a.csv", f"{HOME}/dst", config=CFG)
    report = upload_files(fake, root, f"{HOME}/dst", config=CFG, continue_on_error=True)
    assert (report.transferred, report.failed) == (3, 1)
    assert "IrodsAlreadyExistsError" in report.files[0].error


def test_overwrite_keeps_old_until_new_is_in_place(fake, tmp_path):
    src = tmp_path / "o.txt"
    src.write_bytes(b"new content")
    fake.objects[f"{HOME}/o.txt"] = bytearray(b"old")
    upload_object(fake, src, f"{HOME}/o.txt", config=CFG, overwrite=OverwritePolicy.OVERWRITE)
    renames = [c for c in fake.calls if c[0] == "rename"]
    assert renames[0][1] == f"{HOME}/o.txt"  # old moved aside first
    assert renames[1][2] == f"{HOME}/o.txt"  # then the verified temp renamed onto the path
    assert bytes(fake.objects[f"{HOME}/o.txt"]) == b"new content"
    assert list(fake.objects) == [f"{HOME}/o.txt"]


def test_mismatch_and_md5_zone(fake):
    fake.checksum_override = "sha2:AAAA"
    with pytest.raises(IrodsChecksumMismatchError) as info:
        upload_object(fake, io.BytesIO(b"hello world"), f"{HOME}/m", config=CFG)
    assert info.value.actual == "sha2:AAAA"
    assert fake.objects == {}
    fake.checksum_override = None
    fake.md5_zone = True
    # no setting needed: the scheme is learned from the answer (MD5 hashed in the same pass)
    res = upload_object(fake, io.BytesIO(b"hello world"), f"{HOME}/m5", config=CFG)
    assert res.checksum == "5eb63bbbe01eeed093cb22bb8f5acdc3"
    md5_cfg = TransferConfig(chunk_size=4, checksum_scheme=ChecksumScheme.MD5)
    res = upload_object(fake, io.BytesIO(b"hello world"), f"{HOME}/m5b", config=md5_cfg)
    assert res.checksum == "5eb63bbbe01eeed093cb22bb8f5acdc3"
    # pinned to SHA-256 on an MD5 zone: refused by name, never a silent pass
    sha_cfg = TransferConfig(chunk_size=4, checksum_scheme=ChecksumScheme.SHA256)
    with pytest.raises(IrodsIntegrityError, match="MD5"):
        upload_object(fake, io.BytesIO(b"hello world"), f"{HOME}/m5c", config=sha_cfg)


def test_reader_in_order_and_bounded(fake):
    data = bytes(range(256)) * 3
    fake.objects[f"{HOME}/r"] = bytearray(data)
    with open_reader(fake, f"{HOME}/r", config=CFG) as r:
        parts = [r.read(5) for _ in range(3)]
        assert b"".join(parts) == data[:15]
        outstanding = r._next_request - r.tell()
        assert outstanding <= CFG.max_in_flight_chunks * CFG.chunk_size + CFG.chunk_size
        assert r.read() == data[15:]
        assert r.read(1) == b""
    offsets = [c[2] for c in fake.calls if c[0] == "read"]
    assert sorted(offsets) == list(range(0, len(data), 4))


def test_progress_logger_steady_interval(caplog):
    now = [0.0]
    sub = LoggingProgressSubscriber(logging.getLogger("t"), total=1000, interval=10, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="t"):
        for _ in range(10):
            now[0] += 4
            sub.on_progress(path="/x", bytes_transferred=100)
    assert sub.lines == 3
    assert caplog.messages[0] == "transferred 300 B of 1000 B (30.0%), 0.00 MB/s, ETA 28 s"


def test_config_memory_formula():
    cfg = TransferConfig()
    assert cfg.max_in_flight_chunks == 6
    assert cfg.max_buffered_bytes == 8 * 8 * 1024 * 1024


def test_exports_sorted_and_owned():
    assert transfer.__all__ == sorted(transfer.__all__, key=lambda n: (not n.isupper(), n))
    public = {n for n in dir(transfer) if not n.startswith("_")} - {"annotations"}
    assert public == set(transfer.__all__)
    assert transfer.TransferConfig.__module__ == "irods_provider.client.transfer"
