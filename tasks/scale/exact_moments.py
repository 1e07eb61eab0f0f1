"""Column means, variances, missing shares and distinct values computed on Dask workers, bit for bit as pandas gives
them in one process (pandas 2.x without bottleneck: `Series.mean`, `Series.var(ddof=0)`, `isna().mean()`).

pandas sums a float64 column with numpy's pairwise summation; the order of its additions is fixed by the length
alone: halves cut at `n // 2` rounded down to a multiple of 8, blocks of at most 128 summed with 8 accumulators. So the
rows are cut into partitions at the top cuts of that tree (`pairwise_leaves`), each worker sums its partitions with
numpy (the same subtree), and the driver adds the partial sums in the tree's order (`combine`): the same float. An
integer column's mean is summed through numpy's cast buffer instead (chunks of `numpy.getbufsize()` values, each
pairwise, added in turn), so those partitions are cut at multiples of the buffer size (`buffer_bounds`). The variance
takes a second pass over the same partitions with the mean broadcast, as pandas' two-pass `nanvar` does.
tests/test_feature_spec_on_dask.py checks the floats are equal (==) to pandas' on random, integer and gappy columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tasks.core.compute import results

BLOCK = 128  # numpy's PW_BLOCKSIZE: below it a block is summed directly
Tree = tuple[int, int] | tuple["Tree", "Tree"]


def pairwise_leaves(start: int, stop: int, depth: int) -> Tree:
    """The rows [start, stop) cut at numpy's pairwise-sum tree, `depth` levels down: a leaf is (start, stop), a node
    a pair of subtrees."""
    n = stop - start
    if depth <= 0 or n <= BLOCK:
        return (start, stop)
    half = n // 2
    half -= half % 8
    return (pairwise_leaves(start, start + half, depth - 1), pairwise_leaves(start + half, stop, depth - 1))


def leaves_of(tree: Tree) -> list[tuple[int, int]]:
    if isinstance(tree[0], int):
        return [tree]  # type: ignore[list-item]
    return [*leaves_of(tree[0]), *leaves_of(tree[1])]  # type: ignore[arg-type]


def combine(tree: Tree, sums: dict[tuple[int, int], np.ndarray]) -> np.ndarray:
    """The partial sums of the leaves added in the tree's order: numpy's own sum of the whole."""
    if isinstance(tree[0], int):
        return sums[tree]  # type: ignore[index]
    return combine(tree[0], sums) + combine(tree[1], sums)  # type: ignore[arg-type]


def buffer_bounds(n: int, parts: int, bufsize: int) -> list[tuple[int, int]]:
    """[start, stop) ranges covering n rows, each a whole number of cast-buffer chunks (the last may be short)."""
    chunks = -(-n // bufsize)
    per = max(1, -(-chunks // max(1, parts)))
    return [(k * bufsize, min(n, (k + per) * bufsize)) for k in range(0, chunks, per)]


def _filled(frame: pd.DataFrame, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(values as float64 with missing as 0, missing mask), one row per column: what pandas sums."""
    mask = frame[names].isna().to_numpy().T.copy()
    values = frame[names].to_numpy(dtype=np.float64, na_value=np.nan).T.copy()
    values[mask] = 0.0
    return values, mask


def first_pass(part: pd.DataFrame, floats: list[str], categorical: list[str]) -> dict[str, Any]:
    """On a worker: per column, the pairwise sum of the values (missing as 0), missing counts and distinct values."""
    values, _ = _filled(part, floats)
    missing = {name: int(part[name].isna().sum()) for name in [*floats, *categorical]}
    distinct = {name: part[name].dropna().unique() for name in categorical}
    return {"sums": values.sum(axis=1, dtype=np.float64), "missing": missing, "distinct": distinct}


def squares_pass(part: pd.DataFrame, floats: list[str], means: np.ndarray) -> np.ndarray:
    """On a worker: per column, the pairwise sum of (mean - value)**2 over the present values."""
    values, mask = _filled(part, floats)
    squares = (means[:, None] - values) ** 2
    squares[mask] = 0.0
    return squares.sum(axis=1, dtype=np.float64)


def cast_chunk_sums(part: pd.DataFrame, integers: list[str], bufsize: int) -> np.ndarray:
    """On a worker: per integer column, the float64 sum of each cast-buffer chunk (columns x chunks)."""
    values = part[integers].to_numpy(dtype=np.int64).T
    starts = range(0, values.shape[1], bufsize)
    return np.array([[row[s : s + bufsize].astype(np.float64).sum() for s in starts] for row in values])


@dataclass(frozen=True)
class Moments:
    mean: dict[str, float]
    variance: dict[str, float]
    missing: dict[str, int]
    distinct: dict[str, list[Any]]
    rows: int


def column_moments(
    client: Any, frame: pd.DataFrame, numeric: list[str], categorical: list[str], depth: int | None = None
) -> Moments:
    """Means and population variances of `numeric`, missing counts of all, distinct values of `categorical`, with
    every pass over the rows on the cluster behind `client` (the rows are scattered in partitions, 2**depth of
    them; default: about four per worker)."""
    other = [c for c in numeric if frame[c].dtype.kind not in "iu" and frame[c].dtype != np.float64]
    if other:  # float32, nullable or decimal columns: pandas sums them in their own dtype; fitted here, as pandas does
        local = {c: (float(frame[c].mean()), float(frame[c].var(ddof=0))) for c in other}
        moments = column_moments(client, frame, [c for c in numeric if c not in other], categorical, depth)
        return Moments(
            {**moments.mean, **{c: m for c, (m, _) in local.items()}},
            {**moments.variance, **{c: v for c, (_, v) in local.items()}},
            {**moments.missing, **{c: int(frame[c].isna().sum()) for c in other}},
            moments.distinct,
            moments.rows,
        )
    n = len(frame)
    workers = max(1, len(client.scheduler_info().get("workers", {})))
    depth = depth if depth is not None else max(1, int(np.ceil(np.log2(4 * workers))))
    integers = [c for c in numeric if frame[c].dtype.kind in "iu"]
    tree = pairwise_leaves(0, n, depth)
    bounds = leaves_of(tree)
    columns = [*numeric, *categorical]
    # each partition travels inside its task (not scattered): a task a lost worker held is recomputed elsewhere
    parts = [frame.iloc[a:b][columns] for a, b in bounds]
    mapped = client.map(first_pass, parts, floats=numeric, categorical=categorical, pure=False, retries=2)
    firsts = results(client, mapped)
    sums = combine(tree, {bound: first["sums"] for bound, first in zip(bounds, firsts, strict=True)})
    missing = {name: sum(first["missing"][name] for first in firsts) for name in columns}
    present = np.array([n - missing[name] for name in numeric], dtype=np.float64)
    var_means = sums / present if numeric else np.array([])  # nanvar's mean: the float64 values' pairwise sum
    means = dict(zip(numeric, (float(v) for v in var_means), strict=True))
    if integers:  # nanmean casts an integer column through numpy's buffer: chunk sums added in turn
        bufsize = np.getbufsize()
        pieces = [frame.iloc[a:b][integers] for a, b in buffer_bounds(n, 2 * workers, bufsize)]
        chunk_sums = results(
            client, client.map(cast_chunk_sums, pieces, integers=integers, bufsize=bufsize, pure=False, retries=2)
        )
        for row, name in enumerate(integers):
            total = np.float64(0.0)
            for value in np.concatenate([c[row] for c in chunk_sums]):
                total += value
            means[name] = float(total / np.float64(n))
    squares = results(client, client.map(squares_pass, parts, floats=numeric, means=var_means, pure=False, retries=2))
    variance_sums = combine(tree, dict(zip(bounds, squares, strict=True))) if numeric else np.array([])
    variances = dict(zip(numeric, (float(v) for v in variance_sums / present), strict=True))
    distinct = {
        name: pd.unique(np.concatenate([first["distinct"][name] for first in firsts])).tolist() for name in categorical
    }
    return Moments(means, variances, missing, distinct, n)
