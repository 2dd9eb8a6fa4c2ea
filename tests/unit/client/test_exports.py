import subprocess
import sys
import types
from pathlib import Path

import irods_provider.client as client


def test_all_is_sorted_and_complete():
    # Subpackages (``transfer``) become attributes once imported; they are not re-exported names.
    public = {
        name
        for name, value in vars(client).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    } - {"annotations"}
    assert client.__all__ == sorted(
        client.__all__, key=lambda n: (not n.isupper(), n)
    ) or client.__all__ == sorted(client.__all__)
    assert set(client.__all__) == public


def test_reexported_classes_report_package_module():
    for name in client.__all__:
        obj = getattr(client, name)
        if isinstance(obj, type):
            assert obj.__module__ == "irods_provider.client", name


def test_sync_twin_is_generated_from_async_source():
    script = Path(client.__file__).parent / "_unasync.py"
    result = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr


def test_importing_the_client_loads_neither_airflow_nor_authlib():
    # authlib is needed only once an OpenID source asks for a token; Airflow never.
    code = "import sys, irods_provider.client; print(sorted({m.split('.')[0] for m in sys.modules}))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    loaded = result.stdout
    assert "'httpx2'" in loaded
    assert "'airflow'" not in loaded
    assert "'authlib'" not in loaded
