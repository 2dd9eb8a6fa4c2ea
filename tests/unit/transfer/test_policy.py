"""The one policy decision: every skip policy x overwrite policy x destination state, checksum laziness and
schemes, and the local adapter asking its destination once."""

from __future__ import annotations

import base64
import hashlib
import sys
from collections import Counter
from pathlib import Path

import pytest

from irods_provider.client.transfer import ChecksumScheme, OverwritePolicy, SkipPolicy
from irods_provider.client.transfer import _policy as policy
from irods_provider.client.transfer._policy import (
    DestinationKind,
    DestinationState,
    Refuse,
    Skip,
    Write,
    decide,
    local_destination,
    same_checksum,
)
from irods_provider.exceptions import (
    IrodsAlreadyExistsError,
    IrodsInvalidPathError,
    IrodsLockedError,
    IrodsSymlinkError,
)

PATH = "/tempZone/home/rods/dst.bin"
DATA = b"the source's bytes"
OTHER = b"other bytes, same n"[: len(DATA)]
assert len(OTHER) == len(DATA)
assert OTHER != DATA

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from stat_counter import count_stats  # noqa: E402


def sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


class Side:
    """A side of the copy: stores ``stored`` (a zone checksum) or hashes ``data`` on demand, counting."""

    def __init__(self, data: bytes, *, stored: str | None = None) -> None:
        self.data, self.stored, self.asked = data, stored, Counter[object]()

    def __call__(self, scheme: ChecksumScheme | None) -> str | None:
        self.asked[scheme] += 1
        if self.stored is not None:
            return self.stored
        if scheme is None:
            return None
        if scheme is ChecksumScheme.MD5:
            return hashlib.md5(self.data).hexdigest()
        return sha2(self.data)


# Destination states, each with the bytes behind it (None: not a file).
STATES = {
    "absent": (DestinationKind.ABSENT, None),
    "directory": (DestinationKind.DIRECTORY, None),
    "symlink": (DestinationKind.SYMLINK, None),
    "other-size": (DestinationKind.FILE, DATA + b"!"),
    "same-size-other-bytes": (DestinationKind.FILE, OTHER),
    "same-bytes": (DestinationKind.FILE, DATA),
}

W, WR = Write(replaces=False), Write(replaces=True)
EXISTS_, SIZE_, SUM_ = Skip("destination exists"), Skip("same size"), Skip("same checksum")
ALREADY, DIRECTORY, LINK = IrodsAlreadyExistsError, IrodsInvalidPathError, IrodsSymlinkError

# state -> skip policy -> (decision under REFUSE, decision under OVERWRITE); an exception type = refused.
TABLE: dict[str, dict[SkipPolicy, tuple[object, object]]] = {
    "absent": dict.fromkeys(SkipPolicy, (W, W)),
    "directory": dict.fromkeys(SkipPolicy, (DIRECTORY, DIRECTORY)),
    "symlink": dict.fromkeys(SkipPolicy, (LINK, LINK)),
    "other-size": {
        SkipPolicy.NEVER: (ALREADY, WR),
        SkipPolicy.EXISTS: (EXISTS_, EXISTS_),
        SkipPolicy.SIZE: (ALREADY, WR),
        SkipPolicy.CHECKSUM: (ALREADY, WR),
    },
    "same-size-other-bytes": {
        SkipPolicy.NEVER: (ALREADY, WR),
        SkipPolicy.EXISTS: (EXISTS_, EXISTS_),
        SkipPolicy.SIZE: (SIZE_, SIZE_),
        SkipPolicy.CHECKSUM: (ALREADY, WR),
    },
    "same-bytes": {
        SkipPolicy.NEVER: (ALREADY, WR),
        SkipPolicy.EXISTS: (EXISTS_, EXISTS_),
        SkipPolicy.SIZE: (SIZE_, SIZE_),
        SkipPolicy.CHECKSUM: (SUM_, SUM_),
    },
}
CASES = [
    pytest.param(state, skip, overwrite, id=f"{state}-{skip.value}-{overwrite.value}")
    for state in STATES
    for skip in SkipPolicy
    for overwrite in OverwritePolicy
]


def _state(name: str, checksum: Side) -> DestinationState:
    kind, data = STATES[name]
    size = None if data is None else len(data)
    return DestinationState(PATH, kind, size, checksum)


@pytest.mark.parametrize(("state", "skip", "overwrite"), CASES)
def test_every_policy_against_every_destination_state(state, skip, overwrite) -> None:
    there = Side(STATES[state][1] or b"", stored=sha2(STATES[state][1] or b""))  # an iRODS destination
    ours = Side(DATA)  # a local source, hashed on demand
    decision = decide(
        skip=skip,
        overwrite=overwrite,
        destination=_state(state, there),
        source_size=len(DATA),
        source_checksum=ours,
        operation="upload",
    )
    expected = TABLE[state][skip][0 if overwrite is OverwritePolicy.REFUSE else 1]
    if isinstance(expected, type):
        assert isinstance(decision, Refuse), decision
        assert type(decision.error) is expected
        assert (decision.error.path, decision.error.operation) == (PATH, "upload")
        with pytest.raises(expected) as raised:
            decision.raise_error()
        assert raised.value.path == PATH
    else:
        assert decision == expected
    # Checksums are computed only where CHECKSUM meets equal sizes, and then each side once.
    hashed = skip is SkipPolicy.CHECKSUM and state.startswith("same-")
    assert sum(there.asked.values()) == (1 if hashed else 0)
    assert ours.asked == (Counter({ChecksumScheme.SHA256: 1}) if hashed else Counter())


def test_refuse_names_the_path_and_says_already_exists() -> None:
    decision = decide(
        skip=SkipPolicy.NEVER,
        overwrite=OverwritePolicy.REFUSE,
        destination=DestinationState.file(PATH, 3),
        source_size=3,
        operation="download",
    )
    assert isinstance(decision, Refuse)
    assert str(decision.error).startswith(f"{PATH} already exists")
    assert isinstance(decision.error, FileExistsError)


@pytest.mark.parametrize("skip", [SkipPolicy.SIZE, SkipPolicy.CHECKSUM])
@pytest.mark.parametrize(("source_size", "dest_size"), [(None, len(DATA)), (len(DATA), None), (None, None)])
def test_an_unknown_size_is_never_the_same_size(skip, source_size, dest_size) -> None:
    there, ours = Side(DATA, stored=sha2(DATA)), Side(DATA)
    decision = decide(
        skip=skip,
        overwrite=OverwritePolicy.OVERWRITE,
        destination=DestinationState.file(PATH, dest_size, there),
        source_size=source_size,
        source_checksum=ours,
    )
    assert decision == Write(replaces=True)
    assert not there.asked
    assert not ours.asked


def test_md5_zone_hashes_the_other_side_in_md5_case_insensitively() -> None:
    there = Side(DATA, stored=hashlib.md5(DATA).hexdigest().upper())
    ours = Side(DATA)
    assert same_checksum(ours, there)
    assert ours.asked == Counter({ChecksumScheme.MD5: 1})
    assert not same_checksum(Side(OTHER), there)


def test_a_stored_source_checksum_sets_the_scheme_of_a_file_destination() -> None:
    """A download: the data object stores MD5, the local destination is hashed in MD5."""
    ours = Side(DATA, stored=hashlib.md5(DATA).hexdigest())
    there = Side(DATA)
    assert same_checksum(ours, there)
    assert there.asked == Counter({None: 1, ChecksumScheme.MD5: 1})
    assert not same_checksum(Side(DATA, stored=hashlib.md5(DATA).hexdigest()), Side(OTHER))


def test_neither_side_storing_a_checksum_compares_sha256() -> None:
    ours, there = Side(DATA), Side(DATA)
    assert same_checksum(ours, there)
    assert ours.asked[ChecksumScheme.SHA256] == there.asked[ChecksumScheme.SHA256] == 1
    assert not same_checksum(Side(DATA), Side(OTHER))


def test_an_unrecognised_stored_checksum_never_matches() -> None:
    ours = Side(DATA)
    assert not same_checksum(ours, Side(DATA, stored="crc32:1234"))
    assert not ours.asked  # nothing to hash against


def test_lazy_checksums_are_computed_once() -> None:
    computed: list[ChecksumScheme] = []

    def hash_in(scheme: ChecksumScheme) -> str:
        computed.append(scheme)
        return sha2(DATA)

    lazy = policy.hashed_checksum(hash_in)
    assert lazy(None) is None
    assert lazy(ChecksumScheme.SHA256) == lazy(ChecksumScheme.SHA256) == sha2(DATA)
    assert computed == [ChecksumScheme.SHA256]
    asked: list[int] = []
    stored = policy.stored_checksum(None, lambda: asked.append(1) or sha2(DATA))
    assert stored(None) == stored(ChecksumScheme.MD5) == sha2(DATA)
    assert asked == [1]


@pytest.fixture
def counted_lstat(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every ``lstat``/``stat`` of a path, process-wide, counted by path."""
    return count_stats(monkeypatch)


def test_local_destination_asks_once_and_hashes_only_on_demand(tmp_path, counted_lstat) -> None:
    (tmp_path / "file").write_bytes(DATA)
    (tmp_path / "dir").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "file")
    states = {name: local_destination(tmp_path / name) for name in ("file", "dir", "link", "missing")}
    assert {name: s.kind for name, s in states.items()} == {
        "file": DestinationKind.FILE,
        "dir": DestinationKind.DIRECTORY,
        "link": DestinationKind.SYMLINK,
        "missing": DestinationKind.ABSENT,
    }
    assert states["file"].size == len(DATA)
    assert {name: counted_lstat[str(tmp_path / name)] for name in states} == dict.fromkeys(states, 1)
    assert states["file"].checksum(None) is None  # a file stores no checksum: nothing read
    assert states["file"].checksum(ChecksumScheme.SHA256) == sha2(DATA)
    assert states["file"].checksum(ChecksumScheme.MD5) == hashlib.md5(DATA).hexdigest()


def test_local_checksum_never_reads_through_a_link_swapped_in(tmp_path) -> None:
    (tmp_path / "file").write_bytes(DATA)
    state = local_destination(tmp_path / "file")
    (tmp_path / "file").unlink()
    (tmp_path / "file").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(IrodsSymlinkError, match="Too many levels of symbolic links"):  # ELOOP: O_NOFOLLOW
        state.checksum(ChecksumScheme.SHA256)


@pytest.mark.parametrize("skip", list(SkipPolicy))
def test_an_object_left_stale_is_never_skipped(skip) -> None:
    """No good replica (its write failed): there, so REFUSE refuses it, but never done whatever matches."""
    stale = DestinationState.unreadable("/z/x")
    calls: list[object] = []

    def checksum(scheme: object) -> str:
        calls.append(scheme)
        return "sha2:same"

    for overwrite, expected in (
        (OverwritePolicy.OVERWRITE, Write(replaces=True)),
        (OverwritePolicy.REFUSE, None),
    ):
        decision = decide(
            skip=skip, overwrite=overwrite, destination=stale, source_size=None, source_checksum=checksum
        )
        if expected is None:
            assert isinstance(decision, Refuse)
            assert isinstance(decision.error, IrodsAlreadyExistsError)
        else:
            assert decision == expected
    assert calls == []  # nothing to compare with: nothing hashed


@pytest.mark.parametrize("skip", list(SkipPolicy))
@pytest.mark.parametrize("overwrite", list(OverwritePolicy))
def test_an_object_being_written_is_refused_with_its_lock_error(skip, overwrite) -> None:
    locked = IrodsLockedError("another client is still writing this data object", path="/z/x")
    decision = decide(
        skip=skip, overwrite=overwrite, destination=DestinationState.unreadable("/z/x", locked), source_size=3
    )
    assert isinstance(decision, Refuse)
    assert decision.error is locked
