"""The table kind for any table: safe column names, the header check, splits chosen per problem, named classes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.breast_cancer import PROBLEM as CANCER
from pipelines.problem import TabularProblem
from pipelines.tabular_model import build_dense_classifier
from tasks.core.errors import PipelineError
from tasks.core.params import Params
from tasks.kinds.table_source import GIVEN_TEST, conform_columns, safe_name
from tasks.kinds.table_split import class_names, encode_target, split_given, split_random

TOY = TabularProblem(
    name="toy",
    task="classification",
    target="answer",
    timestamp=None,
    numeric_features=("size_cm",),
    categorical_features=("colour",),
    leakage_columns=(),
    source_columns=("size (cm)", "colour", "answer"),
    expectations_dir=Path("."),
    build_model=build_dense_classifier,
    positive_class="yes",
)


def test_column_names_keras_cannot_take_are_mapped_to_safe_names() -> None:
    assert safe_name("mean radius") == "mean_radius"
    assert safe_name("size (cm)") == "size_cm"
    assert safe_name("2nd try") == "c_2nd_try"
    frame = pd.DataFrame({"size (cm)": [1.0], "colour": ["red"], "answer": ["yes"]})
    assert list(conform_columns(frame, TOY)) == ["size_cm", "colour", "answer"]


def test_a_header_that_differs_from_the_declared_columns_is_refused_naming_the_difference() -> None:
    frame = pd.DataFrame({"size (cm)": [1.0], "color": ["red"], "answer": ["yes"]})
    with pytest.raises(PipelineError, match=r"missing column\(s\) \['colour'\]; unexpected column\(s\) \['color'\]"):
        conform_columns(frame, TOY, "toy.csv")


def test_a_headerless_file_is_named_as_such() -> None:
    frame = pd.DataFrame({"1.5": [2.0], "red": ["blue"], "yes": ["no"]})
    with pytest.raises(PipelineError, match="does the file lack its header row"):
        conform_columns(frame, TOY, "toy.csv")


def test_string_targets_become_named_classes_with_the_positive_class_last() -> None:
    values, names = class_names(TOY, pd.Series(["yes", "no", "yes"]))
    assert names == ["no", "yes"] and values == ["no", "yes"]
    values, names = class_names(dataclasses.replace(TOY, positive_class="no"), pd.Series(["yes", "no"]))
    assert names == ["yes", "no"]
    encoded = encode_target(pd.DataFrame({"answer": ["yes", "no", "yes"]}), "answer", ["no", "yes"])
    assert encoded["answer"].tolist() == [1, 0, 1]
    with pytest.raises(PipelineError, match="positive_class 'maybe' is not a class"):
        class_names(dataclasses.replace(TOY, positive_class="maybe"), pd.Series(["yes", "no"]))
    assert class_names(CANCER, pd.Series(["benign", "malignant"]))[1] == ["benign", "malignant"]


def test_a_stratified_split_is_seeded_and_keeps_each_class_share() -> None:
    frame = pd.DataFrame({"x": np.arange(1000), "answer": np.where(np.arange(1000) % 5 == 0, 1, 0)})
    first = split_random(frame, 0.15, 0.2, seed=3, stratify="answer")
    again = split_random(frame, 0.15, 0.2, seed=3, stratify="answer")
    assert all(first[k].equals(again[k]) for k in first)
    assert {k: len(v) for k, v in first.items()} == {"train": 650, "val": 150, "test": 200}
    assert all(part["answer"].mean() == pytest.approx(0.2, abs=0.01) for part in first.values())
    assert not set(first["test"]["x"]) & set(first["train"]["x"])


def test_a_given_test_file_is_the_test_split() -> None:
    frame = pd.DataFrame({"x": np.arange(10), "answer": [0, 1] * 5, GIVEN_TEST: [False] * 7 + [True] * 3})
    splits = split_given(frame, 0.2, seed=0, stratify=None)
    assert splits["test"]["x"].tolist() == [7, 8, 9] and GIVEN_TEST not in splits["test"]
    assert len(splits["val"]) == round(7 * 0.2) and len(splits["train"]) == 7 - len(splits["val"])


def test_featurize_split_mode_is_checked_against_the_problem() -> None:
    from tasks.kinds.table_split import split

    frame = pd.DataFrame({"size_cm": [1.0] * 20, "colour": ["r"] * 20, "answer": [0, 1] * 10})
    with pytest.raises(PipelineError, match=r"'featurize\.split' is 'time' but problem 'toy' has no time"):
        split(TOY, Params({"featurize": {"split": "time", "val_fraction": 0.2, "test_fraction": 0.2}}), frame)
    parts = split(TOY, Params({"featurize": {"val_fraction": 0.2, "test_fraction": 0.2}}), frame)  # stratified
    assert sorted(parts["test"]["answer"].tolist()) == [0, 0, 1, 1]


def test_the_dense_classifier_outputs_one_probability_per_named_class() -> None:
    spec = {
        "numeric": {"size_cm": {"mean": 1.0, "variance": 1.0}},
        "categorical": {"colour": {"dtype": "string", "vocabulary": ["red", "blue"]}},
        "classes": ["no", "yes"],
    }
    model = build_dense_classifier(spec, {"hidden_units": [4], "dropout": 0.0, "learning_rate": 0.01})
    assert model.output.shape[-1] == 2 and model.output.dtype == "float32"


def test_rows_without_a_target_are_left_out_of_the_splits_and_counted() -> None:
    from tasks.kinds.table_split import labelled_rows

    frame = pd.DataFrame({"mpg": [18.0, np.nan, 21.0, np.nan], "hp": [130.0, 165.0, np.nan, 95.0]})
    kept, unlabelled = labelled_rows(frame, "mpg")
    assert unlabelled == 2 and kept["mpg"].tolist() == [18.0, 21.0]
    assert kept["hp"].isna().tolist() == [False, True]  # a missing feature stays for the model's policy
