"""A TF Serving compatible REST server for the model store's production model (see tasks/serving/app.py), with its
request checks, shadow scoring, prediction log and /metrics.

May import: tasks.core, tasks.data, tasks.store.
"""
