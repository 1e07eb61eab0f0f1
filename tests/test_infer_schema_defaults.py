"""`python -m tasks.checks.infer_schema` without --reference reads the chosen problem's own source, with its source
options (never params.yaml's default problem's file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tasks.checks.infer_schema import main

pytestmark = pytest.mark.timeout(60)
REPO = Path(__file__).resolve().parent.parent


def test_without_reference_the_problems_own_source_is_read_with_its_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)  # params.yaml selects bike_demand; --problem picks another
    monkeypatch.setattr("tasks.checks.infer_schema.check_loads_in_gx", lambda suite: "test")  # GX's import: 15 s
    main(["--problem", "penguins_census", "--out-dir", str(tmp_path)])
    raw = json.loads((tmp_path / "raw.json").read_text())
    assert "pipelines/penguins_census/data/penguins.data.csv (224 rows" in raw["meta"]["notes"]
    [columns] = [e for e in raw["expectations"] if e["type"] == "expect_table_columns_to_match_set"]
    assert "bill_length" in columns["kwargs"]["column_set"]  # collect.read.names, headerless file
    [species] = [
        e for e in raw["expectations"] if e["kwargs"].get("column") == "species" and "value_set" in e["kwargs"]
    ]
    assert species["kwargs"]["value_set"] == ["Adelie", "Chinstrap", "Gentoo"]
