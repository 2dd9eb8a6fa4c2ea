"""Transfer configuration and policies: every limit that bounds memory, concurrency and request time."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from irods_provider.client._versions import MULTIPART_FRAMING_RESERVE
from irods_provider.exceptions import IrodsConfigurationError

from ._api import ServerLimitsLike

MIB = 1024 * 1024
#: Parallel-write streams of an upload's handle when ``streams`` is unset: the HTTP API's default
#: ``max_number_of_streams_per_parallel_write_handle`` (a larger ``stream-count`` is refused with HTTP 400).
DEFAULT_WRITE_STREAMS = 3
#: Ranged reads in flight for a download when ``streams`` is unset: each is its own GET, which the
#: per-handle cap of parallel writes does not limit. As many as an upload keeps write requests in flight
#: (3 streams x 2): on a WAN path each is one TCP window per round trip. The server holds a thread and an
#: iRODS connection only while it reads a range from storage (a range above its read buffer, 1 MiB by
#: default, gets a connection of its own), not while the bytes cross the link.
DEFAULT_READ_STREAMS = 6


class OverwritePolicy(enum.Enum):
    """What to do when the destination already exists."""

    REFUSE = "refuse"
    """Raise :class:`~irods_provider.exceptions.IrodsAlreadyExistsError` naming the path (the default)."""
    OVERWRITE = "overwrite"
    """Replace the destination (atomically: the old object is only removed after the new one is in place)."""


class SkipPolicy(enum.Enum):
    """When an existing destination counts as already transferred, so re-runs are cheap."""

    NEVER = "never"
    """Always transfer (then the overwrite policy decides)."""
    EXISTS = "exists"
    """Skip when the destination exists at all."""
    SIZE = "size"
    """Skip when the destination exists with the same size."""
    CHECKSUM = "checksum"
    """Skip when the destination exists with the same size and checksum."""


class ChecksumScheme(enum.Enum):
    """The hash the zone stores (its ``default_hash_scheme``): ``sha2:`` base64 SHA-256 (iRODS default), MD5
    hex, ``sha512:``/``sha1:`` base64 or ``adler32:`` hex. ADLER-32 is a 32-bit checksum: it catches damage,
    not a deliberate change, so transfers verify their own SHA-256 where the other side can give one."""

    SHA256 = "sha256"
    MD5 = "md5"
    SHA512 = "sha512"
    SHA1 = "sha1"
    ADLER32 = "adler32"


class ReplicaVerification(enum.Enum):
    """Which replicas of an uploaded object are checked against the bytes sent before it is published.

    A replication resource (or a compound one) gives a new object several replicas when its write closes;
    ``calculate_checksum`` alone hashes only the replica the server votes for.
    """

    AUTO = "auto"
    """Every replica wherever uploads get several: the first upload of a session to each (zone, resource,
    collection) lists its replicas (one GenQuery), and the answer holds for that session's later uploads
    there (per collection: a site's policy may pick the resource by path). Objects
    with one replica then cost nothing more; each extra replica costs one ``calculate_checksum``, and the
    list one GenQuery, per upload (the default)."""
    ALL = "all"
    """List and check the replicas of every upload (one GenQuery more per file, whatever was learned)."""
    DEFAULT = "default"
    """Only the replica the server picks (one ``calculate_checksum``: what the engine did before)."""


@dataclass(frozen=True)
class EarlierCopy:
    """What an earlier try of the same task published at a destination: its size and checksum (the zone's
    format: ``sha2:<base64>`` or MD5 hex), so a retry can tell its own copy from anyone else's file."""

    size: int
    checksum: str


@dataclass(frozen=True, kw_only=True)
class TransferConfig:
    """Every limit of one transfer; memory is bounded by these, never by the file size.

    Worst-case buffered bytes of one file transfer::

        RAM <= (max_in_flight_chunks + 2) * chunk_size
            == (streams * queue_depth + 2) * chunk_size        # default: (3*2 + 2) * 8 MiB = 64 MiB
                                                               # (downloads: 6 streams, 112 MiB)

    ``max_in_flight_chunks`` chunks are queued or being sent (each holds one ``bytes``), one is being
    filled by the
    writer and one is being read from the source.  Reads are bounded the same way: ``streams * queue_depth``
    ranged reads are outstanding or buffered for in-order delivery.  Across files multiply by
    ``max_concurrent_files``.

    Attributes:
        streams: parallel streams per file: parallel-write streams of its one handle, or ranged reads in
            flight. A number applies to both; writes are capped by the server's ``max_streams_per_handle``,
            reads are not. None (default): :data:`DEFAULT_WRITE_STREAMS` (3, the HTTP API's default cap)
            for uploads and :data:`DEFAULT_READ_STREAMS` (6) for downloads, whose ranged reads are
            independent requests that no per-handle cap limits (on a WAN path each stream is a TCP
            connection held to one window per round trip). :meth:`for_server` settles it per direction.
        chunk_size: bytes per request; capped by the server's request-body limit (8 MiB by default) and by
            ``request_timeout_seconds * min_stream_bytes_per_second`` so one request finishes within the
            server's
            request deadline even on a slow link.
        queue_depth: chunks queued per stream; ``max_in_flight_chunks = streams * queue_depth``.
        requests_per_stream: write requests in flight per parallel-write stream (at most ``queue_depth``;
            default 2, 1 sends each stream's requests one after another). A request sent while its
            stream's previous one is unanswered goes as a form whose last bytes wait for that answer: the
            server reads a form whole before it writes, so one stream never runs two writes at once, while
            the bytes cross the link meanwhile (the round trip and the server's turnaround are hidden; on a
            WAN path each request in flight is its own TCP window). Memory stays within
            ``max_buffered_bytes``: these are chunks that would otherwise wait in the queue. Uploads then
            cut chunks to fit a form in the body limit (8 MiB less 8 KiB by default).
        small_file_threshold: objects up to this size go in one write request, without a parallel-write
        handle.
        retries: extra attempts per chunk (not per file) on 429/503/500, resets and timeouts.
        backoff_base_seconds / backoff_max_seconds: full-jitter exponential backoff between chunk attempts.
        progress_interval_seconds: how often the logging subscriber writes a progress line.
        max_concurrent_files: files transferred at once by ``upload_files`` / ``download_files``.
        max_concurrent_small_files: files of at most 1 MiB transferred at once besides those (their time
            goes to round trips, not bytes; memory stays under this many MiB). None (default): the engine
            picks it from the plan (16, or fewer when the plan has fewer small files) and adapts it while
            the files run (:mod:`~irods_provider.client.transfer._adaptive`: grows while files/s rises and
            latency stays flat, backs off on 503/429, timeouts or a latency rise); a number pins it.
        max_adaptive_small_files: the adaptive lane's ceiling (also capped by the session's kept-alive
            connections).
        request_timeout_seconds: the server's whole-request deadline (30 s by default).
        min_stream_bytes_per_second: slowest per-stream rate a chunk must survive within that deadline.
        checksum_scheme: the hash the zone answers ``calculate_checksum`` with; None (default) learns it
            from the server's answers (``sha2:``, ``sha512:``, ``sha1:``, ``adler32:`` prefix or 32-hex MD5),
            hashing SHA-256 and MD5 until it knows (another answer re-hashes a re-readable source).
        resource: the root resource new and replaced objects are written to (None: the server's default
            resource); appends and resumed writes go to the replica that already holds the bytes.
        verify_replicas: which replicas of an upload are verified before it is published
            (:class:`ReplicaVerification`, or its value as a string; AUTO by default): every replica must
            be good and hash to the bytes sent, else an ``IrodsChecksumMismatchError`` or an
            ``IrodsStaleReplicaError`` names the replica (number, resource hierarchy) and nothing is
            published.
        resume_checkpoint_bytes: a resumable upload records its committed prefix on its temporary object
            each time it grew by this much (one metadata call), so a worker killed with ``kill -9`` is
            resumed from there; None (default): every 8 chunks (64 MiB with 8 MiB chunks); 0 records only
            when an upload fails in-process.
        claim_lease_seconds: an overwrite in place (write but not own on the object) claims the path and
            renews that claim every fifth of this while it works; a claim not renewed for this long (its
            writer was killed) is taken over by the next writer of the path (300 s by default; at least 1).
            Workers' clocks must agree within two fifths of it. An atomic writer (``open_writer``,
            ``parallel_upload``, fsspec) leases its temporary the same way: another writer of the path
            takes it over only once that lease lapsed (a fresh temporary meanwhile).
        drop_remote_avus: an overwrite keeps the replaced object's AVUs, which iRODS cannot set on an
            object of a federated zone through the HTTP API (its atomic metadata call runs on the local
            catalog); so an overwrite there of an object carrying AVUs is refused before any byte is read
            (:class:`~irods_provider.exceptions.IrodsRemoteMetadataError`). True replaces it without them
            (logged as a warning); False by default. Its grants are kept either way.
        earlier_copies: destination path -> :class:`EarlierCopy`, what an earlier try of the same task
            published there (the transfer operators keep this record for Airflow retries). Under REFUSE a
            destination that, like the source, still holds those bytes is skipped instead of refused;
            empty by default (every existing destination is refused).

    Example:

    ```python
    from irods_provider.client import BasicAuth, IrodsSession
    from irods_provider.client.transfer import TransferConfig, upload_object

    config = TransferConfig(streams=4, chunk_size=16 * 1024 * 1024)  # at most (4*2 + 2) * 16 MiB buffered
    base_url = "https://irods.example.org/irods-http-api/0.7.0"
    with IrodsSession(base_url, auth=BasicAuth("alice", "secret")) as session:
        result = upload_object(session, "/data/big.tar", "/tempZone/home/alice/big.tar", config=config)
    ```
    """

    streams: int | None = None
    chunk_size: int = 8 * MIB
    queue_depth: int = 2
    requests_per_stream: int = 2
    small_file_threshold: int = 8 * MIB
    retries: int = 5
    backoff_base_seconds: float = 0.2
    backoff_max_seconds: float = 10.0
    progress_interval_seconds: float = 10.0
    max_concurrent_files: int = 4
    max_concurrent_small_files: int | None = None
    max_adaptive_small_files: int = 64
    request_timeout_seconds: float = 30.0
    min_stream_bytes_per_second: int = 512 * 1024
    checksum_scheme: ChecksumScheme | None = None
    resource: str | None = None
    resume_checkpoint_bytes: int | None = None
    verify_replicas: ReplicaVerification = ReplicaVerification.AUTO
    claim_lease_seconds: float = 300.0
    drop_remote_avus: bool = False
    earlier_copies: Mapping[str, EarlierCopy] = field(default_factory=dict, compare=False, repr=False)

    def earlier_copy(self, path: str) -> EarlierCopy | None:
        """What an earlier try of this task published at ``path`` (None: nothing it recorded)."""
        return self.earlier_copies.get(path) if self.earlier_copies else None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "verify_replicas", ReplicaVerification(self.verify_replicas))
        except ValueError:
            choices = ", ".join(v.value for v in ReplicaVerification)
            raise IrodsConfigurationError(
                f"TransferConfig.verify_replicas must be one of {choices}, got {self.verify_replicas!r}"
            ) from None
        for name in (
            "streams",
            "chunk_size",
            "queue_depth",
            "requests_per_stream",
            "max_concurrent_files",
            "max_concurrent_small_files",
            "max_adaptive_small_files",
        ):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise IrodsConfigurationError(
                    f"TransferConfig.{name} must be >= 1, got {getattr(self, name)}"
                )
        lease = self.claim_lease_seconds
        if isinstance(lease, bool) or not isinstance(lease, int | float) or not 1 <= lease < float("inf"):
            raise IrodsConfigurationError(
                f"TransferConfig.claim_lease_seconds must be a number of seconds >= 1, got {lease!r}"
            )
        if self.retries < 0 or self.small_file_threshold < 0:
            raise IrodsConfigurationError("TransferConfig.retries and small_file_threshold must be >= 0")

    @property
    def stream_count(self) -> int:
        """``streams`` as settled by :meth:`for_server`; unsettled and unset, the upload default."""
        return DEFAULT_WRITE_STREAMS if self.streams is None else self.streams

    @property
    def write_requests_per_stream(self) -> int:
        """Write requests a parallel-write stream keeps in flight: ``requests_per_stream``, at most
        ``queue_depth`` (a request in flight is a chunk out of the queue)."""
        return max(1, min(self.requests_per_stream, self.queue_depth))

    @property
    def pipelines_writes(self) -> bool:
        """Whether a parallel-write stream may have a second request in flight."""
        return self.write_requests_per_stream > 1

    @property
    def max_in_flight_chunks(self) -> int:
        """Chunks queued or being sent (or read ahead) at once for one file."""
        return self.stream_count * self.queue_depth

    @property
    def max_buffered_bytes(self) -> int:
        """The worst-case RAM of one file transfer (see the class docstring)."""
        return (self.max_in_flight_chunks + 2) * self.chunk_size

    def for_server(self, limits: ServerLimitsLike | None, *, reads: bool = False) -> TransferConfig:
        """Return a copy whose streams and chunk size respect the server's limits and request deadline;
        unset ``streams`` become the default of the direction (``reads``: a download's ranged reads, which
        the per-handle cap of parallel writes does not limit)."""
        timeout_cap = int(self.request_timeout_seconds * self.min_stream_bytes_per_second)
        chunk = min(self.chunk_size, max(timeout_cap, 64 * 1024))
        streams, requests = self.streams, self.requests_per_stream
        if streams is None:
            streams = DEFAULT_READ_STREAMS if reads else DEFAULT_WRITE_STREAMS
        if limits is not None:
            # Fewer data bytes than the body limit where writes are multipart (the version table).
            chunk = min(chunk, getattr(limits, "max_write_payload_bytes", limits.max_request_body_bytes))
            if not reads:
                streams = min(streams, max(1, limits.max_streams_per_handle))
            if not reads and self.pipelines_writes:  # held requests are forms, framing included
                form_chunk = limits.max_request_body_bytes - MULTIPART_FRAMING_RESERVE
                if form_chunk >= limits.max_request_body_bytes // 2:
                    chunk = min(chunk, form_chunk)
                else:  # a body limit this small leaves a form too little room
                    requests = 1
        threshold = min(self.small_file_threshold, chunk)
        return replace(
            self,
            chunk_size=chunk,
            streams=streams,
            small_file_threshold=threshold,
            requests_per_stream=requests,
        )
