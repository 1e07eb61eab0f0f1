"""Duplicate rows: a severity and an allowed share in params (validate.duplicate_severity, max_duplicate_share); the
message shows the repeated rows with the file and line of each occurrence, within one file or across files."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.penguins import PROBLEM
from tasks.core.errors import PipelineError
from tasks.core.params import Params
from tasks.data.read_options import ReadOptions
from tasks.kinds.table_checks import ValidateSettings, validate
from tasks.kinds.table_source import CollectSettings, collect

pytestmark = pytest.mark.timeout(60)
REPO = Path(__file__).resolve().parent.parent


def collect_two_files(tmp_path: Path) -> Path:
    lines = (REPO / "pipelines/penguins/data/penguins.csv").read_text().splitlines()
    header, rows = lines[0], lines[1:]
    # a.csv: rows 1-200 with row 1 again at the end (line 202 repeats line 2); b.csv: rows 201-344 and row 5 of a
    (tmp_path / "a.csv").write_text("\n".join([header, *rows[:200], rows[0]]) + "\n")
    (tmp_path / "b.csv").write_text("\n".join([header, *rows[200:], rows[4]]) + "\n")
    read = ReadOptions.from_mapping({"na_values": ["NA"]})
    settings = CollectSettings(source=str(tmp_path / "*.csv"), as_of=None, read=read)
    collect(settings, PROBLEM, tmp_path / "raw")
    return tmp_path / "raw" / "data.parquet"


def run_validate(tmp_path: Path, raw: Path, **settings: object):
    return validate(
        PROBLEM, ValidateSettings(data_docs=False, **settings), raw, tmp_path / "validated", tmp_path / "report"
    )  # type: ignore[arg-type]


def test_duplicates_name_each_file_and_line_and_whether_they_repeat_within_or_across_files(tmp_path: Path) -> None:
    raw = collect_two_files(tmp_path)
    with pytest.raises(PipelineError) as failure:
        run_validate(tmp_path, raw)
    message = str(failure.value)
    assert "2 row(s) repeat an earlier row" in message and "1 within a file, 1 across files" in message
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert f"at {a} line 2, {a} line 202 (within one file)" in message
    assert f"at {a} line 6, {b} line 146 (across files)" in message
    assert "'species': 'Adelie', 'island': 'Torgersen', 'bill_length_mm': 39.1" in message  # the row itself
    assert not (tmp_path / "validated").exists()


def test_an_allowed_share_or_a_warning_severity_lets_the_batch_through(tmp_path: Path) -> None:
    raw = collect_two_files(tmp_path)
    result = run_validate(tmp_path, raw, max_duplicate_share=0.01)  # 2 of 346 rows = 0.58%
    [dup] = [f for f in result.outcome.findings if f.expectation == "no_duplicate_rows"]
    assert dup.success and (tmp_path / "validated/data.parquet").exists()
    result = run_validate(tmp_path, raw, duplicate_severity="warning")
    [dup] = [f for f in result.outcome.findings if f.expectation == "no_duplicate_rows"]
    assert not dup.success and dup.severity == "warning" and "line 202" in dup.describe()


def test_a_bad_duplicate_setting_is_refused_naming_its_key(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("problem: penguins\nvalidate:\n  duplicate_severity: fatal\n")
    with pytest.raises(PipelineError, match=r"'validate\.duplicate_severity' must be 'critical' or 'warning'"):
        ValidateSettings.from_params(Params.load(params))
    params.write_text("problem: penguins\nvalidate:\n  max_duplicate_share: 2\n")
    with pytest.raises(PipelineError, match=r"'validate\.max_duplicate_share' must be <= 1"):
        ValidateSettings.from_params(Params.load(params))


def test_lines_are_exact_in_a_file_with_comment_and_blank_lines(tmp_path: Path) -> None:
    lines = (REPO / "pipelines/penguins/data/penguins.csv").read_text().splitlines()
    header, rows = lines[0], lines[1:]
    # line 1 a comment, 2 the header, 3 a row, 4 blank, 5 a comment, 6.. rows; the last line repeats line 3
    text = ["# measured at Palmer station", header, rows[0], "", "# 2008", *rows[1:50], rows[0]]
    (tmp_path / "c.csv").write_text("\n".join(text) + "\n")
    read = ReadOptions.from_mapping({"na_values": ["NA"], "comment": "#"})
    collect(CollectSettings(source=str(tmp_path / "c.csv"), as_of=None, read=read), PROBLEM, tmp_path / "raw")
    with pytest.raises(PipelineError) as failure:
        run_validate(tmp_path, tmp_path / "raw" / "data.parquet")
    c = tmp_path / "c.csv"
    assert f"at {c} line 3, {c} line {len(text)} (within one file)" in str(failure.value)
