"""Infer starting expectation suites from reference data (GX 1.x has no profiler).

    python -m tasks.checks.infer_schema [--reference PATH] [--margin 0.1] [--max-categories 30] [--row-factor 3]
    [--sigmas 2]

writes `pipelines/<problem>/expectations/raw.json` and `features.json`. A person reviews the diff and commits it;
validation only ever uses the committed suites. From the reference it derives:
- the exact column set and a row-count range (1 .. row_factor x the reference rows);
- per column: the dtype family, no nulls (or the observed non-null share, with slack, and in the expectation's
  `meta` the share seen and the missing-value policy the model applies), and either the category set
  (text and integer columns with at most `max_categories` values) or a value range widened by `margin` x the span
  (clipped at 0 when the reference never goes below 0; the problem's `extra["value_ranges"]` overrides it);
  no distribution bounds for the problem's `extra["calendar_columns"]` (a batch covers only a stretch of time);
- uniqueness where every reference value is distinct (never for floats);
- distribution bounds, severity `warning`: mean and 5/25/50/75/95% quantiles within one reference standard
  deviations (`--sigmas`, default 2) of the reference's;
`features.json` holds the exact columns that reach featurize (time, features, target): the guard that keeps leakage
columns out of the model.
For a problem with time it also writes `reference.json`, the reference profile (tasks/kinds/table_reference.py):
bands for each month of a batch, from the month-to-month variation of the reference rows before `--until` (default
`collect.as_of`: the data the production model is trained on). Renew it when a reviewed promotion moves the training
window (`--until <the new as_of>`), and review the diff like the suites'.
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines import load_problem
from pipelines.problem import TabularProblem
from tasks.checks.categories import top_k_expectation
from tasks.core.atomic import write_text
from tasks.core.errors import PipelineError, run_stage
from tasks.core.params import Params

QUANTILES = [0.05, 0.25, 0.5, 0.75, 0.95]
TYPE_FAMILIES = {
    "i": ["int64", "int32", "int16", "int8"],
    "u": ["uint64", "uint32", "uint16", "uint8"],
    "f": ["float64", "float32"],
    "b": ["bool"],
    "M": ["datetime64[ns]", "datetime64[us]", "datetime64[ms]"],
    "O": ["object", "str", "string"],
}


def _expectation(kind: str, severity: str = "critical", **kwargs: Any) -> dict[str, Any]:
    return {"type": kind, "kwargs": kwargs, "meta": {}, "severity": severity}


def _round(value: float, down: bool, integer: bool) -> float | int:
    if integer:
        return int(math.floor(value) if down else math.ceil(value))
    return float(round(value, 6))


def type_list(series: pd.Series) -> list[str]:
    dtype_kind = series.dtype.kind
    if str(series.dtype) in ("string", "str"):
        dtype_kind = "O"
    if dtype_kind not in TYPE_FAMILIES:
        raise PipelineError(f"column '{series.name}': cannot infer a type family for dtype {series.dtype}")
    return TYPE_FAMILIES[dtype_kind]


def missing_policy(series: pd.Series, null_share: float) -> dict[str, Any]:
    """What a column with missing values is held to and how the model treats them (tasks/kinds/table_split.py
    fits the same policy on the training split; the model carries it, the serving signature states it)."""
    number = series.dtype.kind in "f" or (series.dtype.kind in "iu" and not pd.api.types.is_bool_dtype(series))
    return {
        "missing_share_in_reference": round(null_share, 6),
        "missing_policy": "impute_mean_with_indicator (numeric feature) or a missing category (categorical feature)"
        if number
        else "a missing category",
    }


def column_expectations(
    series: pd.Series,
    margin: float,
    max_categories: int,
    known_range: tuple[float, float] | None,
    sigmas: float = 2.0,
    distribution: bool = True,
) -> list[dict[str, Any]]:
    """Type, nulls, categories or range, uniqueness and distribution bounds for one reference column."""
    name = str(series.name)
    out = [_expectation("expect_column_values_to_be_in_type_list", column=name, type_list=type_list(series))]
    null_share = float(series.isna().mean())
    if null_share == 0:
        out.append(_expectation("expect_column_values_to_not_be_null", column=name))
    elif null_share < 1:
        mostly = max(0.0, round(1 - min(1.0, 2 * null_share + 0.01), 4))
        out.append(_expectation("expect_column_values_to_not_be_null", column=name, mostly=mostly))
        out[-1]["meta"] = missing_policy(series, null_share)
    present = series.dropna()
    dtype_kind = series.dtype.kind
    distinct = present.unique()
    is_number = dtype_kind in "iuf" and not pd.api.types.is_bool_dtype(series)
    if (dtype_kind == "O" or dtype_kind in "iu") and len(distinct) <= max_categories:
        values = sorted(distinct.tolist(), key=lambda v: (str(type(v)), v))
        out.append(_expectation("expect_column_values_to_be_in_set", column=name, value_set=values))
    elif dtype_kind == "O" and len(distinct) > max_categories:  # warns, naming the column and what is checked
        out.append(top_k_expectation(series, max_categories))
    elif is_number and len(present):
        integer = dtype_kind in "iu"
        lo, hi = float(present.min()), float(present.max())
        if known_range is not None:
            lo, hi = known_range
        else:
            span = hi - lo if hi > lo else abs(hi) or 1.0
            clip_at_zero = lo >= 0
            lo, hi = lo - margin * span, hi + margin * span
            lo = max(lo, 0.0) if clip_at_zero else lo
        out.append(
            _expectation(
                "expect_column_values_to_be_between",
                column=name,
                min_value=_round(lo, True, integer),
                max_value=_round(hi, False, integer),
            )
        )
        if distribution:
            out += distribution_expectations(name, present.to_numpy(dtype="float64"), (lo, hi), sigmas)
    if dtype_kind not in "fb" and len(present) > 1 and len(distinct) == len(present):
        out.append(_expectation("expect_column_values_to_be_unique", column=name))
    return out


def distribution_expectations(
    name: str, values: np.ndarray, bounds: tuple[float, float], sigmas: float = 2.0
) -> list[dict[str, Any]]:
    """Mean and quantiles within `sigmas` reference standard deviations (inside `bounds`, the column's allowed
    range): a shifted batch warns, it does not fail."""
    std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    width = sigmas * std or 1e-9

    def within(lo: float, hi: float) -> list[float]:
        return [round(max(lo, bounds[0]), 6), round(min(hi, bounds[1]), 6)]

    mean = float(values.mean())
    quantiles = [float(q) for q in np.quantile(values, QUANTILES)]
    return [
        _expectation(
            "expect_column_mean_to_be_between",
            "warning",
            column=name,
            min_value=within(mean - width, mean + width)[0],
            max_value=within(mean - width, mean + width)[1],
        ),
        _expectation(
            "expect_column_quantile_values_to_be_between",
            "warning",
            column=name,
            quantile_ranges={
                "quantiles": QUANTILES,
                "value_ranges": [within(q - width, q + width) for q in quantiles],
            },
        ),
    ]


def infer_raw_suite(
    frame: pd.DataFrame,
    name: str,
    margin: float = 0.1,
    max_categories: int = 30,
    row_factor: float = 3.0,
    value_ranges: dict[str, tuple[float, float]] | None = None,
    notes: str = "",
    sigmas: float = 2.0,
    calendar_columns: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A suite describing `frame`: the reference the next batches are held to."""
    if frame.empty:
        raise PipelineError("the reference data has no rows: nothing to infer a schema from")
    value_ranges = value_ranges or {}
    expectations = [
        _expectation("expect_table_columns_to_match_set", column_set=[str(c) for c in frame.columns]),
        _expectation("expect_table_row_count_to_be_between", min_value=1, max_value=math.ceil(len(frame) * row_factor)),
    ]
    for column in frame.columns:
        known = value_ranges.get(str(column))
        in_time = str(column) in calendar_columns  # a batch covers a stretch of time: no distribution bounds
        expectations += column_expectations(frame[column], margin, max_categories, known, sigmas, not in_time)
    return {"name": name, "expectations": expectations, "meta": {"notes": notes}, "notes": None}


def infer_features_suite(problem: TabularProblem, notes: str) -> dict[str, Any]:
    return {
        "name": f"{problem.name}.features",
        "expectations": [_expectation("expect_table_columns_to_match_set", column_set=problem.model_columns)],
        "meta": {"notes": notes},
        "notes": None,
    }


def infer_profile(
    frame: pd.DataFrame, problem: TabularProblem, until: str | None, source: str
) -> dict[str, Any] | None:
    """The reference profile of the rows before `until` (None/'none': all), or None for a problem without time or
    a reference of too few months."""
    from tasks.kinds.table_reference import infer_reference_profile

    if problem.timestamp is None or problem.timestamp not in frame.columns:
        return None
    if until not in (None, "", "none"):
        frame = frame.loc[pd.to_datetime(frame[problem.timestamp], errors="coerce") < pd.Timestamp(until)]
    exclude = [*problem.categorical_features, *problem.extra.get("calendar_columns", ())]
    notes = (
        f"Inferred by `python -m tasks.checks.infer_schema` from the rows of {source} before {until} "
        f"({len(frame)} rows): "
        "bands for each month of a batch from the reference's month-to-month variation; reviewed before commit."
    )
    return infer_reference_profile(frame, f"{problem.name}.reference", problem.timestamp, exclude, notes=notes)


def load_reference(path: str, problem: TabularProblem, options: Any = None) -> pd.DataFrame:
    """Reference rows as collect writes them (safe column names, the problem's timestamp column if it has time),
    from any source `collect` reads, read with the problem's source options (`options`: collect.read)."""
    from tasks.data.sources import read_sources
    from tasks.kinds.table_source import conform_columns

    frame, _ = read_sources(path, options=options)
    frame = conform_columns(frame, problem, path)  # the safe column names collect writes
    has_time = problem.timestamp is not None and problem.derive_timestamp is not None
    if has_time and problem.timestamp not in frame.columns:
        try:
            frame[problem.timestamp] = problem.derive_timestamp(frame)
        except KeyError as err:
            raise PipelineError(f"{path}: missing column {err} needed to derive '{problem.timestamp}'") from None
    return frame


def check_loads_in_gx(suite: dict[str, Any]) -> str:
    """Fail now, not at the next validation, if GX rejects an expectation's kwargs; return GX's version."""
    import great_expectations as gx

    gx.ExpectationSuite(name=suite["name"], expectations=suite["expectations"], meta=suite["meta"])
    return str(gx.__version__)


def refuse_to_overwrite(texts: dict[Path, str], force: bool) -> None:
    """Print a unified diff for every file in `texts` that exists with other content; unless `force`, stop with a
    PipelineError naming them (suites are committed, reviewed files: overwriting them is a decision)."""
    changed = []
    for path, text in texts.items():
        if not path.exists():
            continue
        old = path.read_text(encoding="utf-8")
        if old == text:
            continue
        changed.append(path)
        diff = difflib.unified_diff(
            old.splitlines(keepends=True), text.splitlines(keepends=True), f"{path} (now)", f"{path} (inferred)"
        )
        sys.stdout.writelines(diff)
    if changed and not force:
        names = ", ".join(str(p) for p in changed)
        raise PipelineError(
            f"{names}: exist and differ from the inferred suites (diff above); nothing was written. "
            "Re-run with --force to overwrite them, or --out-dir DIR to write elsewhere and compare."
        )


def main(argv: list[str] | None = None) -> None:
    # The problem first: its own params (pipelines/<problem>/params.yaml) give the default reference and options.
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--problem", default=None)
    chosen, _ = early.parse_known_args(argv)
    params = Params.load(problem=chosen.problem)
    parser = argparse.ArgumentParser(prog="python -m tasks.checks.infer_schema", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--reference", default=params.get("collect.source", str), help="file, glob or URL (default: the problem's)"
    )
    parser.add_argument("--problem", default=params.get("problem", str))
    parser.add_argument("--out-dir", type=Path, default=None, help="default: pipelines/<problem>/expectations")
    parser.add_argument("--margin", type=float, default=0.1, help="range widening, as a share of the span")
    parser.add_argument("--max-categories", type=int, default=30)
    parser.add_argument("--row-factor", type=float, default=3.0, help="row-count ceiling, x reference rows")
    parser.add_argument("--sigmas", type=float, default=2.0, help="mean/quantile slack, in reference std devs")
    parser.add_argument(
        "--until",
        default=params.get("collect.as_of", (str, type(None)), None),
        help="reference profile from rows before this time (default collect.as_of; 'none': every row)",
    )
    parser.add_argument(
        "--force", action="store_true", help="overwrite suites that exist and differ (the committed ones by default)"
    )
    args = parser.parse_args(argv)

    problem = load_problem(args.problem)
    from tasks.data.read_options import ReadOptions

    frame = load_reference(args.reference, problem, ReadOptions.from_mapping(params.raw("collect.read", None)))
    out_dir = args.out_dir or problem.expectations_dir
    notes = (
        f"Inferred by `python -m tasks.checks.infer_schema` from {args.reference} ({len(frame)} rows; "
        f"margin {args.margin}, "
        f"max categories {args.max_categories}, row factor {args.row_factor}, sigmas {args.sigmas}); "
        "reviewed before commit."
    )
    raw = infer_raw_suite(
        frame,
        f"{problem.name}.raw",
        args.margin,
        args.max_categories,
        args.row_factor,
        problem.extra.get("value_ranges"),
        notes,
        args.sigmas,
        tuple(problem.extra.get("calendar_columns", ())),
    )
    features = infer_features_suite(
        problem,
        "The exact columns that may reach the model: time, features, target. "
        f"Declared leakage columns {list(problem.leakage_columns)} must not appear.",
    )
    suites = {out_dir / f"{view}.json": suite for view, suite in (("raw", raw), ("features", features))}
    for suite in suites.values():
        suite["meta"]["great_expectations_version"] = check_loads_in_gx(suite)
    profile = infer_profile(frame, problem, args.until, args.reference)
    if profile is not None:
        suites[out_dir / "reference.json"] = profile
    texts = {path: json.dumps(suite, indent=2) + "\n" for path, suite in suites.items()}
    refuse_to_overwrite(texts, args.force)  # all or nothing: never one suite new and the other old
    for path, text in texts.items():
        if path.exists() and path.read_text(encoding="utf-8") == text:
            print(f"{path}: unchanged")
            continue
        write_text(path, text)
        print(f"wrote {path}: {len(suites[path]['expectations'])} expectations; review, then commit")


if __name__ == "__main__":
    run_stage("infer_schema", main)
