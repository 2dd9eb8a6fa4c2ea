"""One planner, three trees: the same files planned from a local disk, the emulator and the SFTP server.

The tree holds the names that broke dialects before (``[``, ``#``, ``+``, non-ASCII, a nested directory) and,
where links exist (local, SFTP), a symlink loop; every tree must give the same relative plan (paths and
sizes) for a tree walk, a ``**`` glob and an escaped literal, with links followed or not.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from irods_provider.client.transfer import plan_irods_sources, plan_local_sources
from irods_provider.client.transfer._plan import Destination, Plan, Tree, plan_copies
from irods_provider.client.transfer._trees import IrodsTree, LocalTree
from irods_provider.exceptions import IrodsNotFoundError, IrodsSymlinkError, IrodsUsageError
from irods_provider.sftp._tree import SftpTree

HOME = "/tempZone/home/rods"

#: relative path -> content; names with glob syntax, URL syntax and non-ASCII letters.
FILES = {
    "a.csv": b"a" * 5,
    "sub/[x].csv": b"bracket",
    "sub/d\u00e9j\u00e0 vu.csv": b"accents!",
    "sub/deep/#h+1.csv": b"hash plus",
    "sub/deep/notes.txt": b"",
}
ALL = sorted(FILES)
CSV = sorted(r for r in FILES if r.endswith(".csv"))


def _missing(raw: str, path: str) -> IrodsNotFoundError:
    return IrodsNotFoundError(f"{raw!r} does not exist", operation="plan", path=path)


def relative_plan(
    tree: Tree, root: str, sources: list[str], *, glob: bool = False, follow: bool = False
) -> list[tuple[str, int | None]]:
    """(path relative to ``root``, size) of each planned file: what must not depend on the tree."""
    plan: Plan = plan_copies(
        tree,
        sources,
        Destination("/dst", into=True),
        place=lambda relative: f"/dst/{relative}",
        missing=_missing,
        follow_symlinks=follow,
        glob=glob,
    )
    prefix = root.rstrip("/") + "/"
    assert all(f.source.startswith(prefix) for f in plan.files), plan.files
    return [(f.source[len(prefix) :], f.size) for f in plan.files]


def expected(names: list[str]) -> list[tuple[str, int | None]]:
    return [(n, len(FILES[n])) for n in names]


@pytest.fixture
def local_root(tmp_path: Path) -> str:
    root = tmp_path / "tree"
    for relative, data in FILES.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
    (root / "sub" / "deep" / "loop").symlink_to("../..")  # back to the root: a loop when followed
    return str(root)


@pytest.fixture
def irods_root(session) -> str:
    root = f"{HOME}/parity"
    for relative, data in FILES.items():
        session.collections.create(os.path.dirname(f"{root}/{relative}"), intermediates=True, exist_ok=True)
        session.data_objects.write(f"{root}/{relative}", data)
    return root


@pytest.fixture
def sftp_tree(remote) -> Iterator[tuple[SftpTree, str]]:
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    from irods_provider.sftp import SftpEndpoint

    for relative, data in FILES.items():
        remote.put(relative, data)
    os.symlink("../..", remote.dir / "sub" / "deep" / "loop")
    with SftpEndpoint(SFTPHook(ssh_conn_id="cluster")) as sftp, sftp.channel() as client:
        yield SftpTree(sftp, client), sftp.resolve(remote.path(""))


def test_the_same_tree_plans_the_same_from_local_irods_and_sftp(session, local_root, irods_root, sftp_tree):
    trees = {"local": (LocalTree(), local_root), "irods": (IrodsTree(session), irods_root), "sftp": sftp_tree}
    for name, (tree, root) in trees.items():
        for follow in (False, True):  # followed, the loop is seen and skipped: nothing planned twice
            assert relative_plan(tree, root, [root], follow=follow) == expected(ALL), (name, follow)
            globbed = relative_plan(tree, root, [f"{root}/**/*.csv"], glob=True, follow=follow)
            assert globbed == expected(CSV), (name, follow)
        # ``[[]x].csv`` is the literal ``[x].csv``; without glob the brackets are literal already.
        escaped = relative_plan(tree, root, [f"{root}/sub/[[]x].csv"], glob=True)
        literal = relative_plan(tree, f"{root}/sub", [f"{root}/sub/[x].csv"])
        assert (escaped, literal) == ([("sub/[x].csv", 7)], [("[x].csv", 7)]), name
        one_level = relative_plan(tree, root, [f"{root}/sub/*"], glob=True)
        assert one_level == expected(["sub/[x].csv", "sub/d\u00e9j\u00e0 vu.csv"]), name


def test_the_public_planners_keep_relative_paths(session, local_root, irods_root, tmp_path):
    up = plan_local_sources(local_root, f"{HOME}/up")
    assert [(p.destination.removeprefix(f"{HOME}/up/"), p.size) for p in up] == expected(ALL)
    down = plan_irods_sources(session, irods_root, tmp_path / "down")
    assert [(os.path.relpath(p.destination, tmp_path / "down"), p.size) for p in down] == expected(ALL)
    assert all(p.base == irods_root for p in down)


def test_a_missing_source_and_a_named_link_fail_typed_naming_the_path(session, local_root, sftp_tree, remote):
    sftp, sftp_root = sftp_tree
    os.symlink("a.csv", Path(local_root) / "alias.csv")
    os.symlink("a.csv", remote.dir / "alias.csv")
    for tree, root in ((LocalTree(), local_root), (IrodsTree(session), f"{HOME}/nowhere"), sftp_tree):
        with pytest.raises(IrodsNotFoundError) as missing:
            relative_plan(tree, root, [f"{root}/run[7].h5"])
        assert missing.value.path == f"{root}/run[7].h5"
        assert relative_plan(tree, root, [f"{root}/run*.h5"], glob=True) == []  # a pattern may match none
    for tree, root in ((LocalTree(), local_root), (sftp, sftp_root)):
        with pytest.raises(IrodsSymlinkError) as link:
            relative_plan(tree, root, [f"{root}/alias.csv"])
        assert link.value.path == f"{root}/alias.csv"
        assert relative_plan(tree, root, [f"{root}/alias.csv"], follow=True) == [("alias.csv", 5)]
        # A tree never follows the link unless asked.
        assert ("alias.csv", 5) not in relative_plan(tree, root, [root])
        assert ("alias.csv", 5) in relative_plan(tree, root, [root], follow=True)


def test_two_sources_landing_on_one_destination_are_refused(session, irods_root):
    tree = IrodsTree(session)
    with pytest.raises(IrodsUsageError, match="same path") as clash:
        relative_plan(tree, irods_root, [f"{irods_root}/a.csv", f"{irods_root}/a.csv"])
    assert clash.value.path == "/dst/a.csv"


def test_one_file_named_alone_becomes_the_destination_unless_told_into(session, local_root, irods_root):
    for tree, root in ((LocalTree(), local_root), (IrodsTree(session), irods_root)):

        def plan(
            destination: Destination, *, is_directory: bool = False, root: str = root, tree: Tree = tree
        ):
            return plan_copies(
                tree,
                [f"{root}/sub/[x].csv"],
                destination,
                place=lambda relative: f"{destination.path}/{relative}",
                missing=_missing,
                is_directory=lambda _path: is_directory,
            )

        as_file = plan(Destination.of("/out/y.csv", "/out/y.csv"))
        assert (as_file.single, [f.destination for f in as_file.files]) == (True, ["/out/y.csv"])
        into = plan(Destination.of("/out/y.csv/", "/out/y.csv"))
        assert (into.single, [f.destination for f in into.files]) == (False, ["/out/y.csv/[x].csv"])
        existing_dir = plan(Destination.of("/out", "/out"), is_directory=True)
        assert [f.destination for f in existing_dir.files] == ["/out/[x].csv"]
