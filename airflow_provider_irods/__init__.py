"""The import name Airflow derives from the distribution name ``airflow-provider-irods``.

Airflow looks for each provider's ``example_dags`` folder by importing the distribution name with ``-``
turned into ``_``; without this module every DAG load with ``load_examples=True`` logs a ModuleNotFoundError.
The provider itself is :mod:`irods_provider`; its example DAGs live in the repository's ``example_dags/``.
"""
