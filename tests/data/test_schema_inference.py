"""python -m tasks.checks.infer_schema: suites inferred from reference data, and the committed bike suites it
produced."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines import load_problem
from tasks.checks.expectations import evaluate_suite
from tasks.checks.infer_schema import check_loads_in_gx, infer_raw_suite

REPO = Path(__file__).resolve().parents[2]
PROBLEM = load_problem("bike_demand")


def by_column(suite: dict) -> dict[tuple[str, str | None], dict]:
    return {(e["type"], e["kwargs"].get("column")): e for e in suite["expectations"]}


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 1000
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "price": rng.uniform(10, 20, n),
            "colour": rng.choice(["red", "green", "blue"], n),
            "rating": rng.integers(1, 6, n),
            "note": np.where(rng.random(n) < 0.1, None, "x"),
            "when": pd.date_range("2024-01-01", periods=n, freq="h"),
        }
    )


def test_inferred_suite_describes_the_reference(reference: pd.DataFrame) -> None:
    suite = infer_raw_suite(reference, "shop.raw", margin=0.1, max_categories=10, row_factor=2)
    found = by_column(suite)

    assert found[("expect_table_columns_to_match_set", None)]["kwargs"]["column_set"] == list(reference.columns)
    assert found[("expect_table_row_count_to_be_between", None)]["kwargs"] == {"min_value": 1, "max_value": 2000}
    price = found[("expect_column_values_to_be_between", "price")]["kwargs"]
    span = reference["price"].max() - reference["price"].min()
    assert price["min_value"] == pytest.approx(reference["price"].min() - 0.1 * span, abs=1e-6)
    assert price["max_value"] == pytest.approx(reference["price"].max() + 0.1 * span, abs=1e-6)
    assert found[("expect_column_values_to_be_in_set", "colour")]["kwargs"]["value_set"] == ["blue", "green", "red"]
    assert found[("expect_column_values_to_be_in_set", "rating")]["kwargs"]["value_set"] == [1, 2, 3, 4, 5]
    assert found[("expect_column_values_to_be_in_type_list", "price")]["kwargs"]["type_list"] == ["float64", "float32"]
    note_nulls = found[("expect_column_values_to_not_be_null", "note")]["kwargs"]["mostly"]
    assert 0.7 < note_nulls < 0.9  # about 10% nulls observed: twice that (+1%) allowed
    unique = {c for (kind, c) in found if kind == "expect_column_values_to_be_unique"}
    assert unique == {"id", "when"}  # never floats, even when every value differs
    assert found[("expect_column_mean_to_be_between", "price")]["severity"] == "warning"
    quantiles = found[("expect_column_quantile_values_to_be_between", "price")]["kwargs"]["quantile_ranges"]
    assert quantiles["quantiles"] == [0.05, 0.25, 0.5, 0.75, 0.95]
    check_loads_in_gx(suite)


def test_reference_passes_its_own_suite_and_a_shifted_batch_warns(reference: pd.DataFrame) -> None:
    suite = infer_raw_suite(reference, "shop.raw", sigmas=0.5)
    assert all(r.success for r in evaluate_suite(suite, reference))

    shifted = reference.assign(price=18 + reference["price"] / 40)  # inside the range, but the mean moved up
    failed = {(r.type, r.column, r.severity) for r in evaluate_suite(suite, shifted) if not r.success}
    assert ("expect_column_mean_to_be_between", "price", "warning") in failed
    assert all(severity == "warning" for *_, severity in failed)


def test_declared_value_ranges_and_calendar_columns_override_inference(reference: pd.DataFrame) -> None:
    suite = infer_raw_suite(
        reference, "shop.raw", value_ranges={"price": (0, 100)}, calendar_columns=("price",), max_categories=2
    )
    found = by_column(suite)
    price = found[("expect_column_values_to_be_between", "price")]["kwargs"]
    assert (price["min_value"], price["max_value"]) == (0, 100)
    assert ("expect_column_mean_to_be_between", "price") not in found
    # 3 colours > max 2 categories: not the full set, the top-2 set with an "other" share, a warning (issue 21)
    colour = found[("expect_column_values_to_be_in_set", "colour")]
    assert len(colour["kwargs"]["value_set"]) == 2 and colour["severity"] == "warning"
    assert colour["kwargs"]["mostly"] < 1 and colour["meta"]["high_cardinality"]["distinct"] == 3


def test_cli_writes_both_suites_and_the_committed_ones_match_it(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tasks.checks.infer_schema", "--out-dir", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "review, then commit" in done.stdout

    for view in ("raw", "features", "reference"):
        written = json.loads((tmp_path / f"{view}.json").read_text())
        committed = json.loads(PROBLEM.suite_path(view).read_text())
        assert written["expectations"] == committed["expectations"], f"{view}.json differs from a fresh inference"
    features = json.loads((tmp_path / "features.json").read_text())
    columns = features["expectations"][0]["kwargs"]["column_set"]
    assert columns == PROBLEM.model_columns
    assert not set(PROBLEM.leakage_columns) & set(columns)


def infer_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tasks.checks.infer_schema", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_refuses_to_overwrite_differing_suites_shows_the_diff_and_overwrites_with_force(tmp_path: Path) -> None:
    assert infer_cli("--out-dir", str(tmp_path)).returncode == 0
    before = {view: (tmp_path / f"{view}.json").read_text() for view in ("raw", "features")}

    refused = infer_cli("--out-dir", str(tmp_path), "--margin", "0.5")
    assert refused.returncode == 1
    assert "raw.json: exist and differ from the inferred suites" in refused.stderr and "--force" in refused.stderr
    assert f"--- {tmp_path / 'raw.json'} (now)" in refused.stdout and "\n+" in refused.stdout
    assert {view: (tmp_path / f"{view}.json").read_text() for view in ("raw", "features")} == before

    again = infer_cli("--out-dir", str(tmp_path))
    assert again.returncode == 0 and again.stdout.count(": unchanged") == 3

    forced = infer_cli("--out-dir", str(tmp_path), "--margin", "0.5", "--force")
    assert forced.returncode == 0 and "wrote" in forced.stdout
    assert (tmp_path / "raw.json").read_text() != before["raw"]
