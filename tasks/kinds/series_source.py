"""The series kind's collect and validate: read the long source table, then check it and report its gaps.

collect writes data/raw/ (the source's time, station and feature columns, one row per station and hour, and
`manifest.json`); validate writes the validation report with the gap report, quarantines a failed batch, and writes
data/validated/. What the checks and the gap report mean is in tasks/kinds/series.py.
"""

from __future__ import annotations

import html
import json
import logging
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from pipelines.problem import SeriesProblem
from tasks.checks.quarantine import quarantine
from tasks.core.artifacts import (
    QUARANTINE_DIR,
    RAW,
    VALIDATED,
    VALIDATED_DIR,
    VALIDATION_REPORT_DIR,
    read_parquet,
    write_raw,
)
from tasks.core.atomic import atomic_dir
from tasks.core.errors import PipelineError
from tasks.core.params import Params
from tasks.data.sources import HttpSettings, read_sources
from tasks.kinds.checks import Check, summary
from tasks.reports.html import page, table

log = logging.getLogger(__name__)
HOUR = pd.Timedelta(hours=1)


# ---------------------------------------------------------------------------------------------------- collect


def read_series_source(
    source: str, problem: SeriesProblem, http: HttpSettings | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    frame, files = read_sources(source, http)
    wanted = [problem.time_column, problem.station_column, *problem.features]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise PipelineError(
            f"collect.source {source}: no column(s) {missing}; the {problem.name} problem reads {wanted} "
            f"(columns: {list(frame.columns)})"
        )
    rows = frame[wanted].rename(columns={problem.time_column: "time", problem.station_column: "station"})
    rows = rows.assign(station=rows["station"].astype(str), time=rows["time"].astype(str))
    manifest = {
        "problem": problem.name,
        "sources": [{"uri": f.uri, "sha256": f.sha256, "bytes": len(f.payload)} for f in files],
        "rows": len(rows),
    }
    return rows, manifest


def collect(problem: SeriesProblem, params: Params) -> None:
    source = params.get("collect.source", str)
    http = HttpSettings.from_params(params)
    rows, manifest = read_series_source(source, problem, http)
    write_raw(rows, manifest)
    log.info("collected %d station-hours from %s", len(rows), source)


# --------------------------------------------------------------------------------------------------- validate


def missing_runs(present: pd.DatetimeIndex, start: pd.Timestamp, end: pd.Timestamp) -> list[int]:
    """Lengths (hours) of the runs of hours between `start` and `end` that `present` lacks."""
    missing = pd.date_range(start, end, freq="h").difference(present)
    if missing.empty:
        return []
    breaks = np.flatnonzero(np.diff(missing.asi8) != HOUR.value)
    return np.diff(np.concatenate([[0], breaks + 1, [len(missing)]])).tolist()


def gap_report(frame: pd.DataFrame, problem: SeriesProblem) -> dict[str, Any]:
    """Missing hours per station (count, longest run, runs by length), missing values and out-of-range readings
    per feature."""
    start, end = frame["time"].min(), frame["time"].max()
    stations = {}
    for station in problem.stations:
        runs = missing_runs(pd.DatetimeIndex(frame.loc[frame["station"] == station, "time"]), start, end)
        stations[station] = {
            "missing_hours": int(sum(runs)),
            "longest_gap_hours": int(max(runs, default=0)),
            "gaps_by_length": {str(k): int(v) for k, v in sorted(pd.Series(runs).value_counts().items())},
        }
    features = {}
    for feature in problem.features:
        values = pd.to_numeric(frame[feature], errors="coerce")
        lo, hi = problem.valid_ranges.get(feature, (-np.inf, np.inf))
        features[feature] = {
            "missing_values": int(values.isna().sum()),
            "outside_valid_range": int(((values < lo) | (values > hi)).sum()),
            "valid_range": [lo, hi] if np.isfinite([lo, hi]).all() else None,
        }
    return {"from": str(start), "to": str(end), "stations": stations, "features": features}


def check_series(frame: pd.DataFrame, problem: SeriesProblem, max_missing_share: float) -> list[Check]:
    def check(name: str, success: Any, detail: str, severity: str = "critical") -> Check:
        return Check(name, bool(success), detail, severity)

    unknown = sorted(set(frame["station"]) - set(problem.stations))
    absent = sorted(set(problem.stations) - set(frame["station"]))
    duplicated = frame.duplicated(["station", "time"])
    hours = (frame["time"].max() - frame["time"].min()) / HOUR + 1 if len(frame) else 0
    checks = [
        check("not empty", len(frame) > 0, f"{len(frame)} station-hours"),
        check("time parses", frame["time"].notna().all(), f"{int(frame['time'].isna().sum())} unreadable time(s)"),
        check("stations", not unknown and not absent, f"unknown {unknown}, absent {absent}"),
        check("one row per station and hour", not duplicated.any(), f"{int(duplicated.sum())} repeated row(s)"),
    ]
    for station in problem.stations:
        rows = int((frame["station"] == station).sum())
        share = 1 - rows / hours if hours else 1.0
        checks.append(
            check(
                f"{station}: missing hours",
                share <= max_missing_share,
                f"{share:.2%} of the hours missing (validate.max_missing_share {max_missing_share:.2%})",
            )
        )
    for feature in problem.features:
        values = pd.to_numeric(frame[feature], errors="coerce")
        lo, hi = problem.valid_ranges.get(feature, (-np.inf, np.inf))
        outside = int(((values < lo) | (values > hi)).sum())
        checks.append(
            check(
                f"{feature}: valid range",
                outside == 0,
                f"{outside} reading(s) outside {lo:g}..{hi:g}: treated as missing by featurize",
                severity="warning",
            )
        )
    return checks


def validate(problem: SeriesProblem, params: Params) -> None:
    max_missing_share = params.get("validate.max_missing_share", float, 0.05, minimum=0.0, maximum=1.0)
    frame = read_parquet(RAW)
    frame = frame.assign(time=pd.to_datetime(frame["time"], utc=True, errors="coerce"))
    checks = check_series(frame, problem, max_missing_share)
    gaps = gap_report(frame.dropna(subset=["time"]), problem) if frame["time"].notna().any() else {}
    run_time = datetime.now(UTC)
    outcome = {"source": str(RAW), "run_time": run_time.isoformat(timespec="seconds")} | summary(checks)
    outcome["gaps"] = gaps
    with atomic_dir(VALIDATION_REPORT_DIR) as docs:
        rows = [
            [c.name, "pass" if c.success else ("FAIL" if c.severity == "critical" else "warn"), c.detail]
            for c in checks
        ]
        station_rows = [
            [s, g["missing_hours"], g["longest_gap_hours"], json.dumps(g["gaps_by_length"])]
            for s, g in gaps.get("stations", {}).items()
        ]
        feature_rows = [[f, g["missing_values"], g["outside_valid_range"]] for f, g in gaps.get("features", {}).items()]
        verdict = outcome["success"]
        docs.joinpath("index.html").write_text(
            page(
                f"Validation: {problem.name}",
                [
                    ("Verdict", f'<p class="{"pass" if verdict else "fail"}">{"PASSED" if verdict else "FAILED"}</p>'),
                    ("Checks", table(["check", "result", "detail"], rows)),
                    (
                        "Missing hours",
                        table(["station", "missing hours", "longest gap (h)", "gaps by length"], station_rows),
                    ),
                    ("Missing values", table(["feature", "missing", "outside valid range"], feature_rows)),
                ],
                subtitle=html.escape(problem.description),
            )
        )
        (docs / "summary.json").write_text(json.dumps(outcome, indent=2) + "\n")
    if not outcome["success"]:
        lines = [f"{RAW}: {outcome['failed']} check(s) failed; the pipeline stops before featurize:"]
        lines += [f"  - {c.name}: {c.detail}" for c in checks if not c.success and c.severity == "critical"]
        lines.append(f"  The last validated data in {VALIDATED_DIR}/ was left as it was.")
        kept = quarantine(RAW.parent, VALIDATION_REPORT_DIR, "\n".join(lines), run_time, QUARANTINE_DIR)
        lines.append(f"  The rejected batch and its report were kept in {kept}/")
        raise PipelineError("\n".join(lines))
    with atomic_dir(VALIDATED_DIR) as tmp:
        frame.to_parquet(tmp / VALIDATED.name, index=False)
    log.info("%d station-hours passed %d checks", len(frame), len(checks))
