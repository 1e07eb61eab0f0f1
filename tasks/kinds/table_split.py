"""The table kind's featurize: split the validated rows and fit the feature statistics on the training part only.

Splits (`featurize.split`, per problem): `time` (train, then validation, then test, by time: never shuffled across
time), `stratified` (a seeded random split keeping each class's share; classification) or `random` (seeded), and
`given` (the rows of the problem's test source file are the test split; validation is drawn from the rest).

Outputs (data/features/): `train.parquet`, `val.parquet`, `test.parquet` and `spec.json`: numeric means/variances
and category vocabularies fitted on `train`, which the model's preprocessing layers are built from. A
classification target is written as class indices; `spec.classes` names them (the positive class last).
With `featurize.holdout` (tasks/kinds/table_holdout.py) also `holdout.parquet`, the problem's fixed holdout, kept
out of `train` and `val` in every run (`spec.holdout`: its rule, rows and the digest of its row ids); export stores
it with the model as the trusted holdout the gate compares on (tasks/evaluation/holdout.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from pipelines.problem import TabularProblem
from tasks.core.artifacts import VALIDATED, read_parquet, write_features
from tasks.core.errors import PipelineError
from tasks.core.params import Params
from tasks.kinds.table_checks import load_suite_json
from tasks.kinds.table_holdout import HoldoutRule, held, id_columns, ids_digest, read_holdout_rule, row_ids
from tasks.kinds.table_source import GIVEN_TEST, safe_name
from tasks.scale.exact_moments import Moments

SPLIT_MODES = ("time", "stratified", "random", "given")
log = logging.getLogger(__name__)


def _check_fractions(val_fraction: float, test_fraction: float) -> None:
    if val_fraction + test_fraction >= 1:
        raise PipelineError(
            f"params.yaml: featurize.val_fraction + featurize.test_fraction must be < 1, "
            f"got {val_fraction} + {test_fraction}"
        )


def split_by_time(
    frame: pd.DataFrame,
    timestamp: str,
    val_fraction: float,
    test_fraction: float,
    withheld: Callable[[pd.DataFrame], np.ndarray] | None = None,
) -> dict[str, pd.DataFrame]:
    """Split into train, then validation, then test, by time: every train row is earlier than every val row,
    and every val row earlier than every test row.

    `withheld` marks the rows of a fixed holdout (tasks/kinds/table_holdout.py): they never enter train or val
    (val is then the latest rows before the test period that are not withheld; the test split is unchanged) and
    are returned as `holdout`. Without withheld rows before the test period the three splits are as without it."""
    _check_fractions(val_fraction, test_fraction)
    ordered = frame.sort_values(timestamp, kind="stable").reset_index(drop=True)
    n = len(ordered)
    n_test = round(n * test_fraction)
    n_val = round(n * val_fraction)
    n_train = n - n_val - n_test
    if min(n_train, n_val, n_test) < 1:
        raise PipelineError(f"featurize: {n} rows are too few to split into train/val/test by time")
    test = ordered.iloc[n_train + n_val :].reset_index(drop=True)
    if withheld is None:
        return {
            "train": ordered.iloc[:n_train].reset_index(drop=True),
            "val": ordered.iloc[n_train : n_train + n_val].reset_index(drop=True),
            "test": test,
        }
    mask = withheld(ordered)
    pool = ordered.iloc[: n_train + n_val].loc[~mask[: n_train + n_val]]
    if len(pool) - n_val < 1:
        raise PipelineError(
            f"featurize: the holdout (featurize.holdout) leaves {len(pool)} of {n_train + n_val} rows before the "
            f"test period, too few for {n_val} validation rows and a training split"
        )
    return {
        "train": pool.iloc[: len(pool) - n_val].reset_index(drop=True),
        "val": pool.iloc[len(pool) - n_val :].reset_index(drop=True),
        "test": test,
        "holdout": ordered.loc[mask].reset_index(drop=True),
    }


def _draw(frame: pd.DataFrame, fraction: float, seed: int, stratify: str | None) -> np.ndarray:
    """A boolean mask drawing `fraction` of the rows (of each value of `stratify`, when given), seeded."""
    rng = np.random.default_rng(seed)
    held = np.zeros(len(frame), dtype=bool)
    groups = frame.groupby(stratify, sort=True).indices.values() if stratify else [np.arange(len(frame))]
    for positions in groups:
        take = round(len(positions) * fraction)
        held[rng.choice(positions, size=take, replace=False)] = True
    return held


def split_random(
    frame: pd.DataFrame, val_fraction: float, test_fraction: float, seed: int, stratify: str | None
) -> dict[str, pd.DataFrame]:
    """A seeded random split into train/val/test; with `stratify`, each class keeps its share in every split.
    Rows keep their source order inside each split."""
    _check_fractions(val_fraction, test_fraction)
    test = _draw(frame, test_fraction, seed, stratify)
    rest = frame.loc[~test].reset_index(drop=True)
    val = _draw(rest, val_fraction / (1 - test_fraction), seed + 1, stratify)
    parts = {"train": rest.loc[~val], "val": rest.loc[val], "test": frame.loc[test]}
    if min(len(p) for p in parts.values()) < 1:
        raise PipelineError(f"featurize: {len(frame)} rows are too few to split into train/val/test")
    return {name: part.reset_index(drop=True) for name, part in parts.items()}


def split_given(frame: pd.DataFrame, val_fraction: float, seed: int, stratify: str | None) -> dict[str, pd.DataFrame]:
    """The rows of the test source are the test split; validation is drawn (seeded) from the other rows."""
    if GIVEN_TEST not in frame.columns or not frame[GIVEN_TEST].any():
        raise PipelineError(
            "featurize.split is 'given' but no rows come from a test file; name it in the problem's test_source"
        )
    is_test = frame[GIVEN_TEST].to_numpy(dtype=bool)
    rest = frame.loc[~is_test].drop(columns=GIVEN_TEST).reset_index(drop=True)
    val = _draw(rest, val_fraction, seed, stratify)
    return {
        "train": rest.loc[~val].reset_index(drop=True),
        "val": rest.loc[val].reset_index(drop=True),
        "test": frame.loc[is_test].drop(columns=GIVEN_TEST).reset_index(drop=True),
    }


def class_names(problem: TabularProblem, values: pd.Series) -> tuple[list[Any], list[str]]:
    """(target values, their class names) in class order: the problem's declared classes (value -> name), else
    the sorted values seen; the positive class (problem.positive_class) last for a binary target."""
    declared = dict(problem.classes) if problem.classes else None
    if declared:
        seen = {str(v) for v in values.dropna().unique()}
        unknown = sorted(seen - {str(k) for k in declared})
        if unknown:
            raise PipelineError(
                f"problem '{problem.name}': target '{problem.target}' holds {unknown[:5]}, not among the declared "
                f"classes {list(declared)}"
            )
        pairs = list(declared.items())
    else:
        pairs = [(v, str(v)) for v in sorted(values.dropna().unique().tolist(), key=str)]
    if len(pairs) < 2:
        raise PipelineError(f"problem '{problem.name}': target '{problem.target}' has fewer than two classes")
    if problem.positive_class is not None:
        names = [name for _, name in pairs]
        if str(problem.positive_class) not in names:
            raise PipelineError(
                f"problem '{problem.name}': positive_class {problem.positive_class!r} is not a class; classes: {names}"
            )
        if len(pairs) != 2:
            raise PipelineError(f"problem '{problem.name}': positive_class applies to two classes, not {len(pairs)}")
        pairs.sort(key=lambda pair: pair[1] == str(problem.positive_class))
    return [v for v, _ in pairs], [n for _, n in pairs]


def encode_target(frame: pd.DataFrame, target: str, values: list[Any]) -> pd.DataFrame:
    """`frame` with the target replaced by its class index (the position of its value in `values`)."""
    lookup = {str(v): i for i, v in enumerate(values)}
    return frame.assign(**{target: frame[target].map(lambda v: lookup[str(v)]).astype("int64")})


MISSING_CATEGORY = "(missing)"
"""The category a string column's missing values (null, an absent field, an NA marker) train and serve as."""


def missing_marker(vocabulary: list[Any]) -> Any:
    """The value an integer category column's missing values become: -1, or below every known value."""
    return -1 if -1 not in vocabulary else min(vocabulary) - 1


def allowed_missing(problem: TabularProblem, frame: pd.DataFrame) -> frozenset[str]:
    """The feature columns that get a missing-value policy: those the raw suite lets be missing (a
    `expect_column_values_to_not_be_null` with `mostly` below 1) and those with a gap anywhere in the validated
    rows. Not only the training split's gaps: a column whose only gap fell into validation or test would otherwise
    reach the model as NaN and serving would refuse a value the suite allows."""
    columns = {str(c) for c in problem.features if c in frame.columns and frame[c].isna().any()}
    path = problem.suite_path("raw")
    if path.exists():
        for item in load_suite_json(path)["expectations"]:
            kwargs = item.get("kwargs", {})
            if item.get("type") == "expect_column_values_to_not_be_null" and kwargs.get("mostly", 1) < 1:
                columns.add(str(kwargs.get("column")))
    return frozenset(columns & set(problem.features))


def fit_feature_spec(
    train: pd.DataFrame, problem: TabularProblem, missing: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Statistics the model's preprocessing needs, from the training split alone, in this process (the same on
    Dask workers: tasks/kinds/table_spec_on_dask.py); the spec's rules are spec_from_moments'."""
    numeric, categorical = problem.numeric_features, problem.categorical_features
    moments = Moments(
        mean={name: float(train[name].mean()) for name in numeric},
        variance={name: float(train[name].var(ddof=0)) for name in numeric},
        missing={name: int(train[name].isna().sum()) for name in problem.features},
        distinct={name: train[name].dropna().unique().tolist() for name in categorical},
        rows=len(train),
    )
    return spec_from_moments(moments, train, problem, missing)


def spec_from_moments(
    moments: Moments, train: pd.DataFrame, problem: TabularProblem, missing: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The spec from the training split's statistics (`train` is read for column dtypes only).

    A column with missing values in training, or named in `missing` (see allowed_missing), gets a `missing`
    policy, which the model carries inside itself (pipelines/tabular_model.py) and the serving signature states:
    numbers are imputed with the training mean and a missing indicator is added; categories get a "missing"
    category of their own. Columns without missing values are described exactly as before (no `missing` key).
    """
    rows = moments.rows
    numeric: dict[str, Any] = {}
    for name in problem.numeric_features:
        if moments.missing[name] >= rows:
            raise PipelineError(
                f"featurize: feature column '{name}' has no value in the {rows} training row(s): "
                "nothing to learn its mean from"
            )
        numeric[name] = {"mean": moments.mean[name], "variance": moments.variance[name]}
        share = moments.missing[name] / rows
        if share > 0 or name in missing:
            numeric[name]["missing"] = {"policy": "impute_mean_with_indicator", "share": round(share, 6)}
    categorical: dict[str, Any] = {}
    for name in problem.categorical_features:
        column = train[name]
        is_string = pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)
        values = sorted(moments.distinct[name])
        vocabulary = [str(v) for v in values] if is_string else [int(v) for v in values]
        categorical[name] = {"dtype": "string" if is_string else "int64", "vocabulary": vocabulary}
        share = moments.missing[name] / rows
        if share > 0 or name in missing:
            marker = MISSING_CATEGORY if is_string else missing_marker(vocabulary)
            categorical[name]["vocabulary"] = [*vocabulary, marker]
            categorical[name]["missing"] = {"policy": "category", "marker": marker, "share": round(share, 6)}
    spec: dict[str, Any] = {
        "kind": "table",
        "problem": problem.name,
        "task": problem.task,
        "target": problem.target,
        "timestamp": problem.timestamp,
        "numeric": numeric,
        "categorical": categorical,
        "train_rows": rows,
    }
    source_names = {safe_name(c): str(c) for c in problem.source_columns if safe_name(c) != str(c)}
    source_names = {k: v for k, v in source_names.items() if k in problem.features}
    if source_names:  # the fields a request may use: the source's own names (tasks/serving/request_checks.py)
        spec["source_names"] = source_names
    return spec


def add_na_markers(spec: dict[str, Any], markers: Any) -> None:
    """State the source's NA markers (`collect.read.na_values`: `?`) in each missing-value policy: the server then
    takes them for missing too, as collect did."""
    for info in [*spec["numeric"].values(), *spec["categorical"].values()]:
        if markers and "missing" in info:
            info["missing"]["na_markers"] = [str(m) for m in markers]


def withhold(
    parts: dict[str, pd.DataFrame], frame: pd.DataFrame, is_held: Callable[[pd.DataFrame], np.ndarray]
) -> dict[str, pd.DataFrame]:
    """`parts` with the fixed holdout's rows taken out of train and val (test keeps them: it trains nothing), and
    the holdout itself (every held row of `frame`, in its order) as `holdout`."""
    kept = {
        name: part if name == "test" else part.loc[~is_held(part)].reset_index(drop=True)
        for name, part in parts.items()
    }
    if min(len(kept["train"]), len(kept["val"])) < 1:
        raise PipelineError("featurize: the holdout (featurize.holdout) leaves no training or no validation rows")
    return {**kept, "holdout": frame.loc[is_held(frame)].reset_index(drop=True)}


def split(problem: TabularProblem, params: Params, frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The split `featurize.split` names (default: by time when the problem has a time, else stratified), with the
    fixed holdout (`featurize.holdout`, tasks/kinds/table_holdout.py) kept out of train and val as `holdout`."""
    rule = read_holdout_rule(params, problem)
    is_held = None if rule is None else (lambda part: held(part, rule, problem))
    parts = _split(problem, params, frame, is_held)
    if is_held is not None and "holdout" not in parts:
        parts = withhold(parts, frame.drop(columns=GIVEN_TEST, errors="ignore"), is_held)
    return parts


def _split(
    problem: TabularProblem,
    params: Params,
    frame: pd.DataFrame,
    is_held: Callable[[pd.DataFrame], np.ndarray] | None,
) -> dict[str, pd.DataFrame]:
    default = "time" if problem.timestamp else ("stratified" if problem.task == "classification" else "random")
    mode = params.get("featurize.split", str, default)
    if mode not in SPLIT_MODES:
        raise PipelineError(f"{params.source}: 'featurize.split' is {mode!r}; expected one of {list(SPLIT_MODES)}")
    val_fraction = params.get("featurize.val_fraction", float, minimum=0.01, maximum=0.9)
    stratify = problem.target if problem.task == "classification" else None
    if mode == "time":
        if not problem.timestamp:
            raise PipelineError(
                f"{params.source}: 'featurize.split' is 'time' but problem '{problem.name}' has no time"
            )
        test_fraction = params.get("featurize.test_fraction", float, minimum=0.01, maximum=0.9)
        return split_by_time(frame, problem.timestamp, val_fraction, test_fraction, is_held)
    seed = params.get("featurize.seed", int, 0)
    if mode == "given":
        return split_given(frame, val_fraction, seed, stratify)
    test_fraction = params.get("featurize.test_fraction", float, minimum=0.01, maximum=0.9)
    if mode == "stratified" and stratify is None:
        raise PipelineError(f"{params.source}: 'featurize.split' stratified needs a classification problem")
    return split_random(frame, val_fraction, test_fraction, seed, stratify if mode == "stratified" else None)


def labelled_rows(frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, int]:
    """The rows whose target is known, and how many were not: a row without a target is no example (validation's
    suite says how many may lack it; the count is in spec.json and the log)."""
    missing = frame[target].isna()
    if missing.any():
        log.warning("%d row(s) without a value of the target '%s' are not examples: left out", missing.sum(), target)
    return frame.loc[~missing].reset_index(drop=True), int(missing.sum())


def holdout_entry(problem: TabularProblem, rule: HoldoutRule, splits: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """spec.json's `holdout`: the rule, its rows and the digest of their row ids (equal digests, the same set), how
    many held rows the test split also holds; a warning when the data holds none of it yet."""
    holdout = splits["holdout"]
    columns = id_columns(problem, holdout)
    ids = row_ids(holdout, columns)
    entry: dict[str, Any] = {
        "rule": rule.describe(),
        "rows": len(holdout),
        "row_ids_sha256": ids_digest(ids),
        "in_test": int(np.isin(row_ids(splits["test"], columns), ids).sum()),
    }
    if problem.timestamp and len(holdout):
        entry |= {"from": str(holdout[problem.timestamp].min()), "to": str(holdout[problem.timestamp].max())}
    if not len(holdout):
        log.warning("featurize.holdout %s holds no rows of this data yet: the test split is the holdout", entry["rule"])
    return entry


FitSpec = Callable[[pd.DataFrame, TabularProblem, frozenset[str]], dict[str, Any]]


def featurize(problem: TabularProblem, params: Params, fit: FitSpec = fit_feature_spec) -> dict[str, Any]:
    """`fit`: fit_feature_spec here, or the same statistics fitted on Dask (tasks/kinds/table_spec_on_dask.py)."""
    frame, unlabelled = labelled_rows(read_parquet(VALIDATED), problem.target)
    splits = split(problem, params, frame)
    spec = fit(splits["train"], problem, allowed_missing(problem, frame))
    add_na_markers(spec, params.raw("collect.read.na_values", None) or ())  # the source's NA markers, if any
    if problem.task == "classification":
        values, names = class_names(problem, frame[problem.target])
        splits = {name: encode_target(part, problem.target, values) for name, part in splits.items()}
        spec["classes"] = names
        spec["class_values"] = [v if isinstance(v, int | float | str) else str(v) for v in values]
    spec["rows_without_target"] = unlabelled
    rule = read_holdout_rule(params, problem)
    if rule is not None:
        spec["holdout"] = holdout_entry(problem, rule, splits)
        if not len(splits["holdout"]):
            del splits["holdout"]  # nothing held yet: the test split is the holdout, as without the key
    spec["splits"] = {}
    for name, part in splits.items():
        if name == "holdout":
            continue
        entry: dict[str, Any] = {"rows": len(part)}
        if problem.timestamp:
            entry |= {"from": str(part[problem.timestamp].min()), "to": str(part[problem.timestamp].max())}
        if problem.task == "classification":
            entry["per_class"] = np.bincount(part[problem.target], minlength=len(spec["classes"])).tolist()
        spec["splits"][name] = entry
    write_features(splits, spec)
    log.info("split %s", {k: v["rows"] for k, v in spec["splits"].items()})
    return spec
