"""collect: read the configured source, keep the rows before `collect.as_of`, write Parquet plus a manifest.

Outputs (data/raw/): `data.parquet` (the source rows with a derived timestamp column) and `manifest.json`
(source URIs, sha256 of each, row counts, as_of). Rows whose time cannot be derived are kept, so that validation
reports them instead of collection dropping them silently.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines import load_problem
from pipelines.problem import TabularProblem
from tasks.atomic import atomic_dir
from tasks.errors import PipelineError, run_stage
from tasks.params import Params
from tasks.sources import SourceFile, read_sources

OUT_DIR = Path("data/raw")
log = logging.getLogger(__name__)


def parse_as_of(value: Any) -> pd.Timestamp:
    try:
        return pd.Timestamp(value)
    except (ValueError, TypeError):
        raise PipelineError(f"params.yaml: 'collect.as_of' must be a date or datetime, got {value!r}") from None


def select_before(
    frame: pd.DataFrame, problem: TabularProblem, as_of: pd.Timestamp, source: str = "source"
) -> pd.DataFrame:
    """Add the problem's timestamp column and keep rows before `as_of` (and rows whose time is unknown)."""
    frame = frame.copy()
    try:
        frame[problem.timestamp] = problem.derive_timestamp(frame)
    except KeyError as err:
        raise PipelineError(f"{source}: missing column {err} needed to derive '{problem.timestamp}'") from None
    keep = frame[problem.timestamp].isna() | (frame[problem.timestamp] < as_of)
    return frame.loc[keep].reset_index(drop=True)


def build_manifest(files: list[SourceFile], as_of: pd.Timestamp, rows_in: int, rows_out: int) -> dict[str, Any]:
    return {
        "sources": [{"uri": f.uri, "sha256": f.sha256, "bytes": len(f.payload)} for f in files],
        "as_of": as_of.isoformat(),
        "rows_read": rows_in,
        "rows_collected": rows_out,
        "collected_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main() -> None:
    params = Params.load()
    problem = load_problem(params.get("problem", str))
    if problem.kind == "image":  # images take their own path through this stage
        from tasks import image_collect

        return image_collect.main(params, problem)
    source = params.get("collect.source", str)
    as_of = parse_as_of(params.raw("collect.as_of"))
    expected_sha = params.get("collect.sha256", (str, type(None)), None)

    frame, files = read_sources(source)
    if expected_sha and [f.sha256 for f in files] != [expected_sha]:
        got = ", ".join(f.sha256 for f in files)
        raise PipelineError(f"collect.sha256: {source} has sha256 {got}, expected {expected_sha}")
    selected = select_before(frame, problem, as_of, source)
    if selected.empty:
        raise PipelineError(f"collect.as_of={as_of.isoformat()}: no rows of {source} fall before it")

    with atomic_dir(OUT_DIR) as tmp:
        selected.to_parquet(tmp / "data.parquet", index=False)
        manifest = build_manifest(files, as_of, len(frame), len(selected))
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    log.info("collected %d of %d rows before %s from %s", len(selected), len(frame), as_of, source)


if __name__ == "__main__":
    run_stage("collect", main)
