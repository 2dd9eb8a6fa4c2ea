"""The README's "Your first DAG" section, executed as written: its shell block (with the two background
servers and the pasted connection lines) and its DAG file, in a fresh Airflow home."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Your first DAG, tested on your machine"


def _blocks() -> tuple[str, str]:
    text = README.read_text()
    section = text[text.index(SECTION) :]
    section = section[: section.index("\n## ", len(SECTION))]
    shell = re.search(r"```bash\n(.*?)```", section, flags=re.S)
    dag = re.search(r"```python\n(# dags/first_irods_dag.py\n.*?)```", section, flags=re.S)
    assert shell is not None
    assert dag is not None
    return shell.group(1), dag.group(1)


def _automate(shell: str) -> str:
    """What a person does by hand, done by the script: background output to files, then the paste."""
    lines: list[str] = ["set -euo pipefail", "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT"]
    servers = 0
    for line in shell.splitlines():
        command = line.split("  #", 1)[0].rstrip()
        if command.endswith("&"):
            servers += 1
            command = command[:-1].replace("--port 9000", "--port 0") + f"> serve{servers}.log &"
        elif line.startswith("# paste"):
            command = (
                "for log in serve1.log serve2.log; do"
                ' for _ in $(seq 300); do grep -q "^  export AIRFLOW_CONN_" "$log" && break; sleep 0.1; done;'
                ' eval "$(grep "^  export AIRFLOW_CONN_" "$log")"; done'
            )
        lines.append(command)
    assert servers == 2, shell
    return "\n".join(lines) + "\n"


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_the_readme_first_dag_runs_as_written(tmp_path: Path) -> None:
    shell, dag = _blocks()
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "first_irods_dag.py").write_text(dag)
    script = _automate(shell)
    bin_dir = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "IRODS_EMULATOR"))}
    env["PATH"] = f"{bin_dir}:{env.get('PATH', '')}"
    done = subprocess.run(
        ["bash", "-c", script],
        check=False,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=220,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]  # the snippet exits 1 unless the run succeeded
    digest = "sha2:eomI6V41bitbj+z14x98Ln6PtEpc2dieuw0eYLH1xok="  # sha256 of b"1,2,3\n"
    staged = re.search(
        r"transferred /input/run\.csv -> (/tempZone/home/rods/first/(\S+)/run\.csv) \(6 bytes, (\S+)\)",
        output,
    )
    assert staged is not None, output[-4000:]
    assert staged.group(3) == digest
    assert staged.group(2).startswith("manual__")
    assert "+" not in staged.group(2)  # irods_safe_run_id
    collection = staged.group(1).rsplit("/", 1)[0]
    assert f"Listed 1 entries under {collection}" in output
    assert f"Deleted collection {collection} (no trash)" in output
    assert re.search(r"Marking run <DagRun first_irods_dag .*> successful", output)
