"""The model store in TF Serving's layout, local or S3 (model_store.py, model_store_s3.py, location.py), the atomic
production pointer, model identity, the deploy stage, `python -m tasks.store.cli` (list, promote, rollback) and
`python -m tasks.store.preflight`.

May import: tasks.core, tasks.data, tasks.objectives, tasks.kinds (the deploy stage, an entry module, also the
evaluation's holdout).
"""
