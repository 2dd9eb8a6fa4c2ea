"""OpenLineage facets and hook lineage of the four transfer operators, run against the emulator (and an
embedded SFTP server): datasets name exactly the files copied."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from irods_provider.exceptions import IrodsError
from irods_provider.operators.transfer import IrodsToLocalOperator, LocalToIrodsOperator
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

HOME = "/tempZone/home/rods"
ZONE_NS = "irods://tempZone"
CHUNK = 64 * 1024


def ol(operator) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    lineage = operator.get_openlineage_facets_on_complete(None)
    return (
        sorted((d.namespace, d.name) for d in lineage.inputs),
        sorted((d.namespace, d.name) for d in lineage.outputs),
    )


def collected(collector, operator) -> tuple[list[str], list[str]]:
    hook_lineage = collector.collected_assets
    for info in (*hook_lineage.inputs, *hook_lineage.outputs):
        assert info.context is operator.hook
        assert info.count == 1
    return sorted(i.asset.uri for i in hook_lineage.inputs), sorted(i.asset.uri for i in hook_lineage.outputs)


def test_sftp_to_irods(remote, session, collector) -> None:
    remote.put("src/a.csv", b"a,1\n")
    remote.put("src/sub/b.bin", os.urandom(CHUNK + 3))
    remote.put("src/skip.txt", b"not selected")
    op = SFTPToIrodsOperator(
        task_id="up",
        sftp_conn_id="cluster",
        source_path=remote.path("src/**/*.[cb]*"),
        glob=True,
        destination_path=f"{HOME}/in",
    )
    assert ol(op) == ([], [])  # nothing before a run
    report = op.execute({})
    assert report["transferred"] == 2
    assert ol(op) == (
        [
            (remote.namespace, remote.absolute("src/a.csv")),
            (remote.namespace, remote.absolute("src/sub/b.bin")),
        ],
        [(ZONE_NS, f"{HOME}/in/a.csv"), (ZONE_NS, f"{HOME}/in/sub/b.bin")],
    )
    host_port = remote.namespace.removeprefix("file://")
    assert collected(collector, op) == (
        [
            f"sftp://{host_port}{remote.absolute('src/a.csv')}",
            f"sftp://{host_port}{remote.absolute('src/sub/b.bin')}",
        ],
        ["irods://tempZone/home/rods/in/a.csv", "irods://tempZone/home/rods/in/sub/b.bin"],
    )


def test_irods_to_sftp(remote, session, collector) -> None:
    session.collections.create(f"{HOME}/out/deep", intermediates=True)
    session.data_objects.write(f"{HOME}/out/x.txt", b"x")
    session.data_objects.write(f"{HOME}/out/deep/y.txt", b"yy")
    op = IrodsToSFTPOperator(
        task_id="down", sftp_conn_id="cluster", source_path=f"{HOME}/out", destination_path=remote.path("dst")
    )
    assert op.execute({})["transferred"] == 2
    assert (remote.dir / "dst/deep/y.txt").read_bytes() == b"yy"
    assert ol(op) == (
        [(ZONE_NS, f"{HOME}/out/deep/y.txt"), (ZONE_NS, f"{HOME}/out/x.txt")],
        [
            (remote.namespace, remote.absolute("dst/deep/y.txt")),
            (remote.namespace, remote.absolute("dst/x.txt")),
        ],
    )
    host_port = remote.namespace.removeprefix("file://")
    assert collected(collector, op) == (
        ["irods://tempZone/home/rods/out/deep/y.txt", "irods://tempZone/home/rods/out/x.txt"],
        [
            f"sftp://{host_port}{remote.absolute('dst/deep/y.txt')}",
            f"sftp://{host_port}{remote.absolute('dst/x.txt')}",
        ],
    )


def test_local_to_irods_single_file_and_skips(tmp_path: Path, session, collector) -> None:
    source = tmp_path / "report.csv"
    source.write_bytes(b"id,v\n1,2\n")
    target = f"{HOME}/results/report.csv"
    op = LocalToIrodsOperator(task_id="up", source_path=str(source), destination_path=target)
    assert op.execute({})["transferred"] == 1
    assert session.data_objects.read(target) == b"id,v\n1,2\n"
    assert ol(op) == ([("file", str(source))], [(ZONE_NS, target)])
    assert collected(collector, op) == (
        [f"file://{source}"],
        ["irods://tempZone/home/rods/results/report.csv"],
    )

    # A rerun that finds the object identical still names the datasets; a dry run names none.
    again = LocalToIrodsOperator(
        task_id="again", source_path=str(source), destination_path=target, skip="checksum"
    )
    assert again.execute({})["skipped"] == 1
    assert ol(again) == ([("file", str(source))], [(ZONE_NS, target)])
    planned = LocalToIrodsOperator(
        task_id="plan", source_path=str(source), destination_path=f"{HOME}/other.csv", plan_only=True
    )
    planned.execute({})
    assert ol(planned) == ([], [])


def test_local_to_irods_partial_failure_names_only_copied_files(tmp_path: Path, session, collector) -> None:
    for name in ("a.bin", "b.bin", "c.bin"):
        (tmp_path / "src" / name).parent.mkdir(exist_ok=True)
        (tmp_path / "src" / name).write_bytes(name.encode() * 100)
    session.collections.create(f"{HOME}/part", intermediates=True)
    session.data_objects.write(f"{HOME}/part/b.bin", b"already here")
    op = LocalToIrodsOperator(
        task_id="up",
        source_path=str(tmp_path / "src"),
        destination_path=f"{HOME}/part",
        continue_on_error=True,
        max_concurrent_files=1,
    )
    with pytest.raises(IrodsError, match="1 of 3 files failed"):
        op.execute({})
    assert session.data_objects.read(f"{HOME}/part/b.bin") == b"already here"
    src = tmp_path / "src"
    assert ol(op) == (
        [("file", str(src / "a.bin")), ("file", str(src / "c.bin"))],
        [(ZONE_NS, f"{HOME}/part/a.bin"), (ZONE_NS, f"{HOME}/part/c.bin")],
    )
    assert collected(collector, op)[1] == [
        "irods://tempZone/home/rods/part/a.bin",
        "irods://tempZone/home/rods/part/c.bin",
    ]


def test_irods_to_local_glob(tmp_path: Path, session, collector) -> None:
    session.collections.create(f"{HOME}/data/2024", intermediates=True)
    session.data_objects.write(f"{HOME}/data/2024/jan.csv", b"j")
    session.data_objects.write(f"{HOME}/data/2024/feb.csv", b"f")
    session.data_objects.write(f"{HOME}/data/2024/notes.txt", b"n")
    op = IrodsToLocalOperator(
        task_id="down", source_path=f"{HOME}/data/**/*.csv", glob=True, destination_path=str(tmp_path / "dl")
    )
    assert op.execute({})["transferred"] == 2
    dl = tmp_path / "dl"
    assert (dl / "2024/jan.csv").read_bytes() == b"j"
    assert ol(op) == (
        [(ZONE_NS, f"{HOME}/data/2024/feb.csv"), (ZONE_NS, f"{HOME}/data/2024/jan.csv")],
        [("file", str(dl / "2024/feb.csv")), ("file", str(dl / "2024/jan.csv"))],
    )
    assert collected(collector, op) == (
        ["irods://tempZone/home/rods/data/2024/feb.csv", "irods://tempZone/home/rods/data/2024/jan.csv"],
        [f"file://{dl}/2024/feb.csv", f"file://{dl}/2024/jan.csv"],
    )


def test_openlineage_reads_hook_lineage_through_our_converter(tmp_path: Path, session, collector) -> None:
    """What the OpenLineage provider makes of the collected assets (operators without facets rely on it)."""
    from airflow.providers.openlineage.extractors.manager import ExtractorManager

    source = tmp_path / "in.txt"
    source.write_bytes(b"hello")
    LocalToIrodsOperator(task_id="up", source_path=str(source), destination_path=f"{HOME}/hl/in.txt").execute(
        {}
    )
    lineage = ExtractorManager().get_hook_lineage()
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("file", str(source))]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [(ZONE_NS, f"{HOME}/hl/in.txt")]


def test_asset_alias_outlet_gets_an_event_per_written_object(remote, session, collector) -> None:
    """Destinations known only at run time: one declared alias, an asset event per object written."""
    from airflow.sdk import Asset, AssetAlias
    from airflow.sdk.execution_time.context import OutletEventAccessors

    remote.put("drop/r1.csv", b"1")
    remote.put("drop/r2.csv", b"2")
    alias, fixed = AssetAlias("irods-drops"), Asset("irods://tempZone/home/rods/declared")
    op = SFTPToIrodsOperator(
        task_id="up",
        sftp_conn_id="cluster",
        source_path=remote.path("drop"),
        destination_path=f"{HOME}/drops",
        outlets=[alias, fixed],
    )
    events = OutletEventAccessors()
    op.execute({"outlet_events": events})
    alias_events = events[alias].asset_alias_events
    assert sorted((e.source_alias_name, e.dest_asset_key.uri) for e in alias_events) == [
        ("irods-drops", "irods://tempZone/home/rods/drops/r1.csv"),
        ("irods-drops", "irods://tempZone/home/rods/drops/r2.csv"),
    ]
    assert events[fixed].asset_alias_events == []


def test_openlineage_extractor_uses_our_facets(tmp_path: Path, session, collector) -> None:
    """The OpenLineage provider's extractor picks get_openlineage_facets_on_complete over hook lineage."""
    from airflow.providers.openlineage.extractors.base import DefaultExtractor
    from airflow.providers.openlineage.extractors.manager import ExtractorManager

    session.collections.create(f"{HOME}/ex", intermediates=True)
    session.data_objects.write(f"{HOME}/ex/e.txt", b"e")
    op = IrodsToLocalOperator(
        task_id="down", source_path=f"{HOME}/ex/e.txt", destination_path=str(tmp_path / "e")
    )
    op.execute({})
    extractor = ExtractorManager()._get_extractor(op)
    assert isinstance(extractor, DefaultExtractor)
    lineage = extractor.extract_on_complete(None)
    assert [(d.namespace, d.name) for d in lineage.inputs] == [(ZONE_NS, f"{HOME}/ex/e.txt")]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [("file", str(tmp_path / "e"))]


def test_outputs_only_lineage_for_write_operators(collector) -> None:
    """What a write operator (create collection, put metadata) would record: outputs only."""
    from irods_provider._lineage import TransferLineageMixin, irods_dataset
    from irods_provider.hooks.irods import IrodsHook

    class Writer(TransferLineageMixin):
        pass

    writer, hook = Writer(), IrodsHook()
    writer.record_lineage(inputs=[], outputs=[irods_dataset("/tempZone/home/rods/new//coll/")], hook=hook)
    lineage = writer.get_openlineage_facets_on_complete(None)
    assert lineage.inputs == []
    assert [(d.namespace, d.name) for d in lineage.outputs] == [(ZONE_NS, f"{HOME}/new/coll")]
    outputs = collector.collected_assets.outputs
    assert [(i.asset.uri, i.context) for i in outputs] == [("irods://tempZone/home/rods/new/coll", hook)]


def test_staging_resolves_the_collector_ahead_and_reports_to_it(
    remote, session, collector, monkeypatch
) -> None:
    """The first lookup of the hook lineage collector (it loads the plugins) runs in a thread started with
    the task, not after the last file; the files still land in that one collector, once each."""
    import threading

    from airflow.sdk import lineage

    lookups: list[str] = []

    def lookup():
        lookups.append(threading.current_thread().name)
        return collector

    monkeypatch.setattr(lineage, "get_hook_lineage_collector", lookup)
    session.data_objects.write(f"{HOME}/ahead.txt", b"ahead")
    op = IrodsToSFTPOperator(
        task_id="down",
        sftp_conn_id="cluster",
        source_path=f"{HOME}/ahead.txt",
        destination_path=remote.path("a/"),
    )
    assert op.execute({})["transferred"] == 1
    assert (remote.dir / "a/ahead.txt").read_bytes() == b"ahead"
    assert lookups[0] == "lineage-warm"
    host_port = remote.namespace.removeprefix("file://")
    assert collected(collector, op) == (
        ["irods://tempZone/home/rods/ahead.txt"],
        [f"sftp://{host_port}{remote.absolute('a/ahead.txt')}"],
    )
