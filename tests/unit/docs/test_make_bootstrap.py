"""The README's first commands install uv themselves, also where pip refuses to install outside a venv.

Debian 12's own Python is marked externally managed (PEP 668): ``pip install --user uv`` and ``pip install
uv`` both stop with ``externally-managed-environment`` unless ``--break-system-packages`` is given. The
stand-in ``python3`` below answers as that pip does, so ``make bootstrap`` runs offline in a throwaway HOME.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

# Exits as Debian's pip does (status 1, the PEP 668 error) unless allowed; then "installs" uv in ~/.local/bin.
FAKE_PYTHON = """#!/bin/bash
echo "$*" >> "$HOME/pip-calls"
case " $* " in
  *" --break-system-packages "*) ;;
  *) echo "error: externally-managed-environment" >&2; exit 1 ;;
esac
case " $* " in *" --user "*) ;; *) echo "not a --user install" >&2; exit 1 ;; esac
/bin/mkdir -p "$HOME/.local/bin" && printf '#!/bin/sh\\necho uv 0.0.0\\n' > "$HOME/.local/bin/uv"
/bin/chmod +x "$HOME/.local/bin/uv"
"""


@pytest.mark.timeout(60)
def test_make_bootstrap_installs_uv_where_pip_is_externally_managed(tmp_path: Path) -> None:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    home, bin_dir = tmp_path / "home", tmp_path / "bin"
    home.mkdir()
    bin_dir.mkdir()
    (bin_dir / "make").symlink_to(make)
    python = bin_dir / "python3"
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)

    done = subprocess.run(
        [make, "-C", str(ROOT), "--no-print-directory", "bootstrap"],
        env={"HOME": str(home), "PATH": str(bin_dir)},  # no uv anywhere on PATH
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert (home / ".local" / "bin" / "uv").is_file()
    calls = (home / "pip-calls").read_text().splitlines()
    assert calls[-1].split() == ["-m", "pip", "install", "--quiet", "--user", "--break-system-packages", "uv"]
