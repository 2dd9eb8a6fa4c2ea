"""iRODS operators (Airflow layer): see the ``irods`` module of this package."""
