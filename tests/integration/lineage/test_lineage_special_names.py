"""Lineage of names a URI cannot carry literally: a federated home (``alice#otherZone``), ``+``, ``%``, a
space, ``[`` and non-ASCII. Every asset URI the provider reports must name the exact logical path again
(:func:`logical_path`), through Airflow's own asset URI normalisation, and OpenLineage must name it."""

from __future__ import annotations

from pathlib import Path

import pytest

from irods_provider.assets.irods import asset_uri, logical_path
from irods_provider.operators.transfer import LocalToIrodsOperator

HOME = "/tempZone/home/rods"
# A federated user's home as iRODS names it, holding a file with each awkward character ('+' only where
# the provider writes it: its transfer operators refuse '+', which GET requests would turn into a space).
FED = f"{HOME}/alice#otherZone"
NAME = "a b%41[1]é.csv"
PLUS = "a+b c%41[1]é.csv"


def test_an_upload_into_a_federated_home_reports_the_exact_path(tmp_path: Path, session, collector) -> None:
    from airflow.providers.openlineage.extractors.manager import ExtractorManager
    from airflow.sdk import Asset, AssetAlias
    from airflow.sdk.execution_time.context import OutletEventAccessors

    source = tmp_path / "in.csv"
    source.write_bytes(b"x,y\n")
    target = f"{FED}/{NAME}"
    alias = AssetAlias("fed-drops")
    op = LocalToIrodsOperator(task_id="up", source_path=str(source), destination_path=target, outlets=[alias])
    events = OutletEventAccessors()
    op.execute({"outlet_events": events})
    assert session.data_objects.read(target) == b"x,y\n"

    [written] = [info.asset for info in collector.collected_assets.outputs]
    assert written.uri == "irods://tempZone/home/rods/alice%23otherZone/a%20b%2541%5B1%5D%C3%A9.csv"
    assert logical_path(written.uri) == target
    assert Asset(uri=written.uri).uri == written.uri  # Airflow's normalisation keeps it as it is
    [event] = events[alias].asset_alias_events
    assert logical_path(event.dest_asset_key.uri) == target

    openlineage = op.get_openlineage_facets_on_complete(None)
    assert [(d.namespace, d.name) for d in openlineage.outputs] == [("irods://tempZone", target)]
    from_hooks = ExtractorManager().get_hook_lineage()
    assert [(d.namespace, d.name) for d in from_hooks.outputs] == [("irods://tempZone", target)]


@pytest.mark.parametrize(
    "base", ["irods://irods_default@/tempZone/home/rods/osp", "irods:///tempZone/home/rods/osp"]
)
def test_object_storage_urls_take_percent_literally_as_the_filesystem_does(
    irods, session, collector, base
) -> None:
    """ObjectStoragePath reads ``%41`` in a URL as the three characters (the fs layer's rule), so the asset
    Airflow reports by ``str(path)`` must name ``%41`` too, not ``A``."""
    from airflow.sdk import ObjectStoragePath

    path = ObjectStoragePath(f"{base}/{PLUS}")
    with path.open("wb") as f:
        f.write(b"osp")
    logical = f"{HOME}/osp/{PLUS}"
    assert session.collections.list(f"{HOME}/osp") == [logical]
    [written] = [info.asset for info in collector.collected_assets.outputs]
    assert written.uri == asset_uri(logical)
    assert logical_path(written.uri) == logical


def test_an_object_storage_name_with_a_question_mark_is_written_and_named_whole(
    irods, session, collector
) -> None:
    """Airflow parses a ``?`` in the URL it reports for an ObjectStoragePath as a query before the provider
    sees it (airflow/sdk/definitions/asset.py ``_sanitize_uri``); the asset handler refused the query, so
    with hook lineage on the write itself failed. The filesystem reads it as part of the name, so must the
    asset."""
    from airflow.providers.openlineage.extractors.manager import ExtractorManager
    from airflow.sdk import ObjectStoragePath

    logical = f"{HOME}/osp2/q?x=1.csv"
    with ObjectStoragePath(f"irods://irods_default@{logical}").open("wb") as f:
        f.write(b"osp")
    assert session.collections.list(f"{HOME}/osp2") == [logical]
    [written] = [info.asset for info in collector.collected_assets.outputs]
    assert written.uri == "irods://tempZone/home/rods/osp2/q%3Fx=1.csv"
    from_hooks = ExtractorManager().get_hook_lineage()
    assert [(d.namespace, d.name) for d in from_hooks.outputs] == [("irods://tempZone", logical)]
