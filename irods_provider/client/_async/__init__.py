"""The async session and API groups: the source the sync twin in ``_sync`` is generated from."""
