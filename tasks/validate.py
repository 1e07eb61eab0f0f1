"""validate: check collected data against the problem's committed Great Expectations suites.

Two suites, both versioned files in `pipelines/<problem>/expectations/`:
- `raw.json` checks the collected rows: columns, types, nulls, ranges, categories, unique timestamps;
- `features.json` checks the exact columns that go on to featurize (time, features, target), so a leakage column
  can never reach the model.

Outputs: `data/validated/data.parquet` (only when every critical expectation passes) and `reports/validation/`
(Data Docs plus `summary.json`). On failure the stage exits non-zero with one message naming each failed
expectation, its column and sample bad values; `data/validated/` keeps the last good data untouched.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines import load_problem
from pipelines.problem import TabularProblem
from tasks.atomic import atomic_dir
from tasks.errors import PipelineError, run_stage
from tasks.params import Params

RAW = Path("data/raw/data.parquet")
OUT_DIR = Path("data/validated")
REPORT_DIR = Path("reports/validation")
log = logging.getLogger(__name__)


@dataclass
class Finding:
    """One expectation's outcome, in the words a person reads."""

    suite: str
    expectation: str
    column: str | None
    success: bool
    severity: str
    expected: str = ""
    observed: Any = None
    unexpected_count: int | None = None
    sample_bad_values: list[Any] = field(default_factory=list)
    error: str | None = None
    missing_columns: list[str] = field(default_factory=list)
    unexpected_columns: list[str] = field(default_factory=list)

    def describe(self) -> str:
        where = f"column '{self.column}'" if self.column else "table"
        parts = [f"{self.expectation} on {where}"]
        if self.expected:
            parts.append(f"expected {self.expected}")
        if self.missing_columns:
            parts.append(f"missing column(s) {self.missing_columns}")
        if self.unexpected_columns:
            parts.append(f"unexpected column(s) {self.unexpected_columns}")
        if self.error:
            parts.append(f"could not be evaluated: {self.error}")
        if self.unexpected_count:
            parts.append(f"{self.unexpected_count} bad value(s), e.g. {self.sample_bad_values}")
        elif not (self.missing_columns or self.unexpected_columns):
            if self.observed is not None:
                parts.append(f"observed {self.observed!r}")
            if self.sample_bad_values:
                parts.append(f"bad values, e.g. {self.sample_bad_values}")
        return "; ".join(parts)


@dataclass
class ValidationOutcome:
    findings: list[Finding]

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if not f.success and f.severity == "critical"]

    def failures_to_report(self) -> list[Finding]:
        """Failures minus those that only follow from a missing column (its type, nulls, range...)."""
        missing = {c for f in self.failures for c in f.missing_columns}
        return [f for f in self.failures if f.column is None or f.column not in missing]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if not f.success and f.severity != "critical"]

    @property
    def success(self) -> bool:
        return not self.failures

    def summary(self) -> dict[str, Any]:
        return {
            "success": self.success,
            "evaluated": len(self.findings),
            "passed": sum(f.success for f in self.findings),
            "failed": len(self.failures),
            "warned": len(self.warnings),
            "findings": [asdict(f) for f in self.findings if not f.success],
        }


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


def feature_view(frame: pd.DataFrame, problem: TabularProblem) -> pd.DataFrame:
    """The columns that continue to featurize: everything but the declared leakage and helper columns."""
    drop = [c for c in frame.columns if c not in problem.model_columns]
    return frame.drop(columns=drop)


def run_suites(
    batches: list[tuple[dict[str, Any], pd.DataFrame]], docs_dir: Path | None, sample_size: int = 5
) -> ValidationOutcome:
    """Validate each (suite, frame) pair with Great Expectations; build Data Docs into `docs_dir` if given."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.variables.data_docs_sites = {}
    actions = []
    if docs_dir is not None:
        context.add_data_docs_site(
            site_name="reports",
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir.resolve()),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
        actions.append(gx.checkpoint.UpdateDataDocsAction(name="data_docs", site_names=["reports"]))
    source = context.data_sources.add_pandas("pipeline")
    definitions = []
    frames: dict[str, pd.DataFrame] = {}
    for suite_json, frame in batches:
        name = suite_json["name"]
        suite = context.suites.add(
            gx.ExpectationSuite(name=name, expectations=suite_json["expectations"], meta=suite_json.get("meta"))
        )
        batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("whole")
        definitions.append(
            context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=suite))
        )
        frames[name] = frame

    findings: list[Finding] = []
    for definition in definitions:
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=f"{definition.name}.checkpoint",
                validation_definitions=[definition],
                actions=actions,
                result_format={"result_format": "SUMMARY", "partial_unexpected_count": sample_size},
            )
        )
        frame = frames[definition.name]
        result = checkpoint.run(batch_parameters={"dataframe": frame})
        for run in result.run_results.values():
            for expectation_result in run.results:
                finding = _finding(definition.name, expectation_result)
                if not finding.success and finding.expectation == "expect_column_values_to_be_in_type_list":
                    type_list = expectation_result.expectation_config.kwargs.get("type_list") or []
                    finding.sample_bad_values = sample_mistyped(frame, finding.column, type_list, sample_size)
                findings.append(finding)
    return ValidationOutcome(findings)


def sample_mistyped(frame: pd.DataFrame, column: str | None, type_list: list[str], size: int) -> list[Any]:
    """A few values of `column` that do not fit the expected types (GX only reports the column's dtype).

    For a numeric type list these are the values that do not parse as numbers, e.g. 'warm' in a temperature.
    """
    if column is None or column not in frame.columns:
        return []
    values = frame[column].dropna()
    if any(t.startswith(("int", "float", "uint")) for t in type_list):
        bad = values[pd.to_numeric(values, errors="coerce").isna()]
    elif any(t.startswith("datetime") for t in type_list):
        bad = values[pd.to_datetime(values, errors="coerce").isna()]
    else:
        bad = values[~values.map(lambda v: isinstance(v, str))]
    return [_plain(v) for v in bad.unique()[:size]]


_NOT_EXPECTATIONS = {"column", "result_format", "catch_exceptions", "meta", "batch_id"}


def _finding(suite: str, result: Any) -> Finding:
    config = result.expectation_config
    details = result.result or {}
    severity = str(getattr(config, "severity", "critical") or "critical").split(".")[-1].lower()
    observed = _plain(details.get("observed_value"))
    finding = Finding(
        suite=suite,
        expectation=config.type,
        column=config.kwargs.get("column"),
        success=bool(result.success),
        severity=severity,
        expected=", ".join(f"{k}={_plain(v)!r}" for k, v in config.kwargs.items() if k not in _NOT_EXPECTATIONS),
        observed=observed,
        unexpected_count=details.get("unexpected_count"),
        sample_bad_values=[_plain(v) for v in details.get("partial_unexpected_list") or []],
        error=_exception_message(result.exception_info),
    )
    if config.type == "expect_table_columns_to_match_set" and isinstance(observed, list):
        wanted = list(config.kwargs.get("column_set") or [])
        finding.missing_columns = [c for c in wanted if c not in observed]
        finding.unexpected_columns = [c for c in observed if c not in wanted]
        finding.expected = f"exactly the columns {wanted}"
    if config.type == "expect_column_values_to_be_in_type_list":
        finding.unexpected_count = None  # GX counts every row of a column of the wrong dtype
    return finding


def _exception_message(info: Any) -> str | None:
    """GX 1.x reports an exception either flat or keyed by the metric that raised it."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message"))
    return None


def _plain(value: Any) -> Any:
    """JSON-friendly version of a value GX observed."""
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def failure_message(outcome: ValidationOutcome, source: Path) -> str:
    lines = [f"{source}: {len(outcome.failures)} expectation(s) failed; the pipeline stops before featurize:"]
    lines += [f"  - {f.describe()}" for f in outcome.failures_to_report()]
    lines.append(f"  The last validated data in {OUT_DIR}/ was left as it was. Data Docs: {REPORT_DIR}/index.html")
    return "\n".join(lines)


def main() -> None:
    params = Params.load()
    problem = load_problem(params.get("problem", str))
    sample_size = params.get("validate.sample_bad_values", int, 5, minimum=1)
    try:
        raw = pd.read_parquet(RAW)
    except FileNotFoundError:
        raise PipelineError(f"{RAW}: not found; run the collect stage first") from None

    features = feature_view(raw, problem)
    suites = [load_suite_json(problem.suite_path("raw")), load_suite_json(problem.suite_path("features"))]
    with atomic_dir(REPORT_DIR) as docs:
        outcome = run_suites([(suites[0], raw), (suites[1], features)], docs, sample_size)
        (docs / "summary.json").write_text(json.dumps(outcome.summary(), indent=2, default=str) + "\n")
    for warning in outcome.warnings:
        log.warning("warning: %s", warning.describe())
    if not outcome.success:
        raise PipelineError(failure_message(outcome, RAW))

    with atomic_dir(OUT_DIR) as tmp:
        features.sort_values(problem.timestamp).to_parquet(tmp / "data.parquet", index=False)
    log.info("%d rows passed %d expectations", len(features), len(outcome.findings))


if __name__ == "__main__":
    run_stage("validate", main)
