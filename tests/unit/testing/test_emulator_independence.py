"""The emulator stands apart from the code it is used to test (design.md): importing every module of
``irods_provider.testing`` loads none of the provider's client, SFTP or Airflow layers, so a bug there can
never make the emulator agree with it."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import irods_provider.testing as testing

#: The package itself (its version string; it imports nothing).
ALLOWED = ("irods_provider", "irods_provider._version")


def test_importing_every_emulator_module_loads_no_provider_code() -> None:
    names = [m.name for m in pkgutil.iter_modules(testing.__path__) if m.name != "__main__"]  # runs the CLI
    modules = sorted(f"irods_provider.testing.{name}" for name in names)
    assert "irods_provider.testing._server" in modules
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('irods_provider'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    foreign = [m for m in loaded if not m.startswith("irods_provider.testing") and m not in ALLOWED]
    assert foreign == []


def test_the_emulator_and_the_client_agree_on_every_error_code_both_name() -> None:
    """The two tables are kept apart (a wrong code in one must not pass unseen through both): each name they
    share has one number, as iRODS' rodsErrorTable.h gives it."""
    from irods_provider._error_codes import IRODS_ERROR_CODES as CLIENT
    from irods_provider.testing._error_table import IRODS_ERROR_CODES as EMULATOR

    shared = sorted(set(CLIENT) & set(EMULATOR))
    assert len(shared) >= 70
    assert {n: CLIENT[n] for n in shared} == {n: EMULATOR[n] for n in shared}
    # Spot values from rodsErrorTable.h at 4.3.4 (NEW_ERROR lines 243, 460 and the HTTP API's stat answer).
    assert EMULATOR["INVALID_HANDLE"] == -175000
    assert EMULATOR["CAT_NO_ROWS_FOUND"] == -808000
    assert EMULATOR["SYS_NO_GOOD_REPLICA"] == -166000
