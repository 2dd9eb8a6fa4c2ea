"""Replica checksums as rsDataObjChksum computes and verifies them, plus the test hooks that damage a replica.

Followed: irods/irods ``server/api/src/rsDataObjChksum.cpp`` (``do_lookup_or_update`` and
``do_verification``; identical in 4.3.2 to 5.0.2 for what is modelled here) behind the HTTP API's
``op_calculate_checksum`` / ``op_verify_checksum`` (``endpoints/data_objects/src/main.cpp`` 0.7.0
:2608-2792; 0.5.0 from :2060 and 0.6.0 from :2502 are the same, ``replica-number`` included: REPL_NUM_KW
is passed on in every release, unlike read/write targeting).

* ``resource`` with ``replica-number``, or either with ``all``: USER_INCOMPATIBLE_PARAMS.
* One replica (no ``all``): the voted one (or the targeted one); it must be good or stale
  (SYS_REPLICA_INACCESSIBLE); its catalog checksum is returned as-is unless ``force``.
* ``all``: the good replicas only (stale ones are skipped silently; none → SYS_NO_GOOD_REPLICA); each is
  computed when ``force`` or it has none. Identical → that checksum. Different → status 0 with a NULL
  checksum and a USER_CHKSUM_MISMATCH warning in rError only (``ichksum -a`` prints "WARNING: Data object
  has replicas with different checksums." and exits 0: test_ichksum.py issue 5252). The HTTP API then
  builds ``{"checksum": <NULL char*>}``: a std::string from a null pointer, which a libstdc++ build turns
  into std::logic_error → its ``catch (std::exception)`` → HTTP 500 with an empty body (emulated here); a
  libc++ build (the one made against iRODS 4.3, CMakeLists ``UseLibCXX``) reads through the null pointer.
* verify: targeted → size check, then "no checksum" (returned at once), then recomputation; untargeted →
  the good replicas: "INFO: Number of replicas skipped", size checks, "no checksum" warnings (returned at
  once), recomputation of each, then the "replicas with different checksums" warning.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from irods_provider.testing._catalog import READ, DataObject, ModelBase, Replica, normalize
from irods_provider.testing._error_table import error_code
from irods_provider.testing._errors import IrodsModelError
from irods_provider.testing._fslib import asks_catalog, vault_size_found
from irods_provider.testing._hashing import scheme_of_checksum

#: What the replica-damage hooks can do to a replication resource's copy of a new write.
REPLICA_FAULTS = ("corrupt", "stale")


def _finding(severity: str, name: str | None, message: str) -> dict[str, Any]:
    return {"severity": severity, "error_code": error_code(name) if name else 0, "message": message}


def _damage(path: Path) -> None:
    """Change a replica's bytes behind the catalog's back (same size: only a checksum can tell)."""
    with path.open("r+b") as f:
        first = f.read(1)
        f.seek(0)
        f.write(bytes([first[0] ^ 0xFF]) if first else b"\0")


class ChecksumsMixin(ModelBase):
    """calculate_checksum / verify_checksum, and the replica-damage test hooks."""

    replica_faults: dict[str, str]

    def _checksum_target(
        self,
        caller: str,
        path: str,
        *,
        resource: str | None,
        replica_number: int | None,
        all_replicas: bool,
        admin: bool,
    ) -> DataObject:
        """The checks both modes make first, in the server's order; the object (caller holds the lock)."""
        if resource is not None and replica_number is not None:
            raise IrodsModelError("USER_INCOMPATIBLE_PARAMS", "resource and replica number together.")
        if all_replicas and (resource is not None or replica_number is not None):
            raise IrodsModelError("USER_INCOMPATIBLE_PARAMS", "all replicas and one replica together.")
        self.require_admin_flag(caller, admin)
        # The replicas come from getDataObjInfo (read_object asked, irods 4.3.4 dataObjOpr.cpp:1153-1156),
        # a GenQuery filtered by the caller's access: read_object on the object and its collection
        # (general_query.cpp:1663-1689), else no row at all.
        obj = self.stat_data(caller, normalize(path))
        if obj is None or (self.data_level(caller, obj, admin=admin) < READ):
            raise IrodsModelError("CAT_NO_ROWS_FOUND", f"[{path}] does not exist.")
        return obj

    def _one_replica(self, obj: DataObject, resource: str | None, replica_number: int | None) -> Replica:
        # rsDataObjChksum resolves the replica by voting (rsDataObjChksum.cpp:553-559 at 4.3.4): a stale
        # one votes low, so with no good replica the stale one is hashed (check_replica_accessibility).
        rep = self._pick_replica(obj, resource, replica_number, stale_votes=True)
        if rep.status not in ("0", "1"):  # check_replica_accessibility
            raise IrodsModelError("SYS_REPLICA_INACCESSIBLE", f"Replica [{rep.number}] is inaccessible.")
        return rep

    def calculate_checksum(
        self,
        caller: str,
        path: str,
        *,
        resource: str | None = None,
        replica_number: int | None = None,
        force: bool = False,
        all_replicas: bool = False,
        admin: bool = False,
    ) -> str | None:
        """The checksum of one replica, or of every good one (None: they differ, see the module doc)."""
        with self.lock:
            reps = self._checksum_replicas(
                caller,
                path,
                resource=resource,
                replica_number=replica_number,
                all_replicas=all_replicas,
                admin=admin,
            )
            # Each replica hashed by the server holding its leaf, in that server's scheme (rsFileChksum).
            zone = self.zone_of(normalize(path))
            todo = [
                (r, r.spool_file, self.hash_scheme_of(r.resource, zone=zone))
                for r in reps
                if force or not r.checksum
            ]
        sums = {id(r): self.file_checksum(spool, scheme) for r, spool, scheme in todo}
        with self.lock:
            for r, _, _ in todo:
                r.checksum = sums[id(r)]
            values = {r.checksum for r in reps}
            return reps[0].checksum if len(values) == 1 else None

    def _checksum_replicas(
        self,
        caller: str,
        path: str,
        *,
        resource: str | None,
        replica_number: int | None,
        all_replicas: bool,
        admin: bool,
    ) -> list[Replica]:
        """The replicas calculate_checksum looks at: the voted (or targeted) one, or with ``all_replicas``
        every good one (caller holds the lock)."""
        obj = self._checksum_target(
            caller,
            path,
            resource=resource,
            replica_number=replica_number,
            all_replicas=all_replicas,
            admin=admin,
        )
        if not all_replicas:
            return [self._one_replica(obj, resource, replica_number)]
        reps = [r for r in obj.replicas if r.status == "1"]
        if not reps:
            raise IrodsModelError("SYS_NO_GOOD_REPLICA", "No good replica.")
        return reps

    def checksum_work(
        self,
        caller: str,
        path: str,
        *,
        resource: str | None = None,
        replica_number: int | None = None,
        force: bool = False,
        all_replicas: bool = False,
        admin: bool = False,
    ) -> int:
        """Bytes :meth:`calculate_checksum` would hash now (0 when it would fail or only read the catalog):
        what the server's pace (``server_io_bytes_per_second``) applies to."""
        with self.lock:
            try:
                reps = self._checksum_replicas(
                    caller,
                    path,
                    resource=resource,
                    replica_number=replica_number,
                    all_replicas=all_replicas,
                    admin=admin,
                )
            except IrodsModelError:
                return 0
            return sum(r.size for r in reps if force or not r.checksum)

    def verify_work(
        self,
        caller: str,
        path: str,
        *,
        resource: str | None = None,
        replica_number: int | None = None,
        admin: bool = False,
    ) -> int:
        """Bytes :meth:`verify_checksum` would hash now, at most (its checked replicas' sizes; 0 when it
        would fail first)."""
        with self.lock:
            obj = self.stat_data(caller, normalize(path))
            if obj is None:
                return 0
            if resource is not None or replica_number is not None:
                try:
                    return self._one_replica(obj, resource, replica_number).size
                except IrodsModelError:
                    return 0
            return sum(r.size for r in obj.replicas if r.status == "1")

    def verify_checksum(
        self,
        caller: str,
        path: str,
        *,
        resource: str | None = None,
        replica_number: int | None = None,
        compute: bool = True,
        admin: bool = False,
    ) -> list[dict[str, Any]]:
        """Verification findings (empty list = consistent), as ``do_verification`` reports them."""
        with self.lock:
            obj = self._checksum_target(
                caller,
                path,
                resource=resource,
                replica_number=replica_number,
                all_replicas=False,
                admin=admin,
            )
            results: list[dict[str, Any]] = []
            if resource is not None or replica_number is not None:
                reps = [self._one_replica(obj, resource, replica_number)]
            else:
                reps = [r for r in obj.replicas if r.status == "1"]
                if not reps:
                    raise IrodsModelError("SYS_NO_GOOD_REPLICA", "No good replica.")
                if skipped := len(obj.replicas) - len(reps):
                    results.append(_finding("info", None, f"INFO: Number of replicas skipped: {skipped}"))
            snapshot = [(r.number, r.checksum, r.size, r.spool_file, r.physical_path) for r in reps]
        for number, _, size, spool, physical in snapshot:
            if asks_catalog(physical) and not vault_size_found(
                self, caller, normalize(path), physical, self.config.irods_release
            ):
                message = f"ERROR: Could not verify size for replica [{number}]."
                results.append(_finding("error", "CAT_NO_ROWS_FOUND", message))
            elif os.path.getsize(spool) != size:
                message = f"ERROR: Physical size does not match size in catalog for replica [{number}]."
                results.append(_finding("error", "USER_FILE_SIZE_MISMATCH", message))
        missing = [number for number, checksum, *_ in snapshot if not checksum]
        for number in missing:
            message = f"WARNING: No checksum available for replica [{number}]."
            results.append(_finding("warning", "CAT_NO_CHECKSUM_FOR_REPLICA", message))
        if missing:
            return results
        for number, checksum, _, spool, _ in snapshot if compute else ():
            # Recomputed in the catalog checksum's own scheme: verification passes it as ORIG_CHKSUM_KW
            # (rsDataObjChksum.cpp:627 at 4.3.4), whose scheme file_checksum prefers (:316-332).
            if self.file_checksum(spool, scheme_of_checksum(checksum)) != checksum:
                message = (
                    f"ERROR: Computed checksum does not match what is in the catalog for replica [{number}]."
                )
                results.append(_finding("error", "USER_CHKSUM_MISMATCH", message))
        if len({checksum for _, checksum, *_ in snapshot}) > 1:
            message = "WARNING: Data object has replicas with different checksums."
            results.append(_finding("warning", "USER_CHKSUM_MISMATCH", message))
        return results

    # ---- test hooks: damaged replicas ---------------------------------------------------------------

    def corrupt_replica(self, path: str, resource: str) -> int:
        """Change the bytes of ``path``'s replica on leaf ``resource`` behind the catalog's back (bit rot,
        a bad disk): same size, catalog untouched, so only a checksum of it tells. Its replica number."""
        with self.lock:
            obj = self.data_objects.get(normalize(path))
            rep = next((r for r in obj.replicas if r.resource == resource), None) if obj else None
            if rep is None:
                raise IrodsModelError(
                    "SYS_REPLICA_DOES_NOT_EXIST", f"No replica of [{path}] on [{resource}]."
                )
            _damage(rep.spool_file)
            return rep.number

    def set_replica_fault(self, leaf: str, kind: str | None) -> None:
        """From now on, what a replication resource does to its copy on ``leaf`` when a write closes:
        ``corrupt`` (damaged bytes, catalog good), ``stale`` (not copied, left stale) or None (a faithful
        copy). Cleared by a reset."""
        if kind is not None and kind not in REPLICA_FAULTS:
            raise ValueError(f"unknown replica fault {kind!r}; choose one of {', '.join(REPLICA_FAULTS)}")
        with self.lock:
            if kind is None:
                self.replica_faults.pop(leaf, None)
            else:
                self.replica_faults[leaf] = kind

    def replicate_on_close(self, source: Replica, other: Replica) -> None:
        """A replication resource's synchronous copy of a closed write onto a sibling leaf (lock held)."""
        fault = self.replica_faults.get(other.resource)
        if fault == "stale":
            other.status = "0"
            return
        shutil.copyfile(source.spool_file, other.spool_file)
        if fault == "corrupt":
            _damage(other.spool_file)
        other.size, other.modify_time, other.checksum, other.status = (
            source.size,
            source.modify_time,
            "",
            "1",
        )
