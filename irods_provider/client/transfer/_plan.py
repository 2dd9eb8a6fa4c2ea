"""The one planner of every copy direction: sources over a :class:`Tree` become a list of planned copies.

A source is a file, a directory (a tree), or with ``glob=True`` a pattern of the provider's one pattern rule
(:mod:`irods_provider.client._patterns`, ``**`` included); a list mixes them. :func:`plan_copies` expands
them the same way whatever holds the files: a local disk (:class:`~._trees.LocalTree`), an iRODS zone
(:class:`~._trees.IrodsTree`) or an SFTP server (``irods_provider.sftp._tree.SftpTree``), each answering the
few questions of :class:`Tree` (stat, list a directory, real path of a directory).

What it decides, once for all directions:

- a file named by itself keeps its name below the destination, a tree or pattern keeps the paths relative to
  its root (the pattern's literal base); ``pattern=`` filters those relative paths (or names);
- one file named alone goes to the destination itself, unless the destination says "into this directory"
  (a trailing ``/``, :class:`Destination`) or is an existing directory;
- symbolic links inside trees and patterns are never followed unless ``follow_symlinks`` (then directories
  are visited once each: loops are detected by the tree's real path of each directory); a source named
  explicitly that is a link to a file is refused (:class:`IrodsSymlinkError`) unless ``follow_symlinks``;
- a literal source that is not there raises the caller's typed error naming it; a pattern may match nothing;
- a tree (a directory named without ``pattern=``, ``recursive``) also plans every directory below its root,
  empty ones included (:attr:`Plan.directories`), as ``sftp -r``, ``iput -r`` and ``rsync -r`` create
  them; patterns and ``pattern=`` select files only (as rsync include rules do);
- two sources never land on one destination (:class:`IrodsUsageError` naming both), nor a file where a
  planned directory goes;
- the engine's in-flight temporaries are never a source; a file named like one is listed in
  :attr:`Plan.temporary_like` (reported as skipped, with a warning);
- a directory below a tree's root that cannot be listed (permission denied) raises its typed error, or, when
  the caller accepts it (``unlistable``: ``continue_on_error``), is kept in :attr:`Plan.unlisted` and the
  walk goes on, as rsync does (exit 23: the rest is still transferred, the run fails at the end);
- a file of a tree or pattern that cannot be read now (an iRODS object another client is writing, or whose
  write failed: no good replica) is left out and listed in :attr:`Plan.left_out` with the reason; a file
  named by itself is asked about directly, and its typed error raised.
"""

from __future__ import annotations

import enum
import logging
import posixpath
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from irods_provider.client._paths import is_temporary_name
from irods_provider.client._patterns import PathPattern, compile_filter, compile_pattern
from irods_provider.exceptions import IrodsInvalidPathError, IrodsSymlinkError, IrodsUsageError

log = logging.getLogger(__name__)

__all__ = [
    "BulkTree",
    "Destination",
    "LeftOut",
    "Node",
    "NodeKind",
    "Plan",
    "PlannedDirectory",
    "PlannedFile",
    "Tree",
    "Unlisted",
    "check_unique",
    "plan_copies",
    "walk_tree",
]


class NodeKind(enum.Enum):
    """What a path is (after following a link, when the node says it is one)."""

    FILE = "file"
    DIRECTORY = "directory"
    OTHER = "other"  # a device, a socket, a dangling or looping link


@dataclass(frozen=True)
class Node:
    """One entry of a :class:`Tree`: its name, kind, size and mtime when known.

    ``link`` says the path itself is a symbolic link: from :meth:`Tree.stat` the other fields describe its
    target (``OTHER`` when dangling); from :meth:`Tree.list_dir` the target is not resolved yet. ``identity``
    identifies a directory for loop detection when the tree knows it for free (local: device and inode);
    otherwise the planner asks :meth:`Tree.real_path`.
    """

    name: str
    kind: NodeKind
    size: int | None = None
    mtime: int | None = None
    link: bool = False
    identity: Hashable | None = None
    unreadable: str | None = None
    """Why this file cannot be read now (an iRODS object without a good replica: being written, or its
    write failed); the planner leaves such a file out of a tree or pattern and says so."""


@runtime_checkable
class Tree(Protocol):
    """What the planner needs of a place holding files (local disk, iRODS zone, SFTP server).

    ``label`` names a source in messages (``"local source"``); ``hidden_convention`` says names starting
    with ``.`` are hidden from patterns that do not ask for them (true of local disks only, as in a shell).
    """

    label: str
    hidden_convention: bool

    def resolve(self, path: str) -> str:
        """The absolute, normalised form of a path as the caller wrote it (refusing invalid ones)."""
        ...

    def join(self, directory: str, name: str) -> str:
        """The path of ``name`` inside ``directory``."""
        ...

    def stat(self, path: str) -> Node | None:
        """The node at ``path`` following a link (``link`` set when it is one), None when nothing is there."""
        ...

    def list_dir(self, path: str) -> Iterable[Node]:
        """The entries of a directory, links not followed (``link`` set, target unresolved)."""
        ...

    def real_path(self, path: str) -> Hashable:
        """What identifies a directory whatever path reached it (loop detection when following links)."""
        ...


@runtime_checkable
class BulkTree(Tree, Protocol):
    """A tree without symbolic links that lists a whole subtree faster than directory by directory (iRODS:
    paged GenQuery); the planner uses :meth:`walk_files` instead of :func:`walk_tree`."""

    def walk_files(
        self, root: str, *, max_depth: int | None, directories: bool = False
    ) -> Iterator[tuple[str, str, Node]]:
        """``(path, relative path, node)`` of every file below ``root`` at most ``max_depth`` levels down;
        with ``directories`` every directory below it too (kind DIRECTORY)."""
        ...


@dataclass(frozen=True)
class Destination:
    """Where a plan goes. ``into`` is the "into this directory" intent of a trailing ``/``: even one file
    named alone then keeps its name below ``path`` instead of becoming ``path``."""

    path: str
    into: bool = False

    @classmethod
    def of(cls, raw: str, path: str) -> Destination:
        """The destination ``path`` (already validated) with the intent read from the ``raw`` argument."""
        return cls(path, into=str(raw).rstrip().endswith("/"))


@dataclass(frozen=True)
class PlannedFile:
    """One file of a plan: where from, where to, its size and mtime when known, and the directory or
    collection its tree or pattern was taken from (None for a file named by itself)."""

    source: str
    destination: str
    size: int | None = None
    mtime: int | None = None
    base: str | None = None


@dataclass(frozen=True)
class PlannedDirectory:
    """One directory of a tree copy: its source and the destination directory or collection to create
    (empty or not: the files' own parents are created with them anyway), and the tree's root (``move``)."""

    source: str
    destination: str
    base: str | None = None


@dataclass(frozen=True)
class LeftOut:
    """A file a tree or pattern selected that cannot be read now: not copied, reported with ``reason``."""

    file: PlannedFile
    reason: str


@dataclass(frozen=True)
class Unlisted:
    """A directory of a tree that could not be listed: its planned place (``file``) and the typed error."""

    file: PlannedFile
    error: BaseException


@dataclass(frozen=True)
class Plan:
    """The planned files; ``single`` when one file goes to the destination path itself; ``left_out``: the
    files selected that cannot be read now (see :attr:`Node.unreadable`); ``directories``: every directory
    below the roots of the trees copied (parents first), to be created even when empty."""

    files: list[PlannedFile] = field(default_factory=list)
    single: bool = False
    left_out: list[LeftOut] = field(default_factory=list)
    directories: list[PlannedDirectory] = field(default_factory=list)
    unlisted: list[Unlisted] = field(default_factory=list)
    temporary_like: list[PlannedFile] = field(default_factory=list)


#: What a walk calls with ``(path, relative path, error)`` of a directory below its root that could not be
#: listed: True when the caller takes it (the walk goes on), False to raise the error.
OnUnlisted = Callable[[str, str, BaseException], bool]


def walk_tree(
    tree: Tree,
    root: str,
    *,
    max_depth: int | None = None,
    follow_symlinks: bool = False,
    include_hidden: bool = True,
    directories: bool = False,
    on_unlisted: OnUnlisted | None = None,
    on_temporary: Callable[[str, str, Node], object] | None = None,
) -> Iterator[tuple[str, str, Node]]:
    """``(path, relative path, node)`` of the regular files below ``root``, sorted, depth first; with
    ``directories`` also each directory walked into (before its contents). A directory below ``root`` that
    cannot be listed goes to ``on_unlisted`` (when it takes it); a file named like the engine's temporaries
    to ``on_temporary``.

    Links are skipped (logged) unless ``follow_symlinks``; then links to files are listed with their
    target's node and directories are visited once each (loops detected by :meth:`Tree.real_path`, or the
    node's ``identity``); dangling and looping links are skipped. Temporaries of the engine are never listed.
    """
    seen: set[Hashable] = set()
    if follow_symlinks:
        top = tree.stat(root)
        seen.add(top.identity if top is not None and top.identity is not None else tree.real_path(root))
    stack: list[tuple[str, str, int]] = [(root, "", 0)]
    while stack:
        directory, relative, depth = stack.pop()
        subdirs: list[tuple[str, str, int]] = []
        try:
            entries = tree.list_dir(directory)
        except Exception as exc:
            if depth == 0 or on_unlisted is None or not on_unlisted(directory, relative, exc):
                raise
            continue
        for listed in sorted(entries, key=lambda n: n.name):
            if not include_hidden and listed.name.startswith("."):
                continue
            path = tree.join(directory, listed.name)
            child = f"{relative}/{listed.name}" if relative else listed.name
            node: Node | None = _followed(tree, path, listed, follow_symlinks)
            if node is None:
                continue
            if node.kind is NodeKind.DIRECTORY:
                if max_depth is not None and depth + 1 >= max_depth:
                    continue
                if follow_symlinks and not _first_visit(tree, path, node, seen):
                    continue
                subdirs.append((path, child, depth + 1))
                if directories:
                    yield path, child, node
            elif node.kind is NodeKind.FILE and not is_temporary_name(listed.name):
                yield path, child, node
            elif node.kind is NodeKind.FILE and on_temporary is not None:
                on_temporary(path, child, node)
        stack.extend(reversed(subdirs))


def _followed(tree: Tree, path: str, listed: Node, follow: bool) -> Node | None:
    """A listed node, its link resolved when following links; None (logged) when it is skipped."""
    if not listed.link:
        return listed
    if not follow:
        log.info("not following symbolic link %s (follow_symlinks=False)", path)
        return None
    node = tree.stat(path)
    if node is None or node.kind is NodeKind.OTHER:
        log.warning("skipping %s: a dangling or looping symbolic link", path)
        return None
    return node


def _first_visit(tree: Tree, path: str, node: Node, seen: set[Hashable]) -> bool:
    """Record a directory about to be walked; False (logged) when it was visited already: a loop."""
    identity = node.identity if node.identity is not None else tree.real_path(path)
    if identity in seen:
        log.warning("skipping %s: a symlink loop (directory already visited)", path)
        return False
    seen.add(identity)
    return True


@dataclass(frozen=True)
class _Options:
    recursive: bool
    follow_symlinks: bool
    glob: bool
    operation: str
    missing: Callable[[str, str], BaseException]
    found: Callable[[Node], object] | None = None
    dirs: bool = False
    unlistable: Callable[[BaseException], bool] | None = None
    unlisted: list[tuple[str, str, BaseException, str]] = field(default_factory=list)
    temporaries: list[_Found] = field(default_factory=list)


# (path, relative path, node, base of its tree or pattern, None for a file named by itself)
_Found = tuple[str, str, Node, str | None]


def _selected(opts: _Options, item: _Found) -> bool:
    """True; tells ``opts.found`` of a file selected for the plan (one that can be read) as it is found."""
    if opts.found is not None and item[2].unreadable is None:
        opts.found(item[2])
    return True


def _walk(
    tree: Tree,
    root: str,
    opts: _Options,
    *,
    max_depth: int | None,
    hidden: bool,
    dirs: bool = False,
) -> Iterator[_Found]:
    if isinstance(tree, BulkTree):
        found: Iterable[tuple[str, str, Node]] = tree.walk_files(root, max_depth=max_depth, directories=dirs)
    else:
        found = walk_tree(
            tree,
            root,
            max_depth=max_depth,
            follow_symlinks=opts.follow_symlinks,
            include_hidden=hidden,
            directories=dirs,
            on_unlisted=lambda path, rel, exc: _unlisted(opts, root, path, rel, exc),
            on_temporary=lambda path, rel, node: opts.temporaries.append((path, rel, node, root)),
        )
    return ((path, rel, node, root) for path, rel, node in found)


def _unlisted(opts: _Options, root: str, path: str, relative: str, error: BaseException) -> bool:
    """Keep a directory that could not be listed when the caller takes its error (logged), else False."""
    if opts.unlistable is None or not opts.unlistable(error):
        return False
    log.warning("cannot list %s (the rest of the tree goes on): %s", path, error)
    opts.unlisted.append((path, relative, error, root))
    return True


def _pattern_files(tree: Tree, compiled: PathPattern, opts: _Options) -> list[_Found]:
    """The files a pattern selects below its literal base (none when the base is no directory)."""
    base = tree.resolve(compiled.base)
    node = tree.stat(base)
    if node is None or node.kind is not NodeKind.DIRECTORY:
        return []
    hidden = not tree.hidden_convention or any(s.startswith(".") for s in compiled.segments)
    before = len(opts.temporaries)
    found = list(_walk(tree, base, opts, max_depth=compiled.max_depth, hidden=hidden))
    opts.temporaries[before:] = [t for t in opts.temporaries[before:] if compiled.matches(t[1])]
    return [f for f in found if compiled.matches(f[1]) and _selected(opts, f)]


def _literal_files(tree: Tree, raw: str, opts: _Options) -> tuple[list[_Found], bool]:
    """The files a literal source names, and whether it is one file named by itself."""
    path = tree.resolve(compile_pattern(raw).base if opts.glob else raw)
    node = tree.stat(path)
    if node is not None and node.kind is NodeKind.DIRECTORY:
        depth = None if opts.recursive else 1
        found = _walk(tree, path, opts, max_depth=depth, hidden=True, dirs=opts.dirs)
        return [f for f in found if f[2].kind is NodeKind.DIRECTORY or _selected(opts, f)], False
    if node is not None and node.link and not opts.follow_symlinks:
        raise IrodsSymlinkError(
            f"{tree.label} is a symbolic link (follow_symlinks=False)", operation=opts.operation, path=path
        )
    if node is not None and node.kind is NodeKind.OTHER and not node.link:
        # There, but a FIFO, socket or device: say so rather than "does not exist".
        raise IrodsInvalidPathError(
            f"{tree.label} is not a regular file or directory", operation=opts.operation, path=path
        )
    if node is None or node.kind is not NodeKind.FILE:
        raise opts.missing(raw, path)
    named: _Found = (path, posixpath.basename(path), node, None)
    _selected(opts, named)
    return [named], True


def plan_copies(
    tree: Tree,
    sources: Sequence[str],
    destination: Destination,
    *,
    place: Callable[[str], str],
    missing: Callable[[str, str], BaseException],
    is_directory: Callable[[str], bool] = lambda _path: True,
    pattern: str | None = None,
    recursive: bool = True,
    follow_symlinks: bool = False,
    glob: bool = False,
    operation: str = "plan",
    on_found: Callable[[Node], object] | None = None,
    unlistable: Callable[[BaseException], bool] | None = None,
) -> Plan:
    """Expand ``sources`` found in ``tree`` into the copies onto ``destination`` (see the module docstring).

    ``place(relative)`` is the destination path of a relative path (it refuses names that would leave the
    destination); ``missing(raw, path)`` is the typed error of a literal source that is not there;
    ``is_directory(path)`` tells whether an existing destination is a directory (asked only when one file is
    named alone without the trailing ``/``). Each source's files are sorted by path. ``on_found(node)`` hears
    of each readable file selected as the walk meets it (without ``pattern``, which filters at the end),
    before the plan is complete: e.g. to open SSH connections its sizes already ask for. ``unlistable(error)``
    says whether a directory below a tree's root that could not be listed is kept in :attr:`Plan.unlisted`
    (the walk goes on) rather than raised.
    """
    tree_dirs = not pattern and recursive  # a tree's directories: not with files selected by a pattern
    found_hook = None if pattern else on_found
    opts = _Options(recursive, follow_symlinks, glob, operation, missing, found_hook, tree_dirs, unlistable)
    selects = compile_filter(pattern) if pattern else None
    found: list[_Found] = []
    single = False
    for raw in sources:
        compiled = compile_pattern(raw) if glob else None
        if compiled is not None and not compiled.literal:
            found += sorted(_pattern_files(tree, compiled, opts), key=lambda f: f[0])
            continue
        files, named = _literal_files(tree, raw, opts)
        single = named and len(sources) == 1
        found += sorted(files, key=lambda f: f[0])
    is_dir = NodeKind.DIRECTORY
    directories = [PlannedDirectory(p, place(r), base) for p, r, node, base in found if node.kind is is_dir]
    found = [f for f in found if f[2].kind is not NodeKind.DIRECTORY]
    if selects is not None:
        found = [f for f in found if selects(f[1])]
    if single and found and not destination.into and not is_directory(destination.path):
        path, _, node, _ = found[0]
        return Plan([PlannedFile(path, destination.path, node.size, node.mtime)], single=True)
    planned = [PlannedFile(p, place(rel), node.size, node.mtime, base) for p, rel, node, base in found]
    left = [
        LeftOut(item, node.unreadable)
        for item, (_, _, node, _) in zip(planned, found, strict=True)
        if node.unreadable is not None
    ]
    if left:
        log.info(
            "leaving out %d file(s) that cannot be read now: %s",
            len(left),
            [x.file.source for x in left[:10]],
        )
        planned = [item for item, f in zip(planned, found, strict=True) if f[2].unreadable is None]
    check_unique([*directories, *planned])
    return Plan(planned, left_out=left, directories=directories, **_kept_aside(opts, place, selects))


def _kept_aside(
    opts: _Options, place: Callable[[str], str], selects: Callable[[str], bool] | None
) -> dict[str, Any]:
    """The plan's directories that could not be listed and its files named like the engine's temporaries."""
    unlisted = [Unlisted(PlannedFile(p, place(r), 0, None, base), exc) for p, r, exc, base in opts.unlisted]
    temporaries = [
        PlannedFile(p, place(r), n.size, n.mtime, base)
        for p, r, n, base in opts.temporaries
        if selects is None or selects(r)
    ]
    return {"unlisted": unlisted, "temporary_like": temporaries}


def check_unique(plan: Sequence[PlannedFile | PlannedDirectory]) -> None:
    """Two sources must never land on one destination (IrodsUsageError naming both); a planned directory
    counts, so a file bound where a directory goes is refused too (two directories may merge)."""
    seen: dict[str, str] = {}
    for item in plan:
        if isinstance(item, PlannedDirectory) and item.destination in seen:
            continue  # two trees merging into one directory: as cp -r and iput -r do
        if item.destination in seen:
            raise IrodsUsageError(
                f"{seen[item.destination]!r} and {item.source!r} would both be written to the same path",
                path=item.destination,
            )
        seen[item.destination] = item.source
