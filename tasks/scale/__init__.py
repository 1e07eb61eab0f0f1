"""The data stages on Dask, used only when `compute.scheduler` (tasks/core/compute.py) is not `local`.

`partitions`: partitioned Parquet/CSV (a file's row groups, a folder or glob of files; local or s3:// via fsspec) as a
dask DataFrame, streamed to the stage's accumulators in order with a bounded number of partitions in flight;
`feature_stats`: the feature spec's statistics fitted with Dask; `drift_counts`: the per-partition reductions the
drift statistics are exact functions of. Imports only tasks.core; dask itself is imported inside the functions, so
importing this package costs nothing on `local`.
"""
