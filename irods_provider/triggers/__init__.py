"""iRODS triggers (Airflow layer): see the ``irods`` module of this package."""
