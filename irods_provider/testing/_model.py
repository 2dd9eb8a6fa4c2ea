"""The emulator's state model: one object holding the whole zone, with no knowledge of HTTP."""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

from irods_provider.testing._acl_meta import AclMetaMixin
from irods_provider.testing._catalog import Collection, RemoteZone, Resource
from irods_provider.testing._checksums import ChecksumsMixin
from irods_provider.testing._collections import CollectionsMixin
from irods_provider.testing._config import EmulatorConfig
from irods_provider.testing._copies import CopiesMixin
from irods_provider.testing._locks import WriteHoldsMixin
from irods_provider.testing._objects import DataObjectsMixin
from irods_provider.testing._parallel import ParallelWriteMixin
from irods_provider.testing._queryrows import QueryRowsMixin
from irods_provider.testing._replicas import ReplicasMixin
from irods_provider.testing._resources import ResourcesMixin
from irods_provider.testing._users import UsersMixin
from irods_provider.testing._vault import VaultSpaceMixin
from irods_provider.testing._zones import FederationMixin, ZonesMixin


class EmulatorModel(
    QueryRowsMixin,
    ParallelWriteMixin,
    ReplicasMixin,
    ResourcesMixin,
    ChecksumsMixin,
    CollectionsMixin,
    CopiesMixin,
    DataObjectsMixin,
    WriteHoldsMixin,
    VaultSpaceMixin,
    AclMetaMixin,
    UsersMixin,
    ZonesMixin,
    FederationMixin,
):
    """Zone state: users, groups, collections, data objects, tickets, tokens and parallel writes.

    Thread-safe through one re-entrant lock; large file I/O happens outside it.

    Example:

    ```python
    from irods_provider.testing import EmulatorServer

    with EmulatorServer() as server:
        server.model.add_user("bob", "bob-password")  # server.model is the zone's EmulatorModel
        print(server.model.list_users())
    ```
    """

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.lock = threading.RLock()
        self._own_spool = self.config.spool_dir is None
        self.spool = Path(self.config.spool_dir or tempfile.mkdtemp(prefix="irods-emulator-spool-"))
        self.handles = {}
        self.active_streams = 0
        self.stream_overlaps = 0
        self.write_holds = {}
        self.reset()

    def reset(self) -> None:
        """Re-initialise everything: seeded zone, no tokens, no handles, an empty spool."""
        with self.lock:
            if getattr(self, "handles", None):
                self.close_all_handles()
            self.release_writes()
            self.stop_token_hold()
            self.handles = {}
            self.active_streams = 0
            self.stream_overlaps = 0
            self.crashes = 0
            if self.spool.exists():
                shutil.rmtree(self.spool, ignore_errors=True)
            self.spool.mkdir(parents=True, exist_ok=True)
            # The R_ObjectId sequence starts at 10000 (icatSysTables.sql.pp.in:177 at 4.3.4 and 5.0.2) and
            # its first value is the local zone's id (setup_database_values, database_connect.py:377-383 at
            # 4.3.4): the zone is 10000, every later catalog row follows it.
            self._next_id = 9999
            self.bump_generation()
            self.users = {}
            self.collections = {}
            self.data_objects = {}
            self.tokens = {}
            self.tickets = {}
            self._agent_last = [0] * max(self.config.connection_pool_size, 1)  # fresh pooled agents
            self._agents_busy = set()
            self._agent_retrievals = [0] * len(self._agent_last)
            self.remote_zones = {}
            self.local_zone_row = RemoteZone(self.new_id(), self.zone)
            self.replica_faults = {}
            self.vault_free = {}
            self.resources = {}
            self.zone_users, self.zone_resources = {}, {}
            self._seed()
            self.seed_resources(self.config.resources)
            self._seed_federation()
            self._map_user(self.users[self.config.admin_user])

    def _seed(self) -> None:
        """The rows ``setup_database_values`` inserts into a new catalog, in its order (irods 4.3.4
        scripts/irods/database_connect.py:360-494, the same at 4.3.0-5.0.2): group public, the rodsadmin
        (a member of public), the zone's collections owned by the rodsadmin (public's two with an ``own``
        ACL for group public, :438-472, the others for the rodsadmin), then bundleResc and the default
        resource; the configured resources and federated zones come after, as ``iadmin`` would add them."""
        z, admin = self.zone, self.config.admin_user
        self._add_user("public", user_type="rodsgroup")
        self._add_user(admin, user_type="rodsadmin", password=self.config.admin_password, homes=False)
        public = (f"/{z}/home/public", f"/{z}/trash/home/public")
        system = ("/", f"/{z}", f"/{z}/home", f"/{z}/trash", f"/{z}/trash/home")
        for path in (*system, *public, f"/{z}/home/{admin}", f"/{z}/trash/home/{admin}"):
            acl = {"public": "own"} if path in public else {admin: "own"}
            self.collections[path] = Collection(id=self.new_id(), path=path, owner=admin, zone=z, acl=acl)
        # database_connect.py:474-481: class "bundle", host localhost, vault /bundle, every other column "".
        bundle = Resource(id=self.new_id(), name="bundleResc", vault_path="/bundle", class_name="bundle")
        self.resources["bundleResc"] = bundle
        # :483-491: the default resource on the server's host (lib.get_hostname(), not localhost).
        self.resources["demoResc"] = Resource(
            id=self.new_id(), name="demoResc", host=self.config.server_hostname
        )

    def bump_generation(self) -> None:
        """Record that the zone may have changed: GenQuery page caches made before are stale."""
        self.generation = getattr(self, "generation", 0) + 1
        self.query_pages: dict[tuple[str, ...], tuple[int, list[list[str]]]] = {}

    def add_user(self, name: str, password: str, user_type: str = "rodsuser") -> None:
        """Create a user with a password, as the rodsadmin would (control plane and fixtures)."""
        with self.lock:
            self.create_user(self.config.admin_user, name, user_type=user_type)
            self.set_password(self.config.admin_user, name, password)

    def crash(self) -> None:
        """The HTTP API process died and was started again (0.4.0/0.5.0, #402): what it held in memory is
        gone (bearer tokens, parallel-write handles), and the agents of its iRODS connections close what
        they held open, as :meth:`drop_parallel_writes` does. Counted in ``crashes``."""
        with self.lock:
            self.crashes += 1
            self.tokens.clear()
            self.drop_parallel_writes()

    def close(self) -> None:
        """Release handles and remove a spool directory this model created itself."""
        with self.lock:
            self.close_all_handles()
            if self._own_spool:
                shutil.rmtree(self.spool, ignore_errors=True)
