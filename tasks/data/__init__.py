"""Reading data where it lives: local files and globs, HTTP with retries, S3 prefixes by partition, the IDX format; and
the collect stage (collect.py), which hands the selected kind's reader a source and writes data/raw.

May import: tasks.core.
"""
