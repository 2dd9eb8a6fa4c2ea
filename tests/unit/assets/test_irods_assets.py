"""iRODS asset URIs: normalisation, rejection messages, factory, OpenLineage naming and transfer lineage."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from irods_provider import _lineage
from irods_provider.assets import (
    asset_uri,
    convert_asset_to_openlineage,
    create_asset,
    logical_path,
    openlineage_name,
    sanitize_uri,
)


@pytest.fixture
def irods_asset_scheme(monkeypatch):
    """Register the ``irods`` scheme as the provider info will (until the lead adds ``asset-uris``)."""
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    manager = ProvidersManagerTaskRuntime()
    monkeypatch.setitem(manager.asset_uri_handlers, "irods", sanitize_uri)
    monkeypatch.setitem(manager.asset_factories, "irods", create_asset)
    return manager


@pytest.mark.parametrize(
    ("uri", "normalised"),
    [
        ("irods://tempZone/home/rods/out.csv", "irods://tempZone/home/rods/out.csv"),
        ("irods://tempZone/home/rods/dir/", "irods://tempZone/home/rods/dir"),
        ("IRODS://tempZone/home/rods/x", "irods://tempZone/home/rods/x"),
        ("irods://other.zone-2/a b/c", "irods://other.zone-2/a%20b/c"),  # as asset_uri encodes it
        ("irods://tempZone/home/%C3%BC%20x", "irods://tempZone/home/%C3%BC%20x"),
        ("irods://tempZone/home/ü x", "irods://tempZone/home/%C3%BC%20x"),
        # the filesystem's URLs (ObjectStoragePath's str, which Airflow reports to hook lineage)
        ("irods:///tempZone/home/rods/x", "irods://tempZone/home/rods/x"),
        ("irods://irods_default@/tempZone/home/rods/x", "irods://tempZone/home/rods/x"),
    ],
)
def test_valid_uris_are_normalised(uri, normalised):
    assert sanitize_uri(urlsplit(uri)).geturl() == normalised


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("irods:///", "the zone is missing"),
        ("irods://conn@/tempZone", "a path inside the zone is required"),
        ("irods://tempZone/home/%2E%2E/etc", "relative segment '..' is not allowed"),
        ("irods://tempZone", "a path inside the zone is required"),
        ("irods://tempZone/", "a path inside the zone is required"),
        ("irods://tempZone/home//rods", "empty path segments ('//') are not allowed"),
        ("irods://tempZone/home/../etc", "relative segment '..' is not allowed"),
        ("irods://tempZone/home/./x", "relative segment '.' is not allowed"),
        ("irods://tempZone/home/x?replica=1", "a query string is not allowed"),
        ("irods://tempZone/home/x#frag", "a fragment is not allowed"),
        ("irods://rods@tempZone/home/x", "user information is not allowed"),
        ("irods://tempZone:1247/home/x", "'tempZone:1247' is not a valid zone name"),
        ("s3://bucket/key", "the scheme must be 'irods'"),
    ],
)
def test_invalid_uris_are_rejected_with_the_problem_named(uri, problem):
    with pytest.raises(ValueError, match="Invalid iRODS asset URI") as caught:
        sanitize_uri(urlsplit(uri))
    assert problem in str(caught.value)
    assert "expected irods://<zone>/<path>" in str(caught.value)


def test_airflow_asset_uses_the_handler(irods_asset_scheme):
    from airflow.sdk import Asset

    assert Asset("irods://tempZone/home/rods/out.csv/").uri == "irods://tempZone/home/rods/out.csv"
    with pytest.raises(ValueError, match="empty path segments"):
        Asset("irods://tempZone/home//out.csv")
    assert Asset("irods:///tempZone/home/rods/out.csv").uri == "irods://tempZone/home/rods/out.csv"
    with pytest.raises(ValueError, match="the zone is missing"):
        Asset("irods:///")


def test_factory_and_paths(irods_asset_scheme):
    asset = create_asset(path="/tempZone/home/rods/out.csv", extra={"k": "v"})
    assert asset.uri == "irods://tempZone/home/rods/out.csv"
    assert asset.extra == {"k": "v"}
    assert create_asset(path="/home/rods/x", zone="tempZone").uri == "irods://tempZone/home/rods/x"
    assert asset_uri("/tempZone//home/rods/") == "irods://tempZone/home/rods"
    assert logical_path("irods://tempZone/home/rods/x") == "/tempZone/home/rods/x"
    with pytest.raises(ValueError, match=r"expected /<zone>/<path>"):
        asset_uri("/tempZone")


def test_openlineage_naming():
    from airflow.sdk import Asset

    assert openlineage_name("irods://tempZone/home/rods/x") == ("irods://tempZone", "/tempZone/home/rods/x")
    ds = convert_asset_to_openlineage(Asset("irods://tempZone/home/rods/x"), None)
    assert (ds.namespace, ds.name) == ("irods://tempZone", "/tempZone/home/rods/x")


def test_transfer_lineage_sftp_to_irods_and_back():
    inputs, outputs = _lineage.transfer_lineage(
        sources=["sftp://hpc.example.org:2222/scratch/run1/a.h5", "sftp://hpc.example.org/scratch/b.h5"],
        destinations=["irods://tempZone/home/rods/run1/a.h5", "irods://tempZone/home/rods/run1/a.h5"],
    )
    assert [(d.namespace, d.name) for d in inputs] == [
        ("file://hpc.example.org:2222", "/scratch/run1/a.h5"),
        ("file://hpc.example.org:22", "/scratch/b.h5"),
    ]
    assert [(d.namespace, d.name, d.asset_uri) for d in outputs] == [
        ("irods://tempZone", "/tempZone/home/rods/run1/a.h5", "irods://tempZone/home/rods/run1/a.h5")
    ]
    back_in, back_out = _lineage.transfer_lineage(
        sources=["irods://irods_default@/tempZone/home/rods/r.csv"], destinations=["sftp://h:22/in/r.csv"]
    )
    assert (back_in[0].namespace, back_in[0].name) == ("irods://tempZone", "/tempZone/home/rods/r.csv")
    assert back_out[0].asset_uri == "sftp://h:22/in/r.csv"


@pytest.mark.parametrize(
    ("url", "name"),
    [
        (
            "irods:///otherZone/home/alice#tempZone/results/x.csv",
            "/otherZone/home/alice#tempZone/results/x.csv",
        ),
        ("irods://irods_default@host/tempZone/home/u/run?1.h5", "/tempZone/home/u/run?1.h5"),
        ("irods:///tempZone/home/u/a%20b", "/tempZone/home/u/a%20b"),
        ("IRODS:///tempZone/home/u/c.csv", "/tempZone/home/u/c.csv"),
        # asset style is percent-encoded (asset_uri writes '#' as %23): decoded, as logical_path does
        ("irods://otherZone/home/alice%23tempZone/a%20b", "/otherZone/home/alice#tempZone/a b"),
    ],
)
def test_irods_urls_name_the_path_the_fs_layer_addresses(url, name):
    from irods_provider.fs._paths import strip_protocol

    ds = _lineage.dataset_for_url(url)
    assert ds.name == name
    if url.startswith("irods:") and (
        "@" in url or ":///" in url
    ):  # ObjectStoragePath style: the very path the fs layer works on
        assert ds.name == strip_protocol(url)
    inputs, _ = _lineage.transfer_lineage(sources=[url], destinations=[])
    assert inputs[0].name == name


def test_local_datasets_and_assets(tmp_path):
    local = tmp_path / "x.csv"
    for given in (str(local), f"file://{local}"):
        ds = _lineage.dataset_for_url(given)
        assert (ds.namespace, ds.name, ds.asset_uri) == ("file", str(local), f"file://{local}")
    irods = _lineage.irods_dataset("/tempZone/home/rods/x.csv")
    assets = _lineage.transfer_assets([irods, _lineage.LineageDataset("n", "m")])
    assert [a.uri for a in assets] == ["irods://tempZone/home/rods/x.csv"]
    with pytest.raises(ValueError, match="no lineage naming"):
        _lineage.dataset_for_url("gs://bucket/key")


def test_operator_lineage_for_a_staging_run():
    inputs, outputs = _lineage.transfer_lineage(
        sources=["sftp://hpc:22/scratch/a.h5"], destinations=["irods://tempZone/home/rods/a.h5"]
    )
    lineage = _lineage.operator_lineage(inputs=inputs, outputs=outputs)
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("file://hpc:22", "/scratch/a.h5")]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [
        ("irods://tempZone", "/tempZone/home/rods/a.h5")
    ]


def test_operator_lineage_is_none_without_openlineage(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "airflow.providers.openlineage.extractors", None)
    ds = _lineage.irods_dataset("/tempZone/home/rods/x")
    assert _lineage.operator_lineage(inputs=[ds], outputs=[ds]) is None


@pytest.mark.parametrize(
    "url",
    [
        "irods:///tempZone/home/u/a%20b",
        "irods://irods_default@/tempZone/home/u/100%25 [x] é",
        # Airflow normalises what follows '?' as a query (parse_qsl: a part without '=' is dropped)
        "irods:///tempZone/home/u/run?x=1.h5",
        "irods://c@/tempZone/home/u/a+b%41",
    ],
)
def test_a_filesystem_url_names_the_asset_of_the_path_the_filesystem_addresses(url: str) -> None:
    """The asset Airflow makes of an ObjectStoragePath URL names the path its lineage dataset names."""
    from airflow.sdk import Asset

    uri = Asset(uri=url).uri
    assert logical_path(uri) == _lineage.dataset_for_url(url).name
    assert Asset(uri=uri).uri == uri  # stored and read back, the asset stays the same
