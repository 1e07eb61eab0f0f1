"""Three public tables set up by configuration alone (pipelines/penguins, pipelines/car_mpg, pipelines/penguins_census):
their bundled files are collected, pass their committed suites and split, in process (fast). Their whole DAG runs in
tests/test_public_tables_e2e.py (slow)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tasks.kinds.selection import select
from tasks.kinds.table_split import featurize

pytestmark = pytest.mark.timeout(120)
REPO = Path(__file__).resolve().parent.parent


def run_data_stages(problem: str, workspace: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """collect, validate and featurize of `problem` in `workspace` (the committed params, its bundled data)."""
    shutil.copytree(REPO / "pipelines" / problem, workspace / "pipelines" / problem)
    params = (REPO / "params.yaml").read_text()
    (workspace / "params.yaml").write_text(
        "\n".join(f"problem: {problem}" if line.startswith("problem:") else line for line in params.splitlines())
    )
    monkeypatch.chdir(workspace)
    run = select()
    run.kind.collect(run.problem, run.params)
    run.kind.validate(run.problem, run.params)
    return featurize(run.problem, run.params)


def test_penguins_categoricals_and_missing_values_collect_validate_and_split(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = run_data_stages("penguins", tmp_path, monkeypatch)
    raw = pd.read_parquet(tmp_path / "data/raw/data.parquet")
    assert len(raw) == 344 and int(raw["sex"].isna().sum()) == 11 and int(raw["body_mass_g"].isna().sum()) == 2
    assert spec["classes"] == ["Adelie", "Chinstrap", "Gentoo"]
    assert sum(s["rows"] for s in spec["splits"].values()) == 344
    assert json.loads((tmp_path / "reports/validation/summary.json").read_text())["success"]


def test_car_mpg_is_split_by_model_year_and_rows_without_a_target_are_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = run_data_stages("car_mpg", tmp_path, monkeypatch)
    manifest = json.loads((tmp_path / "data/raw/manifest.json").read_text())
    assert manifest["rows_read"] == 406 and manifest["rows_held_back"] == 61  # model year 1982: monitor's
    splits = spec["splits"]
    assert splits["train"]["to"] <= splits["val"]["from"] and splits["val"]["to"] <= splits["test"]["from"]
    assert spec["rows_without_target"] == 7 and sum(s["rows"] for s in splits.values()) == 345 - 7
    raw = pd.read_parquet(tmp_path / "data/raw/data.parquet")
    assert int(raw["Horsepower"].isna().sum()) == 4
    # the model year, a date in the source, is a numeric feature by collect.read.value_map (1975-01-01 -> 1975)
    assert pd.api.types.is_integer_dtype(raw["Year"]) and raw["Year"].min() == 1970
    assert (raw["timestamp"].dt.year == raw["Year"]).all()
    assert 1970 < spec["numeric"]["Year"]["mean"] < int(splits["val"]["from"][:4])  # fitted on train's years
    summary = json.loads((tmp_path / "reports/validation/summary.json").read_text())
    assert summary["success"]


def test_a_headerless_census_shaped_file_and_its_dotted_test_labels_read_by_options_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = run_data_stages("penguins_census", tmp_path, monkeypatch)
    raw = pd.read_parquet(tmp_path / "data/raw/data.parquet")
    assert list(raw.columns[:3]) == ["species", "island", "bill_length"]  # names from collect.read, made safe
    assert set(raw["species"]) == {"Adelie", "Chinstrap", "Gentoo"}  # "Adelie." mapped by collect.test_read
    assert int(raw["sex"].isna().sum()) == 11 and raw["island"].str.startswith(" ").sum() == 0  # `?`, ", "
    assert spec["splits"]["test"]["rows"] == 120  # the given test file, its preamble line skipped
    assert spec["classes"] == ["Adelie", "Chinstrap", "Gentoo"]
    # the bird with all four measurements missing is not in the training split, yet each column the suite lets
    # be missing has its policy (else NaN reached the model: training diverged)
    train = pd.read_parquet(tmp_path / "data/features/train.parquet")
    assert int(train["bill_length"].isna().sum()) == 0
    for name in ("bill_length", "bill_depth", "flipper_length", "body_mass"):
        assert spec["numeric"][name]["missing"]["policy"] == "impute_mean_with_indicator", name
        assert spec["numeric"][name]["missing"]["na_markers"] == ["?"], name
    assert spec["categorical"]["sex"]["missing"]["policy"] == "category"
