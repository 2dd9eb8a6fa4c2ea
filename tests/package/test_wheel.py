"""The built wheel installs clean: a fresh virtualenv with the locked dependencies, checked from outside.

Nothing here imports the source tree: every check runs in the new environment with a temporary directory as
its working directory, so ``import irods_provider`` can only find the installed wheel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

import irods_provider

ROOT = Path(__file__).resolve().parents[2]
UV = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")
pytestmark = pytest.mark.timeout(300)

#: Run inside the new environment: what Airflow and importlib see of the installed provider.
PROBE = r"""
import importlib.metadata as md, json, pathlib
import irods_provider
from airflow.providers_manager import ProvidersManager

manager = ProvidersManager()
provider = manager.providers.get("airflow-provider-irods")
dist = md.distribution("airflow-provider-irods")
groups = ("apache_airflow_provider", "fsspec.specs", "universal_pathlib.implementations")
print(json.dumps({
    "file": irods_provider.__file__,
    "version": irods_provider.__version__,
    "dist_version": dist.version,
    "provider_version": provider.version if provider else None,
    "hook": manager.hooks["irods"].hook_class_name if manager.hooks.get("irods") else None,
    "py_typed": (pathlib.Path(irods_provider.__file__).parent / "py.typed").is_file(),
    "entry_points": {
        g: sorted(f"{e.name}={e.value}" for e in dist.entry_points if e.group == g) for g in groups
    },
    "license_expression": dist.metadata.get("License-Expression"),
    "license_files": dist.metadata.get_all("License-File"),
    "fsspec": __import__("fsspec").get_filesystem_class("irods").__name__,
}))
"""


@dataclass(frozen=True)
class Installed:
    wheel: Path
    sdist: Path
    python: Path
    workdir: Path


def _run(*args: str | Path, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=True
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """``uv build`` → ``uv venv`` → ``uv pip install`` of the wheel, constrained to ``uv.lock``'s versions."""
    work = tmp_path_factory.mktemp("wheel")
    dist = work / "dist"
    _run(UV, "build", "--wheel", "--sdist", "--out-dir", dist, ROOT, cwd=ROOT)
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    constraints = work / "constraints.txt"
    _run(
        UV, "export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes", "-o", constraints, cwd=ROOT
    )
    venv = work / "venv"
    _run(UV, "venv", "--quiet", "--python", sys.executable, venv, cwd=work)
    python = venv / "bin" / "python"
    _run(UV, "pip", "install", "--quiet", "--python", python, "-c", constraints, wheel, cwd=work)
    return Installed(wheel=wheel, sdist=sdist, python=python, workdir=work)


def test_wheel_and_sdist_are_named_after_the_single_version(installed) -> None:
    version = irods_provider.__version__
    assert installed.wheel.name == f"airflow_provider_irods-{version}-py3-none-any.whl"
    assert installed.sdist.name == f"airflow_provider_irods-{version}.tar.gz"
    with tarfile.open(installed.sdist) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    assert {"pyproject.toml", "LICENSE", "README.md", "CHANGELOG.md", "irods_provider/__init__.py"} <= names


def test_wheel_holds_only_the_packages_no_tests_or_benchmarks(installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = wheel.namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert tops == {
        "irods_provider",
        "airflow_provider_irods",
        f"airflow_provider_irods-{irods_provider.__version__}.dist-info",
    }
    assert not [
        n for n in names if "/tests/" in n or "benchmark" in n or n.rsplit("/", 1)[-1].startswith("test_")
    ]
    assert "irods_provider/py.typed" in names
    assert "irods_provider/testing/__main__.py" in names  # the emulator ships: DAG authors test with it


def test_installed_provider_is_discovered_typed_and_licensed(installed) -> None:
    out = _run(installed.python, "-c", PROBE, cwd=installed.workdir, timeout=120).stdout
    found = json.loads(out.strip().splitlines()[-1])
    assert found["file"].startswith(str(installed.python.parent.parent))  # the wheel, not the source tree
    assert (
        found["version"] == found["dist_version"] == found["provider_version"] == irods_provider.__version__
    )
    assert found["hook"] == "irods_provider.hooks.irods.IrodsHook"
    assert found["py_typed"] is True
    assert found["entry_points"] == {
        "apache_airflow_provider": ["provider_info=irods_provider:get_provider_info"],
        "fsspec.specs": ["irods=irods_provider.fs.irods:IrodsFileSystem"],
        "universal_pathlib.implementations": ["irods=irods_provider.fs._upath:IrodsPath"],
    }
    assert found["license_expression"] == "Apache-2.0"
    assert found["license_files"] == ["LICENSE"]
    assert found["fsspec"] == "IrodsFileSystem"


def test_emulator_cli_runs_from_the_wheel(installed) -> None:
    result = _run(installed.python, "-m", "irods_provider.testing", "serve", "--help", cwd=installed.workdir)
    assert result.stdout.startswith("usage: python -m irods_provider.testing serve")
    assert "--port" in result.stdout
    assert "--zone" in result.stdout
