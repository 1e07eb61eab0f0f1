"""Plumbing every package uses: params (tasks/core/params.py), errors, atomic writes, litter sweeping, artefact
paths (artifacts.py), lineage hashes, progress lines, byte-reproducible outputs, data time, and the import graph that
checks the layers and writes each stage's code deps (import_closure.py, stage_deps.py).

May import: nothing of the project (the lowest layer, see tasks/__init__.py).
"""
