"""Two owners replacing one path at once by the rename publish (transfer/_upload ``_publish``): the old
object is moved aside, the temporary renamed onto the path. A rename onto an existing name is refused
(chlRenameObject, db_plugin.cpp:10775-10786 at irods 4.3.4) and one whose source is gone fails, so when the
writers interleave one of them loses: it must say so with a typed error naming the path, publish nothing of
its own and leave the other writer's object alone (before: a bare "already exists" under the OVERWRITE
policy, or a stat error of the path). The interleavings are forced by running one writer inside a request
of the other.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from irods_provider.client import BasicAuth, IrodsSession, PermissionOperation
from irods_provider.client.transfer import OverwritePolicy, TransferConfig, upload_object
from irods_provider.exceptions import IrodsConcurrentOverwriteError, IrodsLockedError

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
PATH = f"{HOME}/raced.bin"
CFG = TransferConfig(chunk_size=1 << 20, small_file_threshold=1 << 20)


@pytest.fixture
def owners(irods_emulator: Any) -> Iterator[tuple[IrodsSession, IrodsSession]]:
    """rods's ``raced.bin`` (b"old"), which bob owns too: (rods, bob)."""
    irods_emulator.add_user("bob", "bpass")
    with (
        IrodsSession(irods_emulator.base_url, auth=BasicAuth("rods", "rods-emulator")) as rods,
        IrodsSession(irods_emulator.base_url, auth=BasicAuth("bob", "bpass")) as bob,
    ):
        rods.data_objects.write(PATH, b"old")
        rods.collections.modify_permissions(HOME, [PermissionOperation("bob", "own")])
        rods.data_objects.modify_permissions(PATH, [PermissionOperation("bob", "own")])
        yield rods, bob


def upload(session: IrodsSession, data: bytes) -> None:
    upload_object(
        session, io.BytesIO(data), PATH, size=len(data), config=CFG, overwrite=OverwritePolicy.OVERWRITE
    )


def after_first(method: Callable[..., Any], when: Callable[..., bool], then: Callable[[], None]) -> Any:
    """``method``, running ``then`` right after the first call ``when`` accepts has returned."""
    fired: list[bool] = []

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        result = method(*args, **kwargs)
        if not fired and when(*args):
            fired.append(True)
            then()
        return result

    return wrapped


def left(irods_emulator: Any) -> dict[str, bytes]:
    with irods_emulator.model.lock:
        found = {p: o for p, o in irods_emulator.model.data_objects.items() if p.startswith(f"{HOME}/")}
        return {p: o.replicas[0].spool_file.read_bytes() for p, o in found.items()}


def test_a_writer_whose_path_another_published_meanwhile_fails_typed(
    irods_emulator, owners, monkeypatch
) -> None:
    """rods moved the old object aside; bob, finding no object there, publishes his; rods's rename onto
    the path is then refused: rods fails typed, bob's object stays, nothing else is left."""
    rods, bob = owners
    outcome: list[BaseException | None] = []

    def bob_publishes() -> None:
        try:
            upload(bob, b"bob's bytes")
        except BaseException as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    moved_aside = after_first(rods.data_objects.rename, lambda old, new: old == PATH, bob_publishes)
    monkeypatch.setattr(rods.data_objects, "rename", moved_aside)
    with pytest.raises(IrodsConcurrentOverwriteError) as caught:
        upload(rods, b"rods's bytes")
    assert isinstance(caught.value, IrodsLockedError)
    assert caught.value.path == PATH
    assert "another writer" in str(caught.value)
    assert outcome == [None]
    assert left(irods_emulator) == {PATH: b"bob's bytes"}


def test_a_writer_whose_path_another_moved_aside_meanwhile_fails_typed(
    irods_emulator, owners, monkeypatch
) -> None:
    """bob found the old object; rods (mid-publish) moved it aside before bob could: bob fails typed,
    changing nothing of rods's publish (the path empty, the moved-aside object kept for rods)."""
    rods, bob = owners
    aside = f"{HOME}/.raced.bin.irods-old-rods"

    def rods_moves_it_aside() -> None:
        rods.data_objects.rename(PATH, aside)

    found = after_first(bob.data_objects.exists, lambda path: path == PATH, rods_moves_it_aside)
    monkeypatch.setattr(bob.data_objects, "exists", found)
    with pytest.raises(IrodsConcurrentOverwriteError) as caught:
        upload(bob, b"bob's bytes")
    assert caught.value.path == PATH
    assert left(irods_emulator) == {aside: b"old"}


def _aside(irods_emulator: Any) -> dict[str, bytes]:
    """The objects moved aside under the path's ``.irods-old-`` names, with their bytes."""
    return {p: b for p, b in left(irods_emulator).items() if p.startswith(f"{HOME}/.raced.bin.irods-old-")}


def test_a_writer_publishing_onto_the_empty_path_supersedes_the_object_another_moved_aside(
    irods_emulator, owners, monkeypatch
) -> None:
    """rods moved the old object aside; bob, finding the path empty, publishes his. Published, bob removes
    every object moved aside from the path (one a killed attempt left there cannot be told from a live
    writer's, and either is superseded now: rods, refused the path, would not put it back over bob's);
    rods is refused typed, and nothing else is left."""
    rods, bob = owners
    seen: list[dict[str, bytes]] = []

    def bob_publishes() -> None:
        upload(bob, b"bob's bytes")
        seen.append(_aside(irods_emulator))

    moved_aside = after_first(rods.data_objects.rename, lambda old, new: old == PATH, bob_publishes)
    monkeypatch.setattr(rods.data_objects, "rename", moved_aside)
    with pytest.raises(IrodsConcurrentOverwriteError):
        upload(rods, b"rods's bytes")
    assert [list(s.values()) for s in seen] == [[]]
    assert left(irods_emulator) == {PATH: b"bob's bytes"}


def test_a_third_writer_inside_the_race_never_takes_the_name_of_another_writers_old_object(
    irods_emulator, owners, monkeypatch
) -> None:
    """rods moved the old object aside; bob published onto the empty path; carol then moves bob's object
    aside. Each writer's moved-aside object has a name of its own: carol never takes the name of rods's
    (before: carol removed rods's as a leftover and took its name); bob, published, removed rods's old
    bytes (superseded by his). carol publishes, rods is refused typed; nothing is left beside the path."""
    rods, bob = owners
    with IrodsSession(irods_emulator.base_url, auth=BasicAuth("bob", "bpass")) as carol:
        seen: list[dict[str, bytes]] = []
        carol_moved = after_first(
            carol.data_objects.rename,
            lambda old, new: old == PATH,
            lambda: seen.append(_aside(irods_emulator)),
        )
        monkeypatch.setattr(carol.data_objects, "rename", carol_moved)

        def bob_then_carol() -> None:
            upload(bob, b"bob's bytes")
            upload(carol, b"carol's bytes")

        rods_moved = after_first(rods.data_objects.rename, lambda old, new: old == PATH, bob_then_carol)
        monkeypatch.setattr(rods.data_objects, "rename", rods_moved)
        with pytest.raises(IrodsConcurrentOverwriteError):
            upload(rods, b"rods's bytes")
    assert [sorted(s.values()) for s in seen] == [[b"bob's bytes"]]
    assert left(irods_emulator) == {PATH: b"carol's bytes"}
