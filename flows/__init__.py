"""Prefect flows. They orchestrate the DVC stages; no ML logic lives here."""
