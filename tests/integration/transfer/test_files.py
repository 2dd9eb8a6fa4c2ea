"""Many-file uploads and downloads against the emulator: trees, globs, skip on re-run, report for XCom."""

from __future__ import annotations

import json
import logging

from irods_provider.client.transfer import SkipPolicy, TransferConfig, download_files, upload_files

HOME = "/tempZone/home/rods"  # the emulator's default home (see conftest.py)
CFG = TransferConfig(chunk_size=64 * 1024, max_concurrent_files=3, progress_interval_seconds=0.0)


def test_tree_up_and_down(session, irods_emulator, tmp_path, caplog):
    src = tmp_path / "src"
    (src / "a" / "b").mkdir(parents=True)
    files = {"x.csv": b"1" * 70000, "a/y.csv": b"22", "a/b/z.txt": b"333", "a/b/w.csv": b""}
    for name, data in files.items():
        (src / name).write_bytes(data)
    with caplog.at_level(logging.INFO, logger="xfer"):
        report = upload_files(session, src, f"{HOME}/t", config=CFG, logger=logging.getLogger("xfer"))
    assert report.transferred == 4
    assert report.bytes == sum(map(len, files.values()))
    assert any("transferred" in m and "%" in m for m in caplog.messages)
    xcom = json.loads(json.dumps(report.to_dict()))
    assert xcom["checksums"][f"{HOME}/t/a/b/z.txt"] == session.data_objects.calculate_checksum(
        f"{HOME}/t/a/b/z.txt"
    )
    rerun = upload_files(session, src, f"{HOME}/t", config=CFG, skip=SkipPolicy.CHECKSUM)
    assert (rerun.transferred, rerun.skipped) == (0, 4)
    out = tmp_path / "out"
    down = download_files(session, f"{HOME}/t", out, config=CFG)
    assert down.transferred == 4
    for name, data in files.items():
        assert (out / name).read_bytes() == data
    csvs = download_files(session, f"{HOME}/t/**/*.csv", tmp_path / "csv", config=CFG, glob=True)
    assert sorted(p.relative_to(tmp_path / "csv").as_posix() for p in (tmp_path / "csv").rglob("*.csv")) == [
        "a/b/w.csv",
        "a/y.csv",
        "x.csv",
    ]
    assert csvs.transferred == 3
    assert irods_emulator.open_parallel_write_streams() == 0
