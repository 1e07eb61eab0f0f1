"""The missing-value policy of a table: inferred into the suite from the reference, fitted by featurize on the
training split (what the model carries inside it), and applied the same way by the linear baselines. Served end to
end in tests/serving/test_serving_missing_values.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tasks.checks.expectations import evaluate_suite
from tasks.checks.infer_schema import infer_raw_suite
from tasks.kinds.table_source import conform_columns
from tasks.kinds.table_split import MISSING_CATEGORY, add_na_markers, fit_feature_spec, split_random
from tasks.objectives.baselines import logistic_baseline
from tests.serving.tiny_penguins import SOURCE_NAMES, penguins_problem

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def penguins() -> pd.DataFrame:
    from palmerpenguins import load_penguins

    return conform_columns(load_penguins().rename(columns=SOURCE_NAMES), penguins_problem())


def test_the_suite_allows_the_reference_share_of_missing_values_and_names_the_policy(penguins: pd.DataFrame) -> None:
    suite = infer_raw_suite(penguins, "penguins.raw")
    nulls = {
        e["kwargs"]["column"]: e for e in suite["expectations"] if e["type"] == "expect_column_values_to_not_be_null"
    }
    assert "mostly" not in nulls["species"]["kwargs"] and nulls["species"]["meta"] == {}
    sex = nulls["sex"]
    assert sex["meta"]["missing_share_in_reference"] == round(11 / 344, 6)
    assert sex["meta"]["missing_policy"] == "a missing category"
    assert "impute_mean_with_indicator" in nulls["bill_length_mm"]["meta"]["missing_policy"]
    assert 0 < sex["kwargs"]["mostly"] < 1 - 11 / 344
    # the reference passes; a batch where most `sex` values are missing does not
    assert all(r.success for r in evaluate_suite(suite, penguins))
    worse = penguins.assign(sex=np.where(np.arange(len(penguins)) % 2 == 0, None, penguins["sex"]))
    failed = {(r.type, r.column) for r in evaluate_suite(suite, worse) if not r.success}
    assert ("expect_column_values_to_not_be_null", "sex") in failed


def test_featurize_fits_a_missing_policy_only_for_columns_with_missing_values_in_training(
    penguins: pd.DataFrame,
) -> None:
    train = split_random(penguins, 0.2, 0.2, 0, "species")["train"]
    spec = fit_feature_spec(train, penguins_problem())
    add_na_markers(spec, ["?"])
    sex = spec["categorical"]["sex"]
    assert sex["missing"]["policy"] == "category" and sex["missing"]["na_markers"] == ["?"]
    assert sex["vocabulary"][-1] == MISSING_CATEGORY and "None" not in sex["vocabulary"]
    assert spec["numeric"]["body_mass_g"]["missing"]["policy"] == "impute_mean_with_indicator"
    assert spec["numeric"]["body_mass_g"]["mean"] == pytest.approx(train["body_mass_g"].mean())
    assert "missing" not in spec["categorical"]["island"] and "missing" not in spec["categorical"]["year"]
    assert spec["source_names"] == {"bill_length_mm": "bill length (mm)", "bill_depth_mm": "bill-depth-mm"}


def test_an_integer_category_with_missing_values_gets_a_marker_outside_its_values(tmp_path: Path) -> None:
    problem = penguins_problem()
    frame = pd.DataFrame({name: [1.0, 2.0, 3.0, 4.0] for name in problem.numeric_features})
    frame = frame.assign(island=["a", "b", "a", "b"], sex=["f", "m", "f", "m"], year=[2007, None, -1, 2008])
    spec = fit_feature_spec(frame, problem)
    year = spec["categorical"]["year"]
    assert year["dtype"] == "int64" and year["missing"]["marker"] == -2 and year["vocabulary"] == [-1, 2007, 2008, -2]


def test_the_logistic_baseline_fits_rows_with_missing_values_by_the_same_policy(penguins: pd.DataFrame) -> None:
    parts = split_random(penguins, 0.2, 0.2, 0, "species")
    spec = fit_feature_spec(parts["train"], penguins_problem())
    spec["classes"] = ["Adelie", "Chinstrap", "Gentoo"]
    predict = logistic_baseline(parts["train"], spec, spec["classes"])
    gaps = parts["train"].loc[parts["train"].isna().any(axis=1)]
    probabilities = predict(gaps)
    assert probabilities.shape == (len(gaps), 3) and np.isfinite(probabilities).all()
    accuracy = float(
        (predict(parts["test"]).argmax(axis=1) == parts["test"]["species"].map(spec["classes"].index)).mean()
    )
    assert accuracy > 0.9
