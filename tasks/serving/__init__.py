"""A TF Serving compatible REST server for the model store's production model (see tasks/serving/app.py)."""
