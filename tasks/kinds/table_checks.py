"""The table kind's validate: check collected rows against the problem's committed Great Expectations suites,
streaming in chunks.

Two suites, both versioned files in `pipelines/<problem>/expectations/` (start them with `python -m
tasks.checks.infer_schema`, then review and commit):
- `raw.json` checks the collected rows: columns, types, nulls, ranges, categories, unique timestamps, row counts,
  distribution bounds against the reference;
- `features.json` checks the exact columns that go on to featurize (time, features, target), so a leakage column
  can never reach the model.
Beyond the suites (`tasks/checks/data_checks.py`): no future timestamps, gaps longer than `validate.max_gap` (critical
unless
`validate.gap_severity: warning`: a missing week or month is a broken feed, not a season), duplicate
rows (`validate.duplicate_severity`, `validate.max_duplicate_share`; each shown with its file and line,
tasks/checks/duplicates.py), and target leakage through undeclared columns. And, where the problem has a committed
`reference.json`, each month
of the batch against the reference's own month-to-month variation (`tasks/kinds/table_reference.py`): relations
between columns (correlations, exact sums) and stable scales and levels, so a column swap or an in-range rescale
fails, naming the columns and the size of the shift, while a new season passes.

Each expectation has a severity: `critical` fails the run, `warning`/`info` is reported and the run continues.
data/raw/data.parquet is read `validate.chunk_rows` rows at a time, so memory stays bounded for any input size.

Outputs: `data/validated/data.parquet` (only when nothing critical failed) and `reports/validation/` (Data Docs that
open offline, `summary.json`, `summary.md`). On failure the stage exits non-zero with one message naming each failed
expectation (column, expected, observed, sample bad values); `data/validated/` keeps the last good data byte for
byte, and the rejected batch and its report are copied to `data/quarantine/<id>/`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.problem import TabularProblem
from tasks.checks.data_checks import CheckSettings, DataChecks
from tasks.checks.duplicates import ORIGIN_COLUMNS, manifest_sources, rows_at
from tasks.checks.expectation_check import ExpectationResult
from tasks.checks.expectations import SuiteRun
from tasks.checks.findings import Finding, ValidationOutcome, to_finding
from tasks.core.artifacts import QUARANTINE_DIR, RAW, VALIDATION_REPORT_DIR
from tasks.core.artifacts import VALIDATED_DIR as OUT_DIR
from tasks.core.atomic import atomic_dir
from tasks.core.compute import Scheduler, scheduler_from_params
from tasks.core.errors import PipelineError
from tasks.core.params import Params
from tasks.core.progress import duration
from tasks.core.reproducible import DATA_DOCS_RUN_NAME, FIXED_TIME, RUNS_DIR, record_run
from tasks.kinds.table_reference import ReferenceChecks, check_profile
from tasks.kinds.table_source import GIVEN_TEST
from tasks.scale.partitions import chunks_on_cluster

REPORT_DIR = VALIDATION_REPORT_DIR
LOCAL_SCHEDULER = Scheduler()
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ValidateSettings:
    sample_size: int = 5
    chunk_rows: int = 500_000
    max_gap: pd.Timedelta | None = None
    gap_severity: str = "critical"  # a gap longer than max_gap (a missing week or month) fails validation
    now: pd.Timestamp | None = None  # None: the time of the run
    data_docs: bool = True
    duplicate_severity: str = "critical"  # rows repeating another row beyond max_duplicate_share fail the run
    max_duplicate_share: float = 0.0
    scheduler: Scheduler = LOCAL_SCHEDULER  # compute.scheduler: not local, the Dask workers read the partitions

    @classmethod
    def from_params(cls, params: Params) -> ValidateSettings:
        gap = params.get("validate.max_gap", (str, type(None)), None)
        now = params.get("validate.now", (str, type(None)), None)
        try:
            max_gap = pd.Timedelta(gap) if gap else None
        except ValueError:
            raise PipelineError(
                f"params.yaml: 'validate.max_gap' must be a duration like '1d' or '6h', got {gap!r}"
            ) from None
        try:
            now_ts = pd.Timestamp(now) if now else None
        except ValueError:
            raise PipelineError(f"params.yaml: 'validate.now' must be a date or datetime, got {now!r}") from None
        gap_severity = params.get("validate.gap_severity", str, "critical")
        if gap_severity not in ("critical", "warning"):
            raise PipelineError(
                f"params.yaml: 'validate.gap_severity' must be 'critical' or 'warning', got {gap_severity!r}"
            )
        duplicate_severity = params.get("validate.duplicate_severity", str, "critical")
        if duplicate_severity not in ("critical", "warning"):
            raise PipelineError(
                "params.yaml: 'validate.duplicate_severity' must be 'critical' or 'warning', "
                f"got {duplicate_severity!r}"
            )
        return cls(
            duplicate_severity=duplicate_severity,
            max_duplicate_share=params.get("validate.max_duplicate_share", float, 0.0, minimum=0.0, maximum=1.0),
            gap_severity=gap_severity,
            sample_size=params.get("validate.sample_bad_values", int, 5, minimum=1),
            chunk_rows=params.get("validate.chunk_rows", int, 500_000, minimum=1),
            max_gap=max_gap,
            now=now_ts,
            data_docs=params.get("validate.data_docs", bool, True),
            scheduler=scheduler_from_params(params),
        )


def load_suite_json(path: Path) -> dict[str, Any]:
    try:
        suite = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PipelineError(f"{path}: expectation suite not found") from None
    except json.JSONDecodeError as err:
        raise PipelineError(f"{path}: not valid JSON: {err}") from None
    if "name" not in suite or "expectations" not in suite:
        raise PipelineError(f"{path}: an expectation suite needs 'name' and 'expectations'")
    return suite


def load_reference_profile(problem: TabularProblem) -> dict[str, Any] | None:
    """The problem's committed reference profile (`reference.json` beside the suites), or None when it has none
    (a problem without time, or one whose reference has too few months: see tasks/kinds/table_reference.py)."""
    path = problem.suite_path("reference")
    if not path.exists():
        return None
    try:
        profile = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise PipelineError(f"{path}: not valid JSON: {err}") from None
    check_profile(profile, str(path))
    return profile


def feature_view(frame: pd.DataFrame, problem: TabularProblem) -> pd.DataFrame:
    """The columns that continue to featurize: everything but the declared leakage and helper columns."""
    drop = [c for c in frame.columns if c not in problem.model_columns]
    return frame.drop(columns=drop)


@dataclass
class StreamResult:
    outcome: ValidationOutcome
    runs: list[tuple[dict[str, Any], list[ExpectationResult]]]
    rows: int
    sorted_by_time: bool


def validate_stream(
    chunks: Iterable[pd.DataFrame],
    raw_suite: dict[str, Any],
    features_suite: dict[str, Any],
    problem: TabularProblem,
    settings: ValidateSettings,
    sink: Callable[[pd.DataFrame], None] | None = None,
    reference: dict[str, Any] | None = None,
    sources: list[str] | None = None,
    lookup: Callable[[list[int]], pd.DataFrame] | None = None,
) -> StreamResult:
    """Run both suites, the extra checks and (if given) the reference profile's checks over `chunks`; pass each
    chunk's feature view to `sink`. `sources` (the manifest's files) and `lookup` (rows by position) name the
    file, line and values of duplicated rows."""
    raw_run = SuiteRun(raw_suite, settings.sample_size)
    against_reference = ReferenceChecks(reference) if reference is not None else None
    features_run = SuiteRun(features_suite, settings.sample_size)
    checks = DataChecks(
        CheckSettings(
            timestamp=problem.timestamp,
            target=problem.target,
            declared_leakage=problem.leakage_columns,
            now=settings.now if settings.now is not None else pd.Timestamp(datetime.now(UTC).replace(tzinfo=None)),
            max_gap=settings.max_gap,
            gap_severity=settings.gap_severity,
            sample_size=settings.sample_size,
            duplicate_severity=settings.duplicate_severity,
            max_duplicate_share=settings.max_duplicate_share,
        )
    )
    rows, ordered, last = 0, True, None
    started = time.perf_counter()
    for number, chunk in enumerate(chunks, start=1):
        chunk_started = time.perf_counter()
        marker = chunk.pop(GIVEN_TEST) if GIVEN_TEST in chunk.columns else None  # collect's, not the source's
        origin = chunk[[c for c in ORIGIN_COLUMNS if c in chunk.columns]]  # collect's too: each row's file, line
        chunk = chunk.drop(columns=list(origin.columns))
        raw_run.update(chunk)
        checks.update(chunk, origin)
        if against_reference is not None:
            against_reference.update(chunk)
        view = feature_view(chunk, problem)
        features_run.update(view)
        rows += len(chunk)
        if problem.timestamp in view.columns and len(view):
            times = pd.to_datetime(view[problem.timestamp], errors="coerce")
            ordered = ordered and times.is_monotonic_increasing and (last is None or times.iloc[0] >= last)
            last = times.iloc[-1]
        if sink is not None:
            sink(view if marker is None else view.assign(**{GIVEN_TEST: marker.to_numpy()}))
        log.info(
            "chunk %d: %s rows checked (%s; %s rows so far in %s)",
            number,
            f"{len(chunk):,}",
            duration(time.perf_counter() - chunk_started),
            f"{rows:,}",
            duration(time.perf_counter() - started),
        )
    raw_results, features_results, check_results = (
        raw_run.finish(),
        features_run.finish(),
        checks.finish(sources, lookup),
    )
    findings = [to_finding(raw_run.name, r) for r in raw_results]
    findings += [to_finding(features_run.name, r) for r in features_results]
    findings += [to_finding("checks", r) for r in check_results]
    if against_reference is not None:
        findings += [to_finding(str(reference.get("name", "reference")), r) for r in against_reference.finish()]
    runs = [(raw_suite, raw_results), (features_suite, features_results)]
    return StreamResult(ValidationOutcome(findings), runs, rows, bool(ordered))


def iter_parquet(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """`path` as DataFrames of at most `chunk_rows` rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        reader = pq.ParquetFile(path)
    except FileNotFoundError:
        raise PipelineError(f"{path}: not found; run the collect stage first") from None
    except (pa.ArrowException, OSError) as err:
        raise PipelineError(f"{path}: not a readable Parquet file: {err}") from None
    try:
        for batch in reader.iter_batches(batch_size=chunk_rows):
            yield batch.to_pandas()
    except (pa.ArrowException, OSError) as err:
        raise PipelineError(f"{path}: could not be read: {err}") from None


class ParquetSink:
    """Appends DataFrame chunks to one Parquet file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.writer: Any = None

    def __call__(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.writer is None:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            self.writer = pq.ParquetWriter(self.path, table.schema)
        else:
            table = pa.Table.from_pandas(frame, schema=self.writer.schema, preserve_index=False)
        self.writer.write_table(table)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def write_reports(report_dir: Path, result: StreamResult, source: Path, run_time: datetime, data_docs: bool) -> None:
    """summary.json, summary.md and (if asked) Data Docs, replacing `report_dir` as a whole.

    The reports are a DVC out, byte-reproducible: Data Docs get a fixed run name and time (tasks/core/reproducible.py);
    `run_time`, the real one, is recorded outside them (data/runs/validate.json)."""
    with atomic_dir(report_dir) as docs:
        if data_docs:
            from tasks.checks.data_docs import build_data_docs

            build_data_docs(docs, result.runs, DATA_DOCS_RUN_NAME, FIXED_TIME)
        summary = {"source": str(source), "rows": result.rows}
        summary |= result.outcome.summary()
        (docs / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
        title = f"Validation of {source} ({result.rows:,} rows)"
        (docs / "summary.md").write_text(result.outcome.markdown(title) + "\n", encoding="utf-8")
        if data_docs:
            from tasks.checks.data_docs import write_summary_page

            write_summary_page(docs, title, result.outcome.headline(), result.outcome.sections())


def run_suites(
    batches: list[tuple[dict[str, Any], pd.DataFrame]], docs_dir: Path | None, sample_size: int = 5
) -> ValidationOutcome:
    """Validate each in-memory (suite, frame) pair; build Data Docs into `docs_dir` if given."""
    runs = []
    findings: list[Finding] = []
    for suite, frame in batches:
        run = SuiteRun(suite, sample_size)
        run.update(frame)
        results = run.finish()
        runs.append((suite, results))
        findings += [to_finding(suite["name"], r) for r in results]
    if docs_dir is not None:
        from tasks.checks.data_docs import build_data_docs

        build_data_docs(docs_dir, runs, DATA_DOCS_RUN_NAME, FIXED_TIME)
    return ValidationOutcome(findings)


def failure_message(outcome: ValidationOutcome, source: Path, quarantined: Path | None = None) -> str:
    lines = [f"{source}: {len(outcome.failures)} expectation(s) failed; the pipeline stops before featurize:"]
    listed, skipped = outcome.failures_to_report()
    lines += [f"  - [{f.suite}] {f.describe()}" for f in listed]
    lines += [
        f"  - column '{column}' is missing, so these could not run: {', '.join(checks)}"
        for column, checks in skipped.items()
    ]
    lines.append(f"  The last validated data in {OUT_DIR}/ was left as it was. Report: {REPORT_DIR}/summary.md")
    if quarantined is not None:
        lines.append(f"  The rejected batch and its report were kept in {quarantined}/")
    return "\n".join(lines)


def sort_file_by_time(path: Path, column: str) -> None:
    """Rewrite a Parquet file in time order (only needed when collect did not write it sorted)."""
    frame = pd.read_parquet(path)
    frame.sort_values(column, kind="mergesort").to_parquet(path, index=False)


def validate(
    problem: TabularProblem,
    settings: ValidateSettings,
    raw: Path = RAW,
    out_dir: Path = OUT_DIR,
    report_dir: Path = REPORT_DIR,
) -> StreamResult:
    """Validate `raw`; on success replace `out_dir`, on failure quarantine the batch and raise a PipelineError."""
    from tasks.checks.quarantine import quarantine

    suites = load_suite_json(problem.suite_path("raw")), load_suite_json(problem.suite_path("features"))
    run_time = datetime.now(UTC)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".validated.", suffix=".parquet.tmp", dir=out_dir.parent)
    os.close(fd)
    staged = Path(name)
    try:
        sink = ParquetSink(staged)
        try:
            chunks = (
                iter_parquet(raw, settings.chunk_rows)
                if settings.scheduler.is_local
                else chunks_on_cluster(settings.scheduler, raw, settings.chunk_rows)
            )
            reference = load_reference_profile(problem)
            sources, lookup = manifest_sources(raw.parent / "manifest.json"), rows_at(raw, (GIVEN_TEST,))
            result = validate_stream(chunks, *suites, problem, settings, sink, reference, sources, lookup)
        finally:
            sink.close()
        write_reports(report_dir, result, raw, run_time, settings.data_docs)
        record_run("validate", {"source": str(raw), "rows": result.rows}, out_dir.parent / RUNS_DIR.name)
        for warning in result.outcome.warnings:
            log.warning("warning: [%s] %s", warning.suite, warning.describe())
        if not result.outcome.success:
            kept = quarantine(
                raw.parent,
                report_dir,
                failure_message(result.outcome, raw),
                run_time,
                out_dir.parent / QUARANTINE_DIR.name,
            )
            raise PipelineError(failure_message(result.outcome, raw, kept))
        if not result.sorted_by_time:
            sort_file_by_time(staged, problem.timestamp)
        with atomic_dir(out_dir) as tmp:
            os.replace(staged, tmp / "data.parquet")
    finally:
        with contextlib.suppress(FileNotFoundError):
            staged.unlink()
    log.info("%d rows passed %d checks", result.rows, len(result.outcome.findings))
    return result
