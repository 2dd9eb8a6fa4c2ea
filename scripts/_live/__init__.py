"""Machinery of ``scripts/live.py``: a real local Airflow deployment on loopback and its REST API client."""
