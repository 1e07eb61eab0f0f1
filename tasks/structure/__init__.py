"""The code's own structure, read from the code: the import graph (import_closure.py), each dvc.yaml stage's code deps
written from it (stage_deps.py), and README's "How it is built" (architecture.py). Tools for maintainers and
tests/test_structure.py; no stage imports them, so changing them re-runs no stage.

May import: nothing of the pipeline (it reads the code as text, and tasks/__init__.py's LAYERS).
"""
