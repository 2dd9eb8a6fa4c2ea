"""Transfer operators between iRODS and other systems (Airflow's ``transfers/`` role folder)."""
