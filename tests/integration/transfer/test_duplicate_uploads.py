"""Two live uploads of the same file to the same path (another process, another worker) never share bytes.

The engine names an upload's temporary by the transfer (source identity and destination) so that a retry
resumes it; a second upload of the same file to the same path while the first still writes (an Airflow task
declared a zombie and retried on another worker, or ``.expand`` mapping the same file twice) derived the same
name and took it over at once: it shut the first one's handles down (the first failed with a bare HTTP 400)
and the two wrote, checkpointed and published one object together (the winner's final object kept the
loser's resume record). Now the first upload's lease on its temporary is live, so the second writes through a
fresh name: both publish whole (OVERWRITE: the later rename wins) or exactly one does and the other fails
typed (REFUSE). The second upload runs in a real process while the first is held between two chunks.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from irods_provider.client import EntryKind
from irods_provider.client.transfer import OverwritePolicy, TransferConfig, upload_object
from irods_provider.exceptions import IrodsAlreadyExistsError

ROOT = Path(__file__).resolve().parents[3]
HOME = "/tempZone/home/rods"
BASE = f"{HOME}/dup"
CHUNK = 64 * 1024
CFG = TransferConfig(streams=2, chunk_size=CHUNK, small_file_threshold=CHUNK, backoff_base_seconds=0.0)
WAIT = 60  # a bound on every wait below, never reached unless the test fails

_OTHER_WORKER = textwrap.dedent(
    """
    import sys
    from irods_provider.client import BasicAuth, IrodsSession
    from irods_provider.client.transfer import OverwritePolicy, TransferConfig, upload_object
    from irods_provider.exceptions import IrodsError

    base_url, source, path, policy = sys.argv[1:5]
    cfg = TransferConfig(streams=2, chunk_size=65536, small_file_threshold=65536, backoff_base_seconds=0.0)
    with IrodsSession(base_url, auth=BasicAuth("rods", "rods-emulator")) as session:
        try:
            upload_object(session, source, path, config=cfg, overwrite=OverwritePolicy(policy))
        except IrodsError as exc:
            print(type(exc).__name__)
            sys.exit(3)
    print("ok")
    """
)


@pytest.mark.parametrize("policy", [OverwritePolicy.OVERWRITE, OverwritePolicy.REFUSE])
def test_a_second_live_upload_of_the_same_file_never_takes_the_first_ones_temporary(
    irods_emulator, session, tmp_path, policy
) -> None:
    session.collections.create(BASE)
    data = os.urandom(6 * CHUNK + 11)
    source = tmp_path / "same.bin"
    source.write_bytes(data)
    path = f"{BASE}/same.bin"
    reached, go, outcome = threading.Event(), threading.Event(), {}

    def hold(count: int) -> None:
        if count == 2 * CHUNK:  # its handle and lease are recorded on its temporary
            reached.set()
            assert go.wait(WAIT)

    def first() -> None:
        try:
            outcome["result"] = upload_object(
                session, str(source), path, config=CFG, overwrite=policy, on_chunk=hold
            )
        except Exception as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=first, name="first-upload", daemon=True)
    thread.start()
    try:
        assert reached.wait(WAIT), outcome
        other = subprocess.run(
            [sys.executable, "-c", _OTHER_WORKER, irods_emulator.base_url, str(source), path, policy.value],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=WAIT,
            check=False,
        )
    finally:
        go.set()
        thread.join(WAIT)
    assert (other.returncode, other.stdout.strip()) == (0, "ok"), other.stderr[-2000:]
    if policy is OverwritePolicy.OVERWRITE:
        assert "error" not in outcome, outcome  # both published whole; the later rename's bytes stay
    else:
        assert isinstance(outcome.get("error"), IrodsAlreadyExistsError), outcome  # exactly one wins
    assert session.data_objects.read(path) == data
    records = [a.attribute for a in session.metadata.list(path, kind=EntryKind.DATA_OBJECT)]
    assert records == [], records  # no writer's records published with it
    with irods_emulator.model.lock:
        left = sorted(p for p in irods_emulator.model.data_objects if p.startswith(BASE + "/"))
    assert left == [path]  # no temporary of either left behind
