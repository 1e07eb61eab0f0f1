"""The Palmer penguins shaped like UCI's adult census files: a headerless training file with comma-plus-space
separators and `?` for a missing value, and a separate test file with a preamble line whose labels end with a dot
(`Adelie.`). Classify the species; the given test file is the test split.

Everything that makes these files readable is configuration (pipelines/penguins_census/params.yaml, collect.read and
collect.test_read); this module declares the columns only. The files were written from palmerpenguins 0.1.6's
penguins.csv (CC0): the birds measured in 2007-2008 in penguins.data.csv, 2009 in penguins.test.csv.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.problem import TabularProblem
from pipelines.tabular_model import build_dense_classifier

PROBLEM = TabularProblem(
    name="penguins_census",
    task="classification",
    target="species",
    timestamp=None,
    numeric_features=("bill_length", "bill_depth", "flipper_length", "body_mass"),  # safe names of the columns
    categorical_features=("island", "sex"),
    leakage_columns=(),
    source_columns=("species", "island", "bill length", "bill depth", "flipper length", "body mass", "sex", "year"),
    expectations_dir=Path(__file__).parent / "expectations",
    build_model=build_dense_classifier,
    description="Palmer penguins as headerless census-style files (palmerpenguins, CC0).",
    extra={"unit": "penguins"},
)
