"""Palmer penguins (palmerpenguins 0.1.6, Horst, Hill & Gorman 2020; the data are CC0): classify the species of
an adult penguin (Adelie, Chinstrap, Gentoo) from its island, sex and four body measurements.

A table with categoricals and missing values (11 rows without a sex, 2 without any measurement) and no time: the
split is stratified. Set up by configuration alone: the bundled file pipelines/penguins/data/penguins.csv is the
package's own copy, byte for byte, and this module only declares the columns.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.problem import TabularProblem
from pipelines.tabular_model import build_dense_classifier

PROBLEM = TabularProblem(
    name="penguins",
    task="classification",
    target="species",
    timestamp=None,
    numeric_features=("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"),
    categorical_features=("island", "sex"),
    leakage_columns=(),
    source_columns=(
        "species",
        "island",
        "bill_length_mm",
        "bill_depth_mm",
        "flipper_length_mm",
        "body_mass_g",
        "sex",
        "year",
    ),
    expectations_dir=Path(__file__).parent / "expectations",
    build_model=build_dense_classifier,
    description="Palmer Archipelago penguins, 344 birds, 3 species (palmerpenguins, CC0).",
    extra={"unit": "penguins"},
)
