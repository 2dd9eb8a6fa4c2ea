"""``IrodsFileSystem``: fsspec over the iRODS HTTP API client and its transfer engine.

Paths are absolute logical paths (``/tempZone/home/rods/x``); URLs are ``irods:///tempZone/...`` or, in
Airflow's convention, ``irods://<conn_id>@<host>/tempZone/...`` (the netloc picks the connection, see
:func:`~irods_provider.fs._paths.strip_protocol`). Listings and ``find``/``glob`` are GenQuery-backed: one
query per kind of entry for a whole tree, never one request per entry.

Instance caching follows fsspec's rules (one instance per arguments, thread and process). Instances built
from an Airflow connection keep no secret in their arguments (the connection is read when the session is
first needed); Airflow's ``get_fs`` skips the cache, because Airflow's own ``attach()`` caches per
connection and a fresh read picks up rotated credentials. With explicit ``password``/``token`` arguments
the secret is part of ``storage_options`` (as with every fsspec filesystem): prefer ``conn_id`` or ``auth``.
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import datetime as dt
import errno
import hashlib
import io
import logging
import os
import posixpath
import threading
from contextvars import ContextVar
from typing import Any, cast

from fsspec.callbacks import DEFAULT_CALLBACK
from fsspec.spec import AbstractFileSystem
from fsspec.utils import isfilelike

from irods_provider._urls import split_url
from irods_provider._values import refuse_empty_segment_in
from irods_provider.client import (
    BasicAuth,
    Entry,
    EntryKind,
    IrodsSession,
    StaticToken,
    TokenProvider,
)
from irods_provider.client._genquery import match_condition
from irods_provider.client._locks import is_no_good_replica, unreadable_error
from irods_provider.client._paths import is_temporary_name, needs_catalog
from irods_provider.client._patterns import has_magic
from irods_provider.client.transfer import (
    ChecksumScheme,
    OverwritePolicy,
    ParallelWriter,
    ReplicaVerification,
    TransferConfig,
    TransferSubscriber,
    download_object,
    open_reader,
    open_writer,
    pin_checksum_scheme,
    scheme_of,
    upload_object,
)
from irods_provider.client.transfer._alias import ReadAlias, needs_alias, source_stat, verify_bytes
from irods_provider.client.transfer._atomic import replace_object
from irods_provider.client.transfer._leftout import BEING_WRITTEN, NO_GOOD_REPLICA
from irods_provider.exceptions import (
    IrodsAlreadyExistsError,
    IrodsCollectionNotEmptyError,
    IrodsError,
    IrodsIntegrityError,
    IrodsLockedError,
    IrodsNotACollectionError,
    IrodsNotADataObjectError,
    IrodsNotFoundError,
    IrodsResponseError,
    IrodsSourceChangedError,
    IrodsUsageError,
)
from irods_provider.fs._file import IrodsFile
from irods_provider.fs._paths import PROTOCOL, conn_id_from_url, join, strip_protocol

__all__ = ["IrodsFileSystem"]

log = logging.getLogger(__name__)

_MISSING = (IrodsNotADataObjectError, IrodsNotACollectionError, IrodsNotFoundError)
Info = dict[str, Any]


def _not_found(path: str) -> FileNotFoundError:
    return FileNotFoundError(errno.ENOENT, "no data object or collection at this path", path)


#: The paths the ``get`` under way named itself (None: no ``get``); the rest a tree or glob selected.
_NAMED: ContextVar[frozenset[str] | None] = ContextVar("irods_fs_get_named", default=None)


def _left_out(path: str, error: IrodsResponseError) -> bool:
    """Whether ``get`` leaves out ``path``, which a tree or glob selected, for ``error``: it has no good
    replica (another client is writing it, or its write failed). Logged."""
    named = _NAMED.get()
    if named is None or path in named:
        return False
    if isinstance(error, IrodsLockedError):
        log.warning("Left out %s: %s", path, BEING_WRITTEN)
        return True
    if is_no_good_replica(error):
        log.warning("Left out %s: %s", path, NO_GOOD_REPLICA)
        return True
    return False


class _CallbackProgress(TransferSubscriber):
    """An fsspec ``callback`` as a transfer subscriber: the size once, then each amount of progress."""

    def __init__(self, callback: Any) -> None:
        self._callback = callback

    def on_queued(self, *, path: str, size: int | None, **kwargs: Any) -> None:
        if size is not None:
            self._callback.set_size(size)

    def on_progress(self, *, path: str, bytes_transferred: int, **kwargs: Any) -> None:
        self._callback.relative_update(bytes_transferred)


def _entry_info(entry: Entry) -> Info:
    if entry.kind is EntryKind.COLLECTION:
        return {"name": entry.path, "size": 0, "type": "directory", "mtime": entry.modified_at}
    info: Info = {"name": entry.path, "size": entry.size or 0, "type": "file", "mtime": entry.modified_at}
    if entry.checksum:
        info["checksum"] = entry.checksum
    return info


class IrodsFileSystem(AbstractFileSystem):  # type: ignore[misc]
    """fsspec filesystem for iRODS (protocol ``irods``) over the iRODS HTTP API.

    Build it from an Airflow connection (``conn_id``, default ``irods_default`` when nothing else is
    given), from an explicit ``base_url`` (``http(s)://host:port/irods-http-api/0.7.0``; without the
    version, or without the path, the version is discovered as for the connection's ``auto``) with
    ``username``/``password``, ``token`` or an ``auth`` TokenProvider, or around an existing ``session``
    (not closed by this object).

    Example:

    ```python
    import fsspec

    fs = fsspec.filesystem("irods", conn_id="irods_default")
    fs.pipe("/tempZone/home/alice/hello.txt", b"hello")
    print(fs.ls("/tempZone/home/alice", detail=False))
    with fs.open("irods:///tempZone/home/alice/hello.txt", "rb") as f:
        print(f.read())
    ```

    :param streams: parallel streams per file for big reads and writes (default: 6 ranged reads, 3
        parallel-write streams; writes are capped by the server's per-handle limit).
    :param chunk_size: bytes per request for big reads and writes (capped by the server's body limit).
    :param use_trash: ``rm`` moves to the trash instead of deleting (default: delete, like ``irm -f``).
    :param auto_mkdir: create missing parent collections when writing (default True, like object stores).
    :param checksum_scheme: ``sha256``, ``md5``, ``sha512``, ``sha1`` or ``adler32`` pins the zone's checksum
        scheme for verified transfers; None (default) uses the connection's extra, else learns it from the
        server's answers.
    :param resource: root resource new and replaced data objects are written to (storage option); default:
        the connection's ``default_resource`` extra (with ``conn_id``), else the server's default.
    :param verify_replicas: which replicas of a written file are verified before it is published
        (``auto``, the default, ``all`` or ``default``: see ``TransferConfig.verify_replicas``).
    :param drop_remote_avus: a write replacing an object of a federated zone that carries AVUs replaces it
        without them (iRODS cannot set AVUs there through the HTTP API); default False refuses the write
        before anything is written (``IrodsRemoteMetadataError``).
    """

    protocol = PROTOCOL
    root_marker = "/"

    def __init__(
        self,
        *,
        conn_id: str | None = None,
        base_url: str | None = None,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        auth: TokenProvider | None = None,
        session: IrodsSession | None = None,
        verify: bool | str = True,
        streams: int | None = None,
        chunk_size: int | None = None,
        use_trash: bool = False,
        auto_mkdir: bool = True,
        checksum_scheme: str | None = None,
        resource: str | None = None,
        verify_replicas: ReplicaVerification | str | None = None,
        drop_remote_avus: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._drop_remote_avus = bool(drop_remote_avus)
        if session is None and base_url is None and conn_id is None:
            conn_id = "irods_default"
        self.conn_id = conn_id
        self._base_url = base_url
        self._auth_args = (username, password, token, auth)
        self._verify = verify
        self._session = session
        self._owns_session = session is None
        self._session_lock = threading.Lock()
        self._streams = streams
        self._chunk_size = chunk_size
        self.use_trash = use_trash
        self.auto_mkdir = auto_mkdir
        self._checksum_scheme = None if checksum_scheme is None else ChecksumScheme(checksum_scheme)
        self._verify_replicas: ReplicaVerification | None = None
        if verify_replicas is not None:  # the config converts a mode's value, refusing an unknown one here
            mode = cast(ReplicaVerification, verify_replicas)
            self._verify_replicas = TransferConfig(verify_replicas=mode).verify_replicas
        if resource is not None and (not resource or any(c in resource for c in " ;/")):
            raise ValueError(f"resource must be a root resource name, got {resource!r}")
        self._resource = resource
        self._default_resource: str | None = None

    # construction ------------------------------------------------------------------------------------------
    @property
    def session(self) -> IrodsSession:
        """The client session, opened on first use (from the Airflow connection or the explicit URL)."""
        if self._session is None:
            with self._session_lock:
                if self._session is None:
                    self._session = self._open_session()
                    if self._checksum_scheme is not None:  # only a session this filesystem owns
                        pin_checksum_scheme(self._session, self._checksum_scheme)
        return self._session

    def _open_session(self) -> IrodsSession:
        if self._base_url is not None:
            # A base_url without a version segment is discovered like the connection's ``auto``.
            from irods_provider.client._discovery import resolve_base_url

            base_url = resolve_base_url(self._base_url, verify=self._verify)
            return IrodsSession(base_url, auth=self._explicit_auth(), verify=self._verify)
        from irods_provider.hooks.irods import IrodsHook

        hook = IrodsHook(str(self.conn_id))
        session = hook.get_conn()
        self._default_resource = hook.settings.default_resource
        return session

    @property
    def resource(self) -> str | None:
        """Where new data objects go: the ``resource`` option, else the connection's ``default_resource``."""
        if self._resource is not None:
            return self._resource
        _ = self.session  # opening the session reads the connection's default
        return self._default_resource

    def _explicit_auth(self) -> TokenProvider | None:
        username, password, token, auth = self._auth_args
        if auth is not None:
            return auth
        if token is not None:
            return StaticToken(token)
        if username is not None:
            return BasicAuth(username, password or "")
        return None

    def close_session(self) -> None:
        """Close the session this filesystem opened (a later call opens a new one)."""
        with self._session_lock:
            session, self._session = self._session, None
        if session is not None and self._owns_session:
            session.close()

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        return strip_protocol(os.fspath(path) if not isinstance(path, str) else path)

    @staticmethod
    def _get_kwargs_from_urls(path: str) -> dict[str, Any]:
        conn_id = conn_id_from_url(path)
        return {"conn_id": conn_id} if conn_id else {}

    # transfer engine ----------------------------------------------------------------------------------------
    @property
    def transfer_config(self) -> TransferConfig:
        """The transfer settings after the server's limits (streams, chunk size), for writes."""
        return self._settings().for_server(self.session.limits)

    @property
    def read_config(self) -> TransferConfig:
        """The transfer settings after the server's limits, for reads (more streams by default: see
        :attr:`TransferConfig.streams`)."""
        return self._settings().for_server(self.session.limits, reads=True)

    def _settings(self) -> TransferConfig:
        overrides: dict[str, Any] = {}
        if self._streams is not None:
            overrides["streams"] = self._streams
        if self._chunk_size is not None:
            overrides["chunk_size"] = self._chunk_size
            overrides["small_file_threshold"] = self._chunk_size
        if self._checksum_scheme is not None:
            overrides["checksum_scheme"] = self._checksum_scheme
        overrides["resource"] = self.resource
        if self._verify_replicas is not None:
            overrides["verify_replicas"] = self._verify_replicas
        overrides["drop_remote_avus"] = self._drop_remote_avus
        return TransferConfig(**overrides)

    @property
    def small_write_bytes(self) -> int:
        """Content up to this size is written in one request, without a parallel-write handle."""
        return self.transfer_config.chunk_size

    def write_whole(self, path: str, data: bytes) -> None:
        """Write ``data`` as all of ``path`` through the engine's upload: one request onto a hidden temporary
        sibling, verified as every upload is (the server's checksum of the replicas ``verify_replicas``
        names, left in the catalog), then renamed onto ``path`` (an object there replaced, its grants and
        AVUs kept). A write that fails (a full vault acknowledges the bytes it dropped, a lost connection,
        ``kill -9``) leaves ``path`` as it was: written in place, it left a truncated object there that
        looked complete, in place of the one it was to replace. Errors name ``path``."""
        if not self.auto_mkdir:
            self.require_parent(path)  # else the engine's error would name its temporary
        try:
            upload_object(
                self.session,
                io.BytesIO(data),
                path,
                config=self.transfer_config,
                overwrite=OverwritePolicy.OVERWRITE,
                resume=False,
                size=len(data),
            )
        except IrodsError as exc:
            parent, name = posixpath.split(exc.path or "")
            if parent == posixpath.dirname(path) and is_temporary_name(name):
                exc.path = path  # the caller's path, not the engine's temporary sibling of it
            raise

    def open_writer(
        self,
        path: str,
        *,
        offset: int = 0,
        truncate: bool = True,
        publish: bool = True,
        guard: bool | None = None,
    ) -> ParallelWriter:
        """A parallel writer on ``path`` with this filesystem's transfer settings (new content goes through
        a temporary sibling, renamed onto ``path`` at close, or by ``publish()`` when ``publish=False``,
        checked first unless ``guard=False``)."""
        return open_writer(
            self.session,
            path,
            config=self.transfer_config,
            offset=offset,
            truncate=truncate,
            publish=publish,
            guard=guard,
        )

    def read_range(self, path: str, start: int, end: int, *, read_path: str | None = None) -> bytes:
        """Bytes ``[start, end)`` of a data object whose size is at least ``end``: one request or parallel.

        A ``path`` holding ``+`` (no GET can address it) is read from ``read_path``, a server-side copy the
        caller made (:class:`~irods_provider.client.transfer._alias.ReadAlias`), else from one made, checked
        against the original's checksum, and removed for this call.
        """
        if end <= start:
            return b""
        if read_path is None and needs_alias(path):
            with ReadAlias(self.session, path, verify=True) as alias:
                return self.read_range(path, start, end, read_path=alias.path)
        config = self.read_config
        if end - start <= config.chunk_size:
            return self.session.data_objects.read(read_path or path, offset=start, count=end - start)
        with open_reader(
            self.session, path, config=config, offset=start, size=end, read_path=read_path
        ) as reader:
            return reader.read()

    # metadata ----------------------------------------------------------------------------------------------
    def info(self, path: str, **kwargs: Any) -> Info:
        """Name, size, type and mtime; a data object without a good replica has no size worth reporting:
        IrodsLockedError while another client writes it, else SYS_NO_GOOD_REPLICA (its write failed)."""
        path = self._strip_protocol(path)
        if needs_catalog(path):  # '+' (a GET reads it as a space) or "'" (4.3's stat may miss it)
            try:
                entry = self.session.collections.lookup(path)
            except _MISSING:
                raise _not_found(path) from None
            # as the server's stat of a plain path: no good replica, no size (filesystem.cpp:745-763)
            if (unreadable := unreadable_error(path, entry.replicas, operation="stat")) is not None:
                raise unreadable
            return _entry_info(entry)
        try:
            st = self.session.data_objects.stat(path)
        except _MISSING:
            pass
        else:
            info: Info = {"name": path, "size": st.size, "type": "file", "mtime": st.modified_at}
            if st.checksum:
                info["checksum"] = st.checksum
            return info
        try:
            cst = self.session.collections.stat(path)
        except _MISSING:
            raise _not_found(path) from None
        return {"name": path, "size": 0, "type": "directory", "mtime": cst.modified_at}

    def exists(self, path: str, **kwargs: Any) -> bool:
        """Whether something is at ``path``: a data object another client is still writing, or whose last
        write failed, exists (its ``info`` and reads raise IrodsLockedError, or SYS_NO_GOOD_REPLICA)."""
        try:
            self.info(path)
        except FileNotFoundError:
            return False
        except IrodsResponseError as exc:  # locked, or its write failed: there, but unreadable now
            if isinstance(exc, IrodsLockedError) or is_no_good_replica(exc):
                return True
            raise
        return True

    def isdir(self, path: str) -> bool:
        return self.session.collections.exists(self._strip_protocol(path))

    def isfile(self, path: str) -> bool:
        return self.session.data_objects.exists(self._strip_protocol(path))

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> builtins.list[Any]:
        path = self._strip_protocol(path)
        infos = [_entry_info(e) for e in self.session.collections.iterate(path, with_stat=True)]
        if not infos:
            info = self.info(path)
            if info["type"] == "file":
                infos = [info]
        infos.sort(key=lambda i: i["name"])
        return infos if detail else [i["name"] for i in infos]

    def find(
        self,
        path: str,
        maxdepth: int | None = None,
        withdirs: bool = False,
        detail: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Every entry below ``path`` from one GenQuery walk (collections and data objects)."""
        if maxdepth is not None and maxdepth < 1:
            raise ValueError("maxdepth must be at least 1")
        path = self._strip_protocol(path)
        base = path.rstrip("/")
        out: dict[str, Info] = {}
        for entry in self.session.collections.walk(path, with_stat=True):
            depth = entry.path[len(base) + 1 :].count("/") + 1
            if (maxdepth is not None and depth > maxdepth) or (
                entry.kind is EntryKind.COLLECTION and not withdirs
            ):
                continue
            out[entry.path] = _entry_info(entry)
        if withdirs or not out:
            try:
                info = self.info(path)
            except FileNotFoundError:
                info = None
            if info is not None and ((info["type"] == "file" and not out) or withdirs):
                out[path] = info
        names = sorted(out)
        return {n: out[n] for n in names} if detail else names

    def checksum(self, path: str) -> int:
        """The server's content checksum (computed by the server if absent) as an int, as fsspec expects."""
        value = self.server_checksum(path)
        scheme, digest = scheme_of(value), value.partition(":")[2]
        if scheme is None:
            raise IrodsIntegrityError(
                f"unrecognised checksum scheme in {value!r}",
                operation="checksum",
                path=self._strip_protocol(path),
            )
        if scheme is ChecksumScheme.MD5:
            return int(value, 16)
        if scheme is ChecksumScheme.ADLER32:
            return int(digest, 16)
        return int.from_bytes(base64.b64decode(digest), "big")  # sha2, sha512, sha1: base64

    def server_checksum(self, path: str, *, force: bool = False) -> str:
        """The iRODS checksum of a data object, e.g. ``sha2:<base64 sha256>`` (stored, or computed now)."""
        path = self._strip_protocol(path)
        try:
            return self.session.data_objects.calculate_checksum(path, force=force)
        except _MISSING as error:
            raise self._not_a_data_object(path, error, operation="checksum") from None

    def ukey(self, path: str) -> str:
        """A key that changes when the content changes: path, size, mtime and the server's checksum.

        The mtime has one-second resolution, so a same-size rewrite within a second keeps it; the checksum
        tells them apart. It costs a request per call, and on each new content the server reads the whole
        object once to compute it (then keeps it until the content changes).
        """
        info = self.info(path)
        checksum = self.server_checksum(info["name"]) if info["type"] == "file" else ""
        key = f"{info['name']}|{info['size']}|{info.get('mtime')}|{checksum}"
        return hashlib.sha256(key.encode()).hexdigest()

    def _not_a_data_object(self, path: str, error: Exception, *, operation: str) -> Exception:
        """The error for a data-object operation that failed with ``error`` as if ``path`` were none: a
        collection there (IsADirectoryError), nothing there (FileNotFoundError), else ``error`` itself."""
        info = self.info(path)  # FileNotFoundError when there is nothing
        if info["type"] == "directory":
            return IrodsNotADataObjectError("a collection, not a data object", operation=operation, path=path)
        return error

    def modified(self, path: str) -> dt.datetime:
        """Last modification time (UTC)."""
        return dt.datetime.fromtimestamp(int(self.info(path)["mtime"] or 0), tz=dt.UTC)

    def created(self, path: str) -> dt.datetime:
        """Creation time (UTC) from the catalog (one GenQuery)."""
        path = self._strip_protocol(path)
        parent, _, name = path.rpartition("/")
        parent = parent or "/"
        # match_condition: conditions iRODS 4.3 and 5.0 read alike (a ' or + widened to a like), so the
        # names are selected too and compared exactly.
        in_parent, named, is_path = (
            match_condition("COLL_NAME", parent)[0],
            match_condition("DATA_NAME", name)[0],
            match_condition("COLL_NAME", path)[0],
        )
        queries = (
            (f"select DATA_CREATE_TIME, COLL_NAME, DATA_NAME where {in_parent} and {named}", [parent, name]),
            (f"select COLL_CREATE_TIME, COLL_NAME where {is_path}", [path]),
        )
        zone = self.session.query.zone_for(path)
        for query, expected in queries:
            for row in self.session.query.genquery(query, zone=zone):
                if row[1:] == expected:
                    return dt.datetime.fromtimestamp(int(row[0] or 0), tz=dt.UTC)
        raise _not_found(path)

    def data_object_id(self, path: str) -> str | None:
        """The catalog id (``DATA_ID``) of the data object at ``path``, None when there is none (a GenQuery).

        Another object renamed onto the path (a replacing publish) brings its own id; an append or an
        in-place write keeps it.
        """
        path = self._strip_protocol(path)
        parent, _, name = path.rpartition("/")
        parent = parent or "/"
        in_parent, named = match_condition("COLL_NAME", parent)[0], match_condition("DATA_NAME", name)[0]
        query = f"select DATA_ID, COLL_NAME, DATA_NAME where {in_parent} and {named}"
        for row in self.session.query.genquery(query, zone=self.session.query.zone_for(path)):
            if row[1:] == [parent, name]:  # the conditions may be widened (see created)
                return str(row[0])
        return None

    def open_identity(self, path: str) -> tuple[Info, str] | None:
        """What a file opened for reading names: its :meth:`info` and its catalog id (``DATA_ID``), from one
        GenQuery in place of the stat ``info`` asks (a data object without a good replica raises as ``info``
        does); None when no data object is at ``path``."""
        path = self._strip_protocol(path)
        found = self.session.data_objects.identify(path)
        if found is None:
            return None
        entry, data_id = found
        if (unreadable := unreadable_error(path, entry.replicas, operation="stat")) is not None:
            raise unreadable
        return _entry_info(entry), data_id

    def check_same_object(self, path: str, data_id: str | None) -> None:
        """Raise IrodsSourceChangedError unless ``path`` still names the data object ``data_id``: bytes read
        by several requests before this would join a replaced object's to its replacement's."""
        if self.data_object_id(path) != data_id:
            raise IrodsSourceChangedError(
                "the data object was replaced by another one while it was read (its catalog id changed): "
                "the bytes read so far belong to the old one",
                changed="replaced",
                operation="read",
                path=path,
            )

    # changes -----------------------------------------------------------------------------------------------
    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        self._create_collection(self._strip_protocol(path), intermediates=create_parents)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        self._create_collection(self._strip_protocol(path), intermediates=True, exist_ok=exist_ok)

    def _create_collection(self, path: str, *, intermediates: bool, exist_ok: bool = False) -> None:
        """Create ``path``; a data object where a parent collection should be is a NotADirectoryError
        naming it (the server only says its input is invalid)."""
        try:
            self.session.collections.create(path, intermediates=intermediates, exist_ok=exist_ok)
        except IrodsAlreadyExistsError:
            raise
        except IrodsResponseError as error:
            parent = self._parent(path)
            while parent and parent != "/" and not self.session.data_objects.exists(parent):
                parent = self._parent(parent)
            if not parent or parent == "/":
                raise
            raise IrodsNotACollectionError(
                f"{parent} is a data object: no collection can be created below it",
                http_status=error.http_status,
                irods_code=error.irods_code,
                operation="mkdir",
                path=path,
            ) from error

    def require_parent(self, path: str) -> None:
        """Raise IrodsNotFoundError naming the parent collection of ``path`` when it does not exist."""
        parent = self._parent(path)
        if parent and not self.session.collections.exists(parent):
            raise IrodsNotFoundError(
                f"collection {parent} does not exist (auto_mkdir is off)", operation="write", path=parent
            )

    def ensure_parent(self, path: str) -> None:
        """Create the parent collection of ``path`` if missing (when ``auto_mkdir``)."""
        parent = self._parent(path)
        if self.auto_mkdir and parent and not self.session.collections.exists(parent):
            # Exists but hidden from this user: the write itself then reports the real error.
            with contextlib.suppress(IrodsAlreadyExistsError):
                self.session.collections.create(parent, intermediates=True, exist_ok=True)

    def rmdir(self, path: str) -> None:
        path = self._strip_protocol(path)
        try:
            self.session.collections.remove(path, no_trash=not self.use_trash)
        except IrodsCollectionNotEmptyError as error:
            raise OSError(errno.ENOTEMPTY, "collection not empty", path) from error
        except _MISSING as error:
            if self.info(path)["type"] == "file":  # FileNotFoundError when there is nothing
                raise IrodsNotACollectionError(
                    "a data object, not a collection", operation="rmdir", path=path
                ) from error
            raise

    def rm_file(self, path: str) -> None:
        """Remove one data object (a collection is an IsADirectoryError: use ``rmdir`` or ``rm``)."""
        path = self._strip_protocol(path)
        if self.info(path)["type"] == "directory":  # the server's answer for a collection is not relied on
            raise IrodsNotADataObjectError("a collection, not a data object", operation="rm_file", path=path)
        self.session.data_objects.remove(path, no_trash=not self.use_trash)

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        """Remove data objects and collections; a recursive collection removal is one request.

        With ``maxdepth`` only entries down to that depth go, deepest first, each collection only once
        empty (as fsspec's MemoryFileSystem does): deeper content left is an ENOTEMPTY OSError. A path holding
        ``*``, ``?`` or ``[`` is a glob here (fsspec's API), but one that also names an existing object or
        collection is refused before anything goes: removing ``data1.csv`` for ``data[1].csv`` loses data.
        A path with an empty segment (``/zone/home//x``, a trailing ``/``: a template part that rendered
        empty) is refused too (IrodsInvalidPathError naming it): the path rule would widen the removal.
        """
        for raw in [path] if isinstance(path, str) else list(path):
            refuse_empty_segment_in("path", split_url(os.fspath(raw))[1])
        self._refuse_ambiguous(path)
        if maxdepth is None:
            for p in sorted(self.expand_path(path, recursive=False), reverse=True):
                self._rm_one(p, recursive=recursive)
            return
        for p in sorted(self.expand_path(path, recursive=recursive, maxdepth=maxdepth), reverse=True):
            self._rm_one(p, recursive=False)

    def _refuse_ambiguous(self, paths: Any) -> None:
        """Refuse a glob that is also the name of something there (see :meth:`rm`)."""
        for path in [paths] if isinstance(paths, str) else list(paths):
            literal = self._strip_protocol(path)
            if has_magic(literal) and self.exists(literal):
                raise IrodsUsageError(
                    f"{literal!r} names an existing entry and is also a glob pattern; pass "
                    f"glob.escape(path) to remove that entry, or rm_file(path) for one data object"
                )

    def _rm_one(self, path: str, *, recursive: bool) -> None:
        """Stat first, then the call for that kind: the server's code for unlinking a collection as a data
        object is not known (data-objects remove has no type pre-check), so it is never relied on."""
        no_trash = not self.use_trash
        if self.info(path)["type"] == "file":
            self.session.data_objects.remove(path, no_trash=no_trash)
            return
        try:
            self.session.collections.remove(path, recurse=recursive, no_trash=no_trash)
        except _MISSING:
            raise _not_found(path) from None
        except IrodsCollectionNotEmptyError as error:
            raise OSError(errno.ENOTEMPTY, "collection not empty (use recursive=True)", path) from error

    def remove_quietly(self, path: str) -> None:
        """Remove a data object if it exists (cleanup paths; never raises for a missing one)."""
        with contextlib.suppress(*_MISSING):
            self.session.data_objects.remove(path, no_trash=True)

    def replace_data_object(self, source: str, target: str) -> None:
        """Rename ``source`` onto ``target``, replacing an existing data object there; the old object is
        moved aside first and put back if the rename fails (the engine's publish), never lost."""
        replace_object(self.session, source, target, config=self.transfer_config)

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        """Server-side copy of one data object (a collection source creates the target collection); a data
        object without a good replica is refused first (IrodsLockedError, or SYS_NO_GOOD_REPLICA)."""
        path1, path2 = self._strip_protocol(path1), self._strip_protocol(path2)
        if path1 == path2:
            self.info(path1)  # nothing to copy, but it must exist
            return
        self._refuse_unreadable(path1)
        self.ensure_parent(path2)
        try:
            self.session.data_objects.copy(path1, path2, overwrite=True, dst_resource=self.resource)
        except IrodsNotADataObjectError:
            if not self.session.collections.exists(path1):
                raise _not_found(path1) from None
            self.makedirs(path2, exist_ok=True)

    def _refuse_unreadable(self, path: str) -> None:
        """Raise for a data object without a good replica (one query): the server would copy a stale
        replica's bytes (a failed write's) into a good one, or refuse one being written half-way."""
        try:
            replicas = self.session.data_objects.replicas(path)
        except IrodsNotADataObjectError:
            return  # a collection, or nothing: the copy says which
        error = unreadable_error(path, replicas, operation="data_objects.copy")
        if error is not None:
            raise error

    def mv(
        self, path1: Any, path2: Any, recursive: bool = False, maxdepth: int | None = None, **kwargs: Any
    ) -> None:
        """Server-side rename of one data object or collection (into ``path2`` if it is a collection or
        ends with ``/``, created then if missing)."""
        if not isinstance(path1, str) or not isinstance(path2, str) or maxdepth is not None:
            super().mv(path1, path2, recursive=recursive, maxdepth=maxdepth, **kwargs)
            return
        source, target = self._strip_protocol(path1), self._strip_protocol(path2)
        if source == target:
            return
        info = self.info(source)
        if path2.endswith("/") or self.session.collections.exists(target):
            target = join(target, source.rsplit("/", 1)[-1])
        self.ensure_parent(target)
        if info["type"] == "directory":
            self.session.collections.rename(source, target)
        else:
            self.replace_data_object(source, target)

    def touch(self, path: str, truncate: bool = True, **kwargs: Any) -> None:
        path = self._strip_protocol(path)
        self.ensure_parent(path)
        if truncate:
            self.session.data_objects.write(path, b"", resource=self.resource)
        else:
            self.session.data_objects.touch(path)

    # content -----------------------------------------------------------------------------------------------
    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | str | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> IrodsFile:
        path = self._strip_protocol(path)
        if mode == "xb":
            if self.exists(path):
                raise FileExistsError(errno.EEXIST, "a data object or collection exists at this path", path)
            mode = "wb"
        if block_size in (None, "default"):
            block_size = self.transfer_config.chunk_size
        return IrodsFile(
            self,
            path,
            mode,
            block_size=block_size,
            autocommit=autocommit,
            cache_options=cache_options,
            **kwargs,
        )

    def cat_file(self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any) -> bytes:
        path = self._strip_protocol(path)
        try:
            size = source_stat(self.session, path).size
        except _MISSING as error:
            raise self._not_a_data_object(path, error, operation="cat_file") from None
        begin = 0 if start is None else (max(size + start, 0) if start < 0 else min(start, size))
        stop = size if end is None else (max(size + end, 0) if end < 0 else min(end, size))
        if stop - begin > self.read_config.chunk_size and not needs_alias(path):  # several requests
            data_id = self.data_object_id(path)
            data = self.read_range(path, begin, stop)
            self.check_same_object(path, data_id)
            return data
        if not needs_alias(path) or stop <= begin:
            return self.read_range(path, begin, stop)
        # A '+' path: read through a server-side copy; the whole object is checked against the original's
        # checksum by its bytes, a part by comparing the copy's checksum with the original's first.
        whole = begin == 0 and stop == size
        with ReadAlias(self.session, path, verify=not whole, size=size) as alias:
            data = self.read_range(path, begin, stop, read_path=alias.path)
        if whole:
            verify_bytes(self.session, path, data)
        return data

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        path = self._strip_protocol(path)
        if mode == "create" and self.exists(path):
            raise FileExistsError(errno.EEXIST, "a data object or collection exists at this path", path)
        if len(value) <= self.small_write_bytes:
            self.ensure_parent(path)
            self.write_whole(path, value)
            return
        with self.open(path, "wb") as f:
            f.write(value)

    def get(
        self,
        rpath: Any,
        lpath: Any,
        recursive: bool = False,
        callback: Any = DEFAULT_CALLBACK,
        maxdepth: int | None = None,
        **kwargs: Any,
    ) -> None:
        """fsspec's ``get``: a data object a tree or glob selected that cannot be read now (another client
        is still writing it, or its last write failed: no good replica) is left out with a warning, for a
        later run; one named by itself raises (IrodsLockedError for one being written)."""
        named = [rpath] if isinstance(rpath, str) else list(rpath)
        token = _NAMED.set(frozenset(self._strip_protocol(p) for p in named))
        try:
            super().get(rpath, lpath, recursive=recursive, callback=callback, maxdepth=maxdepth, **kwargs)
        finally:
            _NAMED.reset(token)

    def get_file(
        self, rpath: str, lpath: Any, callback: Any = None, outfile: Any = None, **kwargs: Any
    ) -> None:
        """Download one data object with parallel ranged reads into a verified temporary renamed onto
        ``lpath`` (a collection becomes a local directory)."""
        rpath = self._strip_protocol(rpath)
        if isfilelike(lpath) or outfile is not None:
            super().get_file(rpath, lpath, callback=callback, outfile=outfile, **kwargs)
            return
        try:
            info = self.info(rpath)
        except IrodsResponseError as exc:
            if not _left_out(rpath, exc):
                raise
            return
        if info["type"] == "directory":
            os.makedirs(lpath, exist_ok=True)
            return
        # The engine's download: a local temporary sibling, verified against the server's checksum, then
        # renamed onto ``lpath``, so a failure leaves the previous file there and nothing partial.
        download_object(
            self.session,
            rpath,
            os.fspath(lpath),
            config=self._settings(),
            overwrite=OverwritePolicy.OVERWRITE,
            subscribers=() if callback is None else (_CallbackProgress(callback),),
        )
