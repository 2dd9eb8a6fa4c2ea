"""A pure-Python client for the iRODS HTTP API 0.7 (sync and async), independent of Airflow.

from irods_provider.client import IrodsSession, BasicAuth
with IrodsSession("https://host/irods-http-api/0.7.0", auth=BasicAuth("alice", "secret")) as s:
    s.collections.create("/tempZone/home/alice/x", exist_ok=True)
    s.data_objects.write("/tempZone/home/alice/x/a.txt", b"hello")
"""

from __future__ import annotations

from irods_provider.client._async._catalog import AsyncMetadata, AsyncQuery, AsyncTickets
from irods_provider.client._async._fs import AsyncCollections, AsyncDataObjects
from irods_provider.client._async._session import AsyncIrodsSession
from irods_provider.client._auth import (
    AuthSpec,
    Basic,
    BasicAuth,
    LoginBindable,
    OpenIdClientMode,
    OpenIdClientModeAuth,
    StaticToken,
    Token,
    TokenProvider,
    build_token_source,
)
from irods_provider.client._bounded import ReplyLimits
from irods_provider.client._config import (
    DEFAULT_TIMEOUT,
    USE_DEFAULT,
    OutcomeWait,
    Timeouts,
    UseDefault,
    build_base_url,
)
from irods_provider.client._discovery import discover_api_version
from irods_provider.client._errors import map_httpx_errors
from irods_provider.client._genquery import genquery_condition, genquery_literal
from irods_provider.client._models import (
    AVU,
    ChecksumReport,
    CollectionStat,
    DataObjectStat,
    Entry,
    EntryKind,
    Kinds,
    MetadataOperation,
    Permission,
    PermissionOperation,
    Replica,
    ServerLimits,
    TicketInfo,
    TicketType,
)
from irods_provider.client._openid import (
    ClientCredentialsGrant,
    OpenId,
    OpenIdClientCredentials,
    OpenIdOptions,
    OpenIdPassword,
    OpenIdRefreshToken,
    PasswordGrant,
    RefreshTokenGrant,
)
from irods_provider.client._operation import Operation
from irods_provider.client._paths import validate_path
from irods_provider.client._retry import RetryPolicy
from irods_provider.client._sync._catalog import Metadata, Query, Tickets
from irods_provider.client._sync._fs import Collections, DataObjects
from irods_provider.client._sync._session import IrodsSession
from irods_provider.client._temporaries import TemporaryCleanup, TemporaryObject
from irods_provider.client._token_store import InProcessTokenStore, SqliteTokenStore, TokenStore
from irods_provider.client._versions import KNOWN_VERSIONS, ApiVersion, api_version_facts

__all__ = [
    "AVU",
    "DEFAULT_TIMEOUT",
    "KNOWN_VERSIONS",
    "USE_DEFAULT",
    "ApiVersion",
    "AsyncCollections",
    "AsyncDataObjects",
    "AsyncIrodsSession",
    "AsyncMetadata",
    "AsyncQuery",
    "AsyncTickets",
    "AuthSpec",
    "Basic",
    "BasicAuth",
    "ChecksumReport",
    "ClientCredentialsGrant",
    "CollectionStat",
    "Collections",
    "DataObjectStat",
    "DataObjects",
    "Entry",
    "EntryKind",
    "InProcessTokenStore",
    "IrodsSession",
    "Kinds",
    "LoginBindable",
    "Metadata",
    "MetadataOperation",
    "OpenId",
    "OpenIdClientCredentials",
    "OpenIdClientMode",
    "OpenIdClientModeAuth",
    "OpenIdOptions",
    "OpenIdPassword",
    "OpenIdRefreshToken",
    "Operation",
    "OutcomeWait",
    "PasswordGrant",
    "Permission",
    "PermissionOperation",
    "Query",
    "RefreshTokenGrant",
    "Replica",
    "ReplyLimits",
    "RetryPolicy",
    "ServerLimits",
    "SqliteTokenStore",
    "StaticToken",
    "TemporaryCleanup",
    "TemporaryObject",
    "TicketInfo",
    "TicketType",
    "Tickets",
    "Timeouts",
    "Token",
    "TokenProvider",
    "TokenStore",
    "UseDefault",
    "api_version_facts",
    "build_base_url",
    "build_token_source",
    "discover_api_version",
    "genquery_condition",
    "genquery_literal",
    "map_httpx_errors",
    "validate_path",
]

for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) and _obj.__module__.startswith("irods_provider.client."):
        _obj.__module__ = "irods_provider.client"
del _name, _obj
