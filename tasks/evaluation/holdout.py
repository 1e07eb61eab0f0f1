"""The trusted holdout: the evaluation rows a production model was blessed on, stored with it.

Why: the gate compares a candidate with the production model on the new test split. When that split comes from a
broken feed, both models are scored on broken rows, the good champion looks bad and a bad candidate "wins". So every
blessed version carries its own test rows (`holdout.parquet` in the version's `assets.extra/`, its sha256 and row
count in the version's model card under `holdout`), and the gate also scores candidate and champion on the
champion's holdout: a candidate worse there than the champion by more than `evaluate.gate.max_worse_than_champion_pct`
is refused, whatever the new rows say.

Which rows: the problem's fixed holdout when its params state one (`featurize.holdout`, tasks/kinds/table_holdout.py:
a time period for a problem with time, a seeded share of row ids otherwise). featurize keeps those rows out of train
and val in every run, also after a retrain on newer data, and writes them as data/features/holdout.parquet; `export`
copies that file into the export and hashes it in the card (`holdout.fixed`: the rule and the sha256 of the row ids);
`deploy` stores it with the version. So every version carries the same rows, none of which any version trained on.
Without the key, the version's own test split (data/features/test.parquet) is its holdout, renewed with each reviewed
promotion; with a time split those rows then fall into the next retrain's training data (the leak the fixed holdout
closes). `python -m tasks.store.cli promote` (a person's decision) makes the promoted version's holdout the trusted
one. A version stored before holdouts existed has none: the gate says so and compares on the new rows only.

Never judged on trained rows: the gate leaves out any holdout row (by row id) that the candidate's train or val split
holds, and says how many (`trained_on` in the evaluation's `holdout`); with the fixed holdout there are none.

Loading is safe: Parquet only (never pickle), and the file's sha256 must equal the card's, or the check fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tasks.core.lineage import sha256_path
from tasks.kinds.table_holdout import row_ids

HOLDOUT_FILE = "holdout.parquet"  # in a version's assets.extra/ and in data/export/
EXTRA_DIR = "assets.extra"
MAX_CODES = 20  # a numeric column with at most this many distinct values is compared as categories


class HoldoutError(Exception):
    """The stored holdout cannot be trusted (missing, altered, unreadable); the message says which and why."""


def holdout_card(path: Path) -> dict[str, Any]:
    """The model card's `holdout` block for the holdout file at `path`."""
    import pyarrow.parquet as pq

    return {"file": HOLDOUT_FILE, "sha256": sha256_path(path), "rows": pq.ParquetFile(path).metadata.num_rows}


def load_holdout(version_dir: Path, card: dict[str, Any] | None) -> pd.DataFrame | None:
    """The holdout stored with a version, checked against its card; None when the version has none (stored before
    holdouts). Raises HoldoutError naming the file when it is missing, altered or unreadable."""
    expected = (card or {}).get("holdout")
    path = version_dir / EXTRA_DIR / HOLDOUT_FILE
    if not expected:
        return None
    if not path.is_file():
        raise HoldoutError(f"{path}: not found, but the version's model card names a holdout")
    actual = sha256_path(path)
    if actual != expected.get("sha256"):
        raise HoldoutError(
            f"{path}: sha256 {actual[:12]}… differs from the model card's {str(expected.get('sha256'))[:12]}…: "
            "the holdout was altered; it is not trusted"
        )
    try:
        return pd.read_parquet(path)
    except Exception as err:  # any reader failure: the file is not a holdout we can use
        raise HoldoutError(f"{path}: not a readable Parquet file: {err}") from None


def seen_in_training(holdout: pd.DataFrame, training: list[pd.DataFrame], spec: dict[str, Any]) -> np.ndarray:
    """Which rows of a table's holdout the candidate's `training` splits (train, val) also hold, by row id
    (tasks/kinds/table_holdout.py); none for other kinds. The gate leaves those out: a model is not judged on rows
    it was trained on (a problem without `featurize.holdout` whose retrain took its champion's test rows)."""
    if spec.get("kind") != "table" or not len(holdout):
        return np.zeros(len(holdout), dtype=bool)
    wanted = [spec.get("timestamp"), *spec.get("numeric", {}), *spec.get("categorical", {}), spec.get("target")]
    columns = [c for c in wanted if c and c in holdout.columns and all(c in f.columns for f in training)]
    seen = np.concatenate([row_ids(f, columns) for f in training]) if training else np.array([], dtype="uint64")
    return np.isin(row_ids(holdout, columns), seen)


def moved_columns(new: pd.DataFrame, holdout: pd.DataFrame, columns: list[str], top: int = 3) -> list[dict[str, Any]]:
    """The columns whose distribution moved most from `holdout` to `new`, largest first.

    Numbers: the shift of the mean in holdout standard deviations, and the ratio of standard deviations; other
    columns, and numbers with at most `MAX_CODES` distinct values (codes, flags): the total variation distance
    between the value shares (0..1, ranked x 10 beside the numbers).
    """
    moved = []
    for column in columns:
        if column not in new.columns or column not in holdout.columns:
            continue
        a, b = holdout[column], new[column]
        numeric = pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b)
        if numeric and not pd.api.types.is_bool_dtype(a) and a.nunique() > MAX_CODES:
            x, y = a.to_numpy(dtype="float64", na_value=np.nan), b.to_numpy(dtype="float64", na_value=np.nan)
            std = float(np.nanstd(x)) or 1.0
            shift = (float(np.nanmean(y)) - float(np.nanmean(x))) / std
            ratio = float(np.nanstd(y)) / std
            size = max(abs(shift), abs(float(np.log(max(ratio, 1e-3)))))
            moved.append(
                {
                    "column": column,
                    "size": size,
                    "change": f"mean {np.nanmean(x):.4g} -> {np.nanmean(y):.4g} ({shift:+.2f} holdout std), "
                    f"std x{ratio:.2f}",
                }
            )
        else:
            p = a.astype(str).value_counts(normalize=True)
            q = b.astype(str).value_counts(normalize=True)
            tvd = 0.5 * float(p.sub(q, fill_value=0).abs().sum())
            moved.append({"column": column, "size": 10 * tvd, "change": f"category shares differ by {tvd:.0%} (TVD)"})
    moved.sort(key=lambda m: -m["size"])
    return [{**m, "size": round(float(m["size"]), 4)} for m in moved[:top]]


MUCH_WORSE_PCT = 25.0  # the champion this much worse on the new rows than on its holdout: the report says so


def champion_gap(
    holdout: dict[str, Any] | None,
    champion_on_new: dict[str, float] | None,
    primary: str,
    moved: list[dict[str, Any]],
) -> str | None:
    """A sentence for the report when the champion scores much worse on the new test rows than on its own holdout
    (a changed world or a broken feed: the columns that moved most tell which), else None."""
    from tasks.objectives.metrics import metric_label, relative_worsening

    if not holdout or "champion" not in holdout or not champion_on_new or primary not in champion_on_new:
        return None
    on_new, on_holdout = champion_on_new[primary], holdout["champion"][primary]
    worse_pct = relative_worsening(primary, on_new, on_holdout) * 100
    if not worse_pct > MUCH_WORSE_PCT:
        return None
    columns = "; ".join(f"{m['column']}: {m['change']}" for m in moved) or "none of the compared columns"
    return (
        f"production version {holdout['version']} scores {metric_label(primary)} {on_new:.4g} on the new test rows "
        f"against {on_holdout:.4g} on its own holdout ({worse_pct:.0f}% worse): the new rows differ from the ones it "
        f"was blessed on (a changed world, or a broken feed). Columns that moved most: {columns}"
    )
