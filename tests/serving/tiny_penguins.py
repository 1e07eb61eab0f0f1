"""A tiny classifier of the Palmer penguins (the `palmerpenguins` package), a table with missing values in numbers
and in a category, whose source columns are named as a person would (`bill length (mm)`, `bill-depth-mm`).

Built as the pipeline builds a table model: collect's column names (`conform_columns`), featurize's split and
feature spec (its missing-value policy, the source's NA markers), the problem's classifier, the export's writer and
signature. Trained for a few epochs (seconds on a CPU): the tests compare the server with the model in process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tests.serving.tiny_models import write_export

SOURCE_NAMES = {"bill_length_mm": "bill length (mm)", "bill_depth_mm": "bill-depth-mm"}
NA_MARKER = "?"


@dataclass
class TinyPenguins:
    export: Path
    spec: dict[str, Any]
    model: Any
    rows: pd.DataFrame  # training rows with a missing value, as the model's frame holds them (NaN / None)

    def in_process(self, frame: pd.DataFrame) -> np.ndarray:
        """The Keras model's probabilities for `frame`, in this process, through the kind's own inputs."""
        from tasks.kinds import KINDS
        from tasks.training.fit import as_model_input

        return np.asarray(self.model.predict(as_model_input(KINDS["table"].model_inputs(frame, self.spec)), verbose=0))


def penguins_problem() -> Any:
    from pipelines.problem import TabularProblem
    from pipelines.tabular_model import build_dense_classifier

    return TabularProblem(
        name="penguins",
        task="classification",
        target="species",
        timestamp=None,
        numeric_features=("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"),
        categorical_features=("island", "sex", "year"),
        leakage_columns=(),
        source_columns=(
            "species",
            "island",
            "bill length (mm)",
            "bill-depth-mm",
            "flipper_length_mm",
            "body_mass_g",
            "sex",
            "year",
        ),
        expectations_dir=Path("unused"),
        build_model=build_dense_classifier,
    )


def penguins_model(workdir: Path) -> TinyPenguins:
    import keras
    from palmerpenguins import load_penguins

    from tasks.kinds import KINDS
    from tasks.kinds.table_source import conform_columns
    from tasks.kinds.table_split import add_na_markers, class_names, encode_target, fit_feature_spec, split_random
    from tasks.training.fit import as_model_input, model_targets

    problem = penguins_problem()
    source = load_penguins().rename(columns=SOURCE_NAMES)
    frame = conform_columns(source, problem)  # collect's safe names: bill_length_mm, bill_depth_mm
    parts = split_random(frame, 0.2, 0.2, 0, problem.target)
    spec = fit_feature_spec(parts["train"], problem)
    add_na_markers(spec, [NA_MARKER])
    values, names = class_names(problem, frame[problem.target])
    spec["classes"], spec["class_values"] = names, values
    train = encode_target(parts["train"], problem.target, values)
    keras.utils.set_random_seed(3)
    model = problem.build_model(spec, {"hidden_units": [8], "dropout": 0.0, "learning_rate": 0.03})
    x = as_model_input(KINDS["table"].model_inputs(train, spec))
    model.fit(x, model_targets(train, spec), epochs=5, batch_size=32, verbose=0)
    export = write_export(workdir / "penguins-v1", model, spec, train)
    gaps = train.loc[train[[*problem.features]].isna().any(axis=1)].reset_index(drop=True)
    return TinyPenguins(export, spec, model, gaps)
