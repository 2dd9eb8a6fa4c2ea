"""Lineage of the write operators: create, copy and move name exactly the iRODS datasets they touched."""

from __future__ import annotations

from irods_provider.operators.irods import IrodsCopyOperator, IrodsCreateCollectionOperator, IrodsMoveOperator

HOME = "/tempZone/home/rods"
ZONE_NS = "irods://tempZone"


def ol(operator) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    lineage = operator.get_openlineage_facets_on_complete(None)
    return (
        sorted((d.namespace, d.name) for d in lineage.inputs),
        sorted((d.namespace, d.name) for d in lineage.outputs),
    )


def outputs(collector) -> list[str]:
    return sorted(i.asset.uri for i in collector.collected_assets.outputs)


def test_create_copy_move_report_their_datasets(session, collector) -> None:
    create = IrodsCreateCollectionOperator(task_id="create", path=f"{HOME}/lin/raw")
    assert ol(create) == ([], [])
    create.execute({})
    assert ol(create) == ([], [(ZONE_NS, f"{HOME}/lin/raw")])

    session.data_objects.write(f"{HOME}/lin/raw/a.csv", b"a,1\n")
    copy = IrodsCopyOperator(
        task_id="copy", source_path=f"{HOME}/lin/raw/a.csv", destination_path=f"{HOME}/lin/b.csv"
    )
    copy.execute({})
    assert ol(copy) == ([(ZONE_NS, f"{HOME}/lin/raw/a.csv")], [(ZONE_NS, f"{HOME}/lin/b.csv")])

    move = IrodsMoveOperator(
        task_id="move", source_path=f"{HOME}/lin/b.csv", destination_path=f"{HOME}/lin/c.csv"
    )
    move.execute({})
    assert ol(move) == ([(ZONE_NS, f"{HOME}/lin/b.csv")], [(ZONE_NS, f"{HOME}/lin/c.csv")])
    assert session.data_objects.read(f"{HOME}/lin/c.csv") == b"a,1\n"
    assert outputs(collector) == [
        "irods://tempZone/home/rods/lin/b.csv",
        "irods://tempZone/home/rods/lin/c.csv",
        "irods://tempZone/home/rods/lin/raw",
    ]
