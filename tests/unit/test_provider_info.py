from __future__ import annotations

from importlib.metadata import entry_points

import irods_provider


def test_entry_point_points_at_get_provider_info() -> None:
    (ep,) = [
        ep
        for ep in entry_points(group="apache_airflow_provider")
        if ep.dist and ep.dist.name == "airflow-provider-irods"
    ]
    assert ep.load() is irods_provider.get_provider_info


def test_package_name_matches_distribution() -> None:
    info = irods_provider.get_provider_info()
    assert info["package-name"] == "airflow-provider-irods"
    assert info["versions"] == [irods_provider.__version__]


def test_providers_manager_discovers_us() -> None:
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert "airflow-provider-irods" in manager.providers
    provider = manager.providers["airflow-provider-irods"]
    assert provider.version == irods_provider.__version__
