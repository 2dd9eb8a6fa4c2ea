"""An upload's temporary object keeps its final name's extension at its end
(``.<name>.irods-part-<key>.<ext>``): iRODS 4.3 fires ``acPostProcForPut`` when an object opened for create
is closed (rsDataObjClose.cpp:96-100 at 4.3.4), on the temporary, so a site policy keyed on ``*.fits`` must
see ``.fits`` there. Temporaries of the previous form (no extension after the key) are still resumed,
cleaned and hidden. Bytes checked by SHA-256."""

from __future__ import annotations

import base64
import hashlib
import io
import threading
import time

import pytest

from irods_provider.client import AVU, EntryKind
from irods_provider.client._paths import NAME_MAX, is_temporary_name, temporary_name
from irods_provider.client._temporaries import RESUME_ATTRIBUTE
from irods_provider.client.transfer import TransferConfig, upload_object
from irods_provider.exceptions import IrodsConnectionError

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024
CFG = TransferConfig(streams=2, chunk_size=CHUNK, small_file_threshold=CHUNK, backoff_base_seconds=0.0)
WAIT = 20.0  # seconds a held write may take to be reached (a failure, not a pace)


def _payload(n: int) -> bytes:
    return (bytes(range(251)) * (n // 251 + 1))[:n]


def _sha256(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def _objects(irods_emulator, parent: str) -> list[str]:
    with irods_emulator.model.lock:
        return sorted(
            p.rsplit("/", 1)[1] for p in irods_emulator.model.data_objects if p.rsplit("/", 1)[0] == parent
        )


@pytest.mark.parametrize(
    ("name", "extension"),
    [("image.fits", ".fits"), ("archive.tar.gz", ".tar.gz"), ("README", ""), (".bashrc", "")],
)
def test_the_temporary_ends_with_the_extension_while_the_upload_runs(
    session, irods_emulator, tmp_path, name, extension
) -> None:
    """The write onto the temporary (one request: the file fits one) is held; meanwhile the only temporary
    under the parent ends with the final name's extension right after its hex key (``.tar.gz`` whole:
    policies on ``*.tar.gz`` match)."""
    parent = f"{HOME}/ext-{len(extension)}-{name.strip('.')}"
    session.collections.create(parent)
    data = _payload(CHUNK // 2 + 5)
    local = tmp_path / "source"
    local.write_bytes(data)
    hold = irods_emulator.hold_writes(f"{parent}/.", prefix=True)
    outcome: list[object] = []
    thread = threading.Thread(
        target=lambda: outcome.append(upload_object(session, str(local), f"{parent}/{name}", config=CFG))
    )
    thread.start()
    try:
        assert hold.wait_reached(WAIT)
        temporaries = [n for n in _objects(irods_emulator, parent) if n != name]
    finally:
        irods_emulator.release_writes()
        thread.join(WAIT)
    assert len(temporaries) == 1, temporaries
    (temp,) = temporaries
    prefix = f".{name}.irods-part-"
    assert temp.startswith(prefix)
    key = temp[len(prefix) : len(temp) - len(extension)]
    assert key, temp
    assert set(key) <= set("0123456789abcdef-"), temp
    assert temp.endswith(extension)
    assert is_temporary_name(temp)
    assert outcome
    assert session.data_objects.calculate_checksum(f"{parent}/{name}") == _sha256(data)
    assert _objects(irods_emulator, parent) == [name]


@pytest.mark.parametrize("name", ["a" * 250 + ".fits", "é" * 125 + ".fits"])
def test_a_long_name_keeps_its_extension_and_fits_name_max(name) -> None:
    """A final name of 255 bytes: its temporary is shortened (a digest of the name kept) yet still ends
    with ``.fits`` right after its key, within 255 bytes, and is still recognised as a temporary."""
    assert len(name.encode()) == NAME_MAX
    temp = temporary_name(name, "part", "0123456789abcdef")
    assert len(temp.encode()) <= NAME_MAX
    assert temp.endswith(".irods-part-0123456789abcdef.fits")
    assert is_temporary_name(temp)


class _FailingSource(io.RawIOBase):
    """Serves ``data`` and raises a reset after ``fail_at`` bytes."""

    def __init__(self, data: bytes, fail_at: int | None) -> None:
        self.buf = io.BytesIO(data)
        self.fail_at = fail_at

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:  # type: ignore[override]
        if self.fail_at is not None and self.buf.tell() >= self.fail_at:
            raise IrodsConnectionError("injected reset")
        return self.buf.read(n)


def test_an_interrupted_upload_resumes_its_temporary_with_the_extension(session, irods_emulator) -> None:
    """An interrupted upload leaves ``.<name>.irods-part-<key>.fits``: the next attempt resumes it from its
    recorded prefix, publishes the right bytes and leaves no temporary."""
    parent = f"{HOME}/ext-resume"
    session.collections.create(parent)
    name, key = "cube.fits", "00c0ffee"
    data = _payload(10 * CHUNK + 123)
    with pytest.raises(IrodsConnectionError):
        upload_object(
            session,
            _FailingSource(data, 6 * CHUNK),
            f"{parent}/{name}",
            config=CFG,
            resume_key=key,
            size=len(data),
        )
    assert _objects(irods_emulator, parent) == [f".{name}.irods-part-{key}.fits"]
    result = upload_object(
        session, _FailingSource(data, None), f"{parent}/{name}", config=CFG, resume_key=key, size=len(data)
    )
    assert result.resumed_from == 6 * CHUNK
    assert session.data_objects.calculate_checksum(f"{parent}/{name}") == _sha256(data)
    assert _objects(irods_emulator, parent) == [name]


def test_both_forms_are_hidden_and_cleaned(session, irods_emulator) -> None:
    """Old-form and new-form temporaries are left out of listings and removed by the cleanup; an object
    that only looks like one (an extension its name does not end with) is user data and stays."""
    parent = f"{HOME}/legacy-clean"
    session.collections.create(parent)
    new = f"{parent}/.a.fits.irods-part-0123abcd.fits"
    new_compound = f"{parent}/.b.tar.gz.irods-part-4567cdef.tar.gz"
    old = f"{parent}/.a.fits.irods-part-89abcdef"
    mismatched = f"{parent}/.a.fits.irods-part-0123abcd.txt"
    real = f"{parent}/a.fits"
    for path in (new, new_compound, old, mismatched, real):
        session.data_objects.write(path, b"12345")
    session.metadata.add(new, AVU(RESUME_ATTRIBUTE, '{"v":1}'), kind=EntryKind.DATA_OBJECT)
    listed = sorted(entry.name for entry in session.collections.iterate(parent))
    assert listed == [".a.fits.irods-part-0123abcd.txt", "a.fits"]
    done = session.collections.remove_temporaries(parent, min_age=0, now=time.time() + 60)
    assert sorted(t.path for t in done.removed) == sorted([new, new_compound, old])
    assert (done.failed, done.locked) == ([], [])
    assert _objects(irods_emulator, parent) == sorted([".a.fits.irods-part-0123abcd.txt", "a.fits"])
    assert session.data_objects.read(real) == b"12345"
