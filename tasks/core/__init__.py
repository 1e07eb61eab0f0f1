"""Plumbing every package uses: params (tasks/core/params.py), errors, atomic writes, litter sweeping, artefact
paths (artifacts.py), lineage hashes, progress lines, byte-reproducible outputs and data time.

May import: nothing of the project (the lowest layer, see tasks/__init__.py).
"""
