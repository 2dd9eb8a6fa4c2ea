"""Airflow assets for iRODS: ``irods://<zone>/<path>`` URIs, their factory and OpenLineage naming."""

from __future__ import annotations

from irods_provider.assets.irods import (
    asset_uri,
    convert_asset_to_openlineage,
    create_asset,
    logical_path,
    openlineage_name,
    sanitize_uri,
)

__all__ = [
    "asset_uri",
    "convert_asset_to_openlineage",
    "create_asset",
    "logical_path",
    "openlineage_name",
    "sanitize_uri",
]
