"""The sync session and API groups: the source GENERATED from ``_async``: do not edit."""
