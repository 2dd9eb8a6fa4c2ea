"""fsspec filesystem for iRODS (protocol ``irods``) over the HTTP API client and the transfer engine.

import fsspec
fs = fsspec.filesystem("irods", conn_id="irods_default")          # an Airflow connection
fs = fsspec.filesystem("irods", base_url="http://h:9000/irods-http-api/0.7.0", username="u", password="p")
fs.pipe("/tempZone/home/u/a.txt", b"hello"); fs.cat("irods:///tempZone/home/u/a.txt")
"""

from __future__ import annotations

from irods_provider.fs._file import IrodsFile
from irods_provider.fs._filesystem import IrodsFileSystem
from irods_provider.fs._paths import conn_id_from_url, strip_protocol

__all__ = ["IrodsFile", "IrodsFileSystem", "conn_id_from_url", "strip_protocol"]
