"""LocalToIrodsOperator and IrodsToLocalOperator executed against the emulator."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import threading
import time
from pathlib import Path

import pytest

from irods_provider.client import EntryKind
from irods_provider.exceptions import (
    IrodsAlreadyExistsError,
    IrodsInvalidPathError,
    IrodsTransferCancelledError,
)
from irods_provider.operators.transfer import IrodsToLocalOperator, LocalToIrodsOperator

HOME = "/tempZone/home/rods"
KIB = 1024
CHUNK = 64 * KIB
SIZES = {"empty.bin": 0, "one.bin": 1, "sub/odd.bin": 3 * CHUNK + 17, "sub/deep/big.bin": 1024 * KIB + 5}


def sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def up(**kwargs):
    kwargs.setdefault("chunk_size", CHUNK)
    return LocalToIrodsOperator(task_id="up", **kwargs).execute({})


def down(**kwargs):
    kwargs.setdefault("chunk_size", CHUNK)
    return IrodsToLocalOperator(task_id="down", **kwargs).execute({})


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, bytes]:
    data = {rel: os.urandom(size) for rel, size in SIZES.items()}
    for rel, blob in data.items():
        (tmp_path / "src" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "src" / rel).write_bytes(blob)
    return data


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_tree_round_trip_byte_identical_with_metadata(session, tree, tmp_path) -> None:
    report = up(
        source_path=str(tmp_path / "src"),
        destination_path=f"{HOME}/in",
        metadata={"project": "p1", "stage": "raw"},
    )
    assert (report["transferred"], report["skipped"], report["failed"]) == (4, 0, 0)
    assert report["bytes"] == sum(SIZES.values())
    assert report["direction"] == "local -> iRODS"
    for rel, blob in tree.items():
        path = f"{HOME}/in/{rel}"
        assert session.data_objects.read(path) == blob
        assert report["checksums"][path] == sha2(blob) == session.data_objects.calculate_checksum(path)
        avus = {(a.attribute, a.value) for a in session.metadata.list(path, kind=EntryKind.DATA_OBJECT)}
        assert avus == {("project", "p1"), ("stage", "raw")}

    report = down(source_path=f"{HOME}/in", destination_path=str(tmp_path / "back"))
    assert (report["transferred"], report["skipped"], report["bytes"]) == (4, 0, sum(SIZES.values()))
    assert files_under(tmp_path / "back") == tree


def test_rerun_skips_every_file(session, tree, tmp_path) -> None:
    args = {"source_path": str(tmp_path / "src"), "destination_path": f"{HOME}/rerun", "skip": "checksum"}
    assert up(**args)["transferred"] == 4
    again = up(**args)
    assert (again["transferred"], again["skipped"], again["bytes"]) == (0, 4, 0)
    assert {f["reason"] for f in again["files"]} == {"same checksum"}

    dl = {"source_path": f"{HOME}/rerun", "destination_path": str(tmp_path / "dl"), "skip": "size"}
    assert down(**dl)["transferred"] == 4
    again = down(**dl)
    assert (again["transferred"], again["skipped"]) == (0, 4)


def test_overwrite_refused_by_default_names_the_path(session, tmp_path) -> None:
    local = tmp_path / "a.txt"
    local.write_bytes(b"first")
    target = f"{HOME}/a.txt"
    assert up(source_path=str(local), destination_path=target)["transferred"] == 1
    local.write_bytes(b"second!")
    with pytest.raises(IrodsAlreadyExistsError, match=target):
        up(source_path=str(local), destination_path=target)
    assert session.data_objects.read(target) == b"first"
    assert up(source_path=str(local), destination_path=target, overwrite=True)["bytes"] == 7
    assert session.data_objects.read(target) == b"second!"

    out = tmp_path / "out.txt"
    out.write_bytes(b"keep")
    with pytest.raises(IrodsAlreadyExistsError, match=str(out)):
        down(source_path=target, destination_path=str(out))
    assert out.read_bytes() == b"keep"
    assert down(source_path=target, destination_path=str(out), overwrite=True)["transferred"] == 1
    assert out.read_bytes() == b"second!"


def test_single_file_list_and_glob_selection(session, tree, tmp_path) -> None:
    src = tmp_path / "src"
    one = up(source_path=str(src / "one.bin"), destination_path=f"{HOME}/named.bin")
    assert [f["destination"] for f in one["files"]] == [f"{HOME}/named.bin"]
    listed = up(source_path=[str(src / "one.bin"), str(src / "empty.bin")], destination_path=f"{HOME}/list/")
    assert sorted(f["destination"] for f in listed["files"]) == [
        f"{HOME}/list/empty.bin",
        f"{HOME}/list/one.bin",
    ]
    globbed = up(source_path=f"{src}/**/*.bin", glob=True, destination_path=f"{HOME}/glob", pattern="sub/**")
    assert sorted(f["destination"] for f in globbed["files"]) == [
        f"{HOME}/glob/sub/deep/big.bin",
        f"{HOME}/glob/sub/odd.bin",
    ]
    back = down(source_path=f"{HOME}/glob/sub/*.bin", glob=True, destination_path=str(tmp_path / "g"))
    assert files_under(tmp_path / "g") == {"odd.bin": tree["sub/odd.bin"]}
    with pytest.raises(FileNotFoundError, match="no file matches"):
        up(source_path=f"{src}/*.nothing", glob=True, destination_path=f"{HOME}/none")
    assert back["transferred"] == 1


def test_plan_only_writes_nothing(session, tree, tmp_path) -> None:
    report = up(source_path=str(tmp_path / "src"), destination_path=f"{HOME}/dry", plan_only=True)
    assert report["dry_run"] is True
    assert {f["status"] for f in report["files"]} == {"planned"}
    assert report["transferred"] == 0
    assert not session.collections.exists(f"{HOME}/dry")


def test_downloads_never_escape_the_target_directory(session, tmp_path) -> None:
    session.collections.create(f"{HOME}/esc/link", intermediates=True)
    session.data_objects.write(f"{HOME}/esc/link/evil.txt", b"must not land outside")
    outside = tmp_path / "outside"
    outside.mkdir()
    target = tmp_path / "target"
    target.mkdir()
    (target / "link").symlink_to(outside)
    with pytest.raises(IrodsInvalidPathError, match="unsafe download name"):
        down(source_path=f"{HOME}/esc", destination_path=str(target))
    assert list(outside.iterdir()) == []


def test_progress_lines_in_the_task_log(session, tmp_path, caplog, capsys) -> None:
    blob = os.urandom(8 * CHUNK)
    (tmp_path / "p.bin").write_bytes(blob)
    caplog.set_level(logging.INFO)
    up(source_path=str(tmp_path / "p.bin"), destination_path=f"{HOME}/p/", progress_interval_seconds=0)
    captured = capsys.readouterr()
    logs = caplog.text + captured.out + captured.err
    lines = [line for line in logs.splitlines() if re.search(r"transferred [\d.]+ \w+ of 512.0 KiB", line)]
    assert lines, "no progress line logged"
    assert all(re.search(r"\(\d+\.\d%\), [\d.]+ MB/s", line) for line in lines)
    assert any("(100.0%)" in line for line in lines)
    assert any("ETA" in line for line in lines)


def test_templated_fields_render(tmp_path) -> None:
    context = {"ds": "2026-11-25", "params": {"zone": "tempZone", "tag": "t1"}}
    op = LocalToIrodsOperator(
        task_id="up",
        source_path=[f"{tmp_path}/{{{{ ds }}}}/*.csv"],
        destination_path="/{{ params.zone }}/home/rods/{{ ds }}",
        pattern="{{ ds }}*",
        metadata={"tag": "{{ params.tag }}"},
    )
    op.render_template_fields(context=context)
    assert op.source_path == [f"{tmp_path}/2026-11-25/*.csv"]
    assert op.destination_path == "/tempZone/home/rods/2026-11-25"
    assert op.pattern == "2026-11-25*"
    assert op.metadata == {"tag": "t1"}
    dl = IrodsToLocalOperator(
        task_id="down", source_path="/{{ params.zone }}/x", destination_path=f"{tmp_path}/{{{{ ds }}}}"
    )
    dl.render_template_fields(context=context)
    assert (dl.source_path, dl.destination_path) == ("/tempZone/x", f"{tmp_path}/2026-11-25")
    assert set(LocalToIrodsOperator.template_fields) >= {"source_path", "destination_path", "metadata"}
    with pytest.raises(TypeError):
        LocalToIrodsOperator("up", source_path="a", destination_path="/b")  # type: ignore[misc]


class _Watched(LocalToIrodsOperator):
    """Sets ``half_sent`` once half of the file went to the server (so part of it is committed)."""

    half_sent = threading.Event()

    def progress(self, total):
        subscriber = super().progress(total)
        original, event = subscriber.on_progress, self.half_sent

        def on_progress(**kwargs):
            original(**kwargs)
            if total and subscriber.done_bytes >= total // 2:
                event.set()

        subscriber.on_progress = on_progress
        return subscriber


def _kill_when(op, ready) -> BaseException:
    """Run ``op`` in a thread, call on_kill once ``ready()`` holds, return what execute raised."""
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            op.execute({})
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 30
    while not ready() and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.005)  # polling, bounded by the deadline
    op.on_kill()
    thread.join(60)
    assert not thread.is_alive()
    assert outcome, "the transfer finished before it could be cancelled"
    return outcome[0]


def test_on_kill_tree_shuts_every_handle_and_publishes_nothing(session, irods, tmp_path) -> None:
    src = tmp_path / "k"
    src.mkdir()
    for i in range(2):
        (src / f"big{i}.bin").write_bytes(os.urandom(4 * 1024 * KIB))
    irods.set_faults(latency_seconds=0.02)
    op = LocalToIrodsOperator(
        task_id="up", source_path=str(src), destination_path=f"{HOME}/killed/", chunk_size=CHUNK, streams=3
    )
    error = _kill_when(op, lambda: irods.open_parallel_write_streams() > 0)
    irods.set_faults(latency_seconds=0.0)
    assert isinstance(error, IrodsTransferCancelledError)
    assert irods.open_parallel_write_streams() == 0
    assert not session.collections.exists(f"{HOME}/killed") or not [
        p for p in session.collections.list(f"{HOME}/killed") if not p.rsplit("/", 1)[1].startswith(".")
    ]


def test_on_kill_single_file_then_retry_resumes(session, irods, tmp_path) -> None:
    blob = os.urandom(4 * 1024 * KIB)
    (tmp_path / "big.bin").write_bytes(blob)
    irods.set_faults(latency_seconds=0.02)
    args = {"source_path": str(tmp_path / "big.bin"), "destination_path": f"{HOME}/killed.bin"}
    op = _Watched(task_id="up", chunk_size=CHUNK, streams=3, **args)
    _Watched.half_sent.clear()
    error = _kill_when(op, _Watched.half_sent.is_set)
    irods.set_faults(latency_seconds=0.0)
    assert isinstance(error, IrodsTransferCancelledError)
    assert irods.open_parallel_write_streams() == 0
    assert not session.data_objects.exists(f"{HOME}/killed.bin")
    again = up(streams=3, **args)  # a task retry continues from the committed prefix
    assert again["files"][0]["resumed_from"] > 0
    assert again["checksums"][f"{HOME}/killed.bin"] == sha2(blob)
    assert session.data_objects.read(f"{HOME}/killed.bin") == blob


def test_a_truncated_report_writes_the_full_manifest_to_irods(session, tmp_path) -> None:
    import json

    for i in range(30):
        (tmp_path / f"f{i:02d}.txt").write_bytes(b"x" * i)
    op = LocalToIrodsOperator(
        task_id="up",
        source_path=str(tmp_path),
        destination_path="/tempZone/home/rods/many/",
        max_report_bytes=2000,
        manifest_path="/tempZone/home/rods/reports/many.jsonl",
    )
    value = op.execute(context={})
    assert value["files_truncated"] is True
    assert value["transferred"] == 30
    assert len(value["files"]) < 30
    assert value["manifest"] == "/tempZone/home/rods/reports/many.jsonl"
    lines = session.data_objects.read(value["manifest"]).decode().splitlines()
    entries = [json.loads(line) for line in lines]
    assert sorted(e["destination"] for e in entries) == [
        f"/tempZone/home/rods/many/f{i:02d}.txt" for i in range(30)
    ]
    assert {e["status"] for e in entries} == {"transferred"}
