"""ObjectStoragePath reads and writes on ``irods://`` with hook lineage enabled (any plugin with a hook
lineage reader, OpenLineage's included). Airflow reports each ``open()``'d file by ``str(path)``
(airflow/sdk/io/path.py ``_TrackingFileWrapper``): ``irods://<conn_id>@/<zone>/<path>``, or
``irods:///<zone>/<path>`` without a connection id. The ``irods`` asset handler refused both forms (user
information, no zone as host) with a ValueError raised from ``read()``/``write()`` themselves, so every
such read or write failed; now both name the asset :func:`asset_uri` gives the logical path, the one the
operators' lineage names (percent-encoded alike)."""

from __future__ import annotations

import pytest

from irods_provider.assets.irods import asset_uri

HOME = "/tempZone/home/rods"
NAME = "Run 1/data ü.csv"


def uris(infos) -> list[str]:
    return sorted(i.asset.uri for i in infos)


@pytest.mark.parametrize(
    "base", ["irods://irods_default@/tempZone/home/rods/osp", "irods:///tempZone/home/rods/osp"]
)
def test_object_storage_reads_and_writes_report_the_logical_path(irods, session, collector, base) -> None:
    from airflow.sdk import ObjectStoragePath

    path = ObjectStoragePath(base) / NAME
    with path.open("wb") as f:
        f.write(b"sample,reads\nA1,1200\n")
    with path.open("rb") as f:
        assert f.read() == b"sample,reads\nA1,1200\n"
    logical = f"{HOME}/osp/{NAME}"
    assert session.data_objects.read(logical) == b"sample,reads\nA1,1200\n"
    expected = asset_uri(logical)
    assert expected == "irods://tempZone/home/rods/osp/Run%201/data%20%C3%BC.csv"
    assert uris(collector.collected_assets.outputs) == [expected]
    assert uris(collector.collected_assets.inputs) == [expected]
