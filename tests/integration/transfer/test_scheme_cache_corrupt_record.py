"""A kept checksum scheme is a hint: a record damaged on disk must never fail an upload.

The records live in a private local directory (``checksum-schemes`` under the provider's state directory)
and are read by every process's first upload to a zone. Valid JSON that Python's reader turns into an
integer too large for a float (``"learned": 1e400`` written as digits) raised OverflowError from the age
check, and JSON nested deeper than the interpreter's recursion limit raised RecursionError from the reader:
each failed every upload of the worker, at once and for good (the record never aged out).
"""

from __future__ import annotations

import base64
import hashlib
import io

import pytest

from irods_provider.client import BasicAuth, IrodsSession, RetryPolicy
from irods_provider.client._state_store import StateStore
from irods_provider.client.transfer import TransferConfig, upload_object
from irods_provider.client.transfer._scheme_cache import CACHE_ENV, origin_of

HOME = "/tempZone/home/rods"
CFG = TransferConfig(chunk_size=64 * 1024, backoff_base_seconds=0.0)
DATA = bytes(range(256)) * 512

DAMAGED = {
    "learned beyond a float": '{"v": 1, "scheme": "sha256", "learned": 1' + "0" * 400 + "}",
    "nested past the recursion limit": '{"v": 1, "scheme": ' + "[" * 100_000 + "]" * 100_000 + "}",
}


@pytest.mark.parametrize("text", DAMAGED.values(), ids=DAMAGED.keys())
def test_an_upload_over_a_damaged_record_is_verified_and_published(
    irods_emulator, monkeypatch: pytest.MonkeyPatch, tmp_path, text: str
) -> None:
    monkeypatch.setenv(CACHE_ENV, "on")
    monkeypatch.setenv("IRODS_PROVIDER_STATE_DIR", str(tmp_path / "state"))
    kept = tmp_path / "state" / "checksum-schemes"
    kept.mkdir(parents=True, mode=0o700)
    with IrodsSession(
        irods_emulator.base_url,
        auth=BasicAuth("rods", "rods-emulator"),
        retry=RetryPolicy(initial_backoff=0.0, max_backoff=0.0),
    ) as session:
        record = kept / f"{StateStore.key(origin_of(session), 'tempZone')}.json"
        record.write_text(text, encoding="utf-8")
        result = upload_object(session, io.BytesIO(DATA), f"{HOME}/kept.bin", size=len(DATA), config=CFG)
        assert session.data_objects.read(f"{HOME}/kept.bin") == DATA
    assert result.checksum == "sha2:" + base64.b64encode(hashlib.sha256(DATA).digest()).decode()
    assert '"sha256"' in record.read_text(encoding="utf-8")  # what the zone answered replaced it


def test_an_upload_where_no_home_directory_can_be_found_keeps_nothing_and_succeeds(
    irods_emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A container running under a uid with no passwd entry and no HOME (nor XDG_STATE_HOME, nor
    IRODS_PROVIDER_STATE_DIR): ``Path.home()`` raises RuntimeError, which the cache's directory lookup let
    out of every upload."""
    import pwd

    def no_entry(uid: int) -> pwd.struct_passwd:
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    monkeypatch.setenv(CACHE_ENV, "on")
    for name in ("HOME", "XDG_STATE_HOME", "IRODS_PROVIDER_STATE_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    with IrodsSession(
        irods_emulator.base_url,
        auth=BasicAuth("rods", "rods-emulator"),
        retry=RetryPolicy(initial_backoff=0.0, max_backoff=0.0),
    ) as session:
        result = upload_object(session, io.BytesIO(DATA), f"{HOME}/homeless.bin", size=len(DATA), config=CFG)
        assert session.data_objects.read(f"{HOME}/homeless.bin") == DATA
    assert result.checksum == "sha2:" + base64.b64encode(hashlib.sha256(DATA).digest()).decode()
