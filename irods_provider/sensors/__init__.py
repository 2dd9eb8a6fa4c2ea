"""iRODS sensors (Airflow layer): see the ``irods`` module of this package."""
