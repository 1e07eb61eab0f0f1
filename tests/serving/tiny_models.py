"""Tiny trained models of the two bundled problems, exported as the export stage does, for the serving tests.

Trained for one epoch on a slice of the bundled data (seconds on a CPU): the tests compare the server's answers
with the Keras model in process, not the models' quality.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[2]


@dataclass
class TinyModel:
    problem: str
    versions: dict[int, Path]  # version -> export folder (savedmodel/, model_card.json)
    keras_predictions: dict[int, np.ndarray]  # version -> the Keras model's predictions on `instances`, in process
    instances: list[dict[str, Any]]  # JSON rows, as a TF Serving client sends them


def write_export(root: Path, model: Any, spec: dict[str, Any], train: pd.DataFrame) -> Path:
    """Export `model` as the export stage does: the kind's SavedModel writer, the card's `signature` block from
    `tasks.training.export.signature` (the kind's inputs, the objective's output)."""
    from tasks.kinds import KINDS
    from tasks.training.export import signature

    root.mkdir(parents=True)
    KINDS[spec["kind"]].write_savedmodel(model, root / "savedmodel", spec)
    card = {
        "created_at": "2026-11-27T00:00:00+00:00",
        "metrics": {"candidate": {"loss": 1.0}},
        "signature": signature(spec, train),
    }
    (root / "model_card.json").write_text(json.dumps(card))
    return root


def bike_model(workdir: Path) -> TinyModel:
    import keras

    from pipelines.bike_demand import PROBLEM
    from tasks.kinds import KINDS
    from tasks.kinds.table_checks import feature_view
    from tasks.kinds.table_source import select_before
    from tasks.kinds.table_split import fit_feature_spec, split_by_time
    from tasks.training.fit import as_model_input, model_targets

    kind = KINDS["table"]
    source = pd.read_csv(REPO / "data/sources/bikeshare-2011.csv.gz")
    view = feature_view(select_before(source, PROBLEM, pd.Timestamp("2011-02-15")), PROBLEM)
    parts = split_by_time(view, "timestamp", 0.2, 0.2)
    spec = fit_feature_spec(parts["train"], PROBLEM)
    hp = {"seed": 3, "hidden_units": [8], "dropout": 0.0, "learning_rate": 0.01}
    keras.utils.set_random_seed(3)
    model = PROBLEM.build_model(spec, hp)
    x = as_model_input(kind.model_inputs(parts["train"], spec))
    y = model_targets(parts["train"], spec)
    test = parts["test"].iloc[:5]
    rows = [{name: _plain(test[name].iloc[i]) for name in spec["numeric"] | spec["categorical"]} for i in range(5)]
    versions, predictions = {}, {}
    for version in (1, 2):  # version 2: one more epoch, other weights
        model.fit(x, y, epochs=1, batch_size=64, verbose=0)
        versions[version] = write_export(workdir / f"bike-v{version}", model, spec, parts["train"])
        predictions[version] = np.asarray(model.predict(as_model_input(kind.model_inputs(test, spec)), verbose=0))
    return TinyModel("bike_demand", versions, predictions, rows)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def fashion_model(workdir: Path) -> TinyModel:
    import keras

    from pipelines.fashion_mnist import PROBLEM
    from tasks.kinds import KINDS
    from tasks.kinds.image_source import read_image_source
    from tasks.kinds.image_split import fit_image_spec, split_images
    from tasks.training.fit import as_model_input, model_targets

    kind = KINDS["image"]
    splits = split_images(read_image_source(str(REPO / "data/sources/fashion-mnist-sample"), PROBLEM)[0], 0.1, 0)
    train = splits["train"].iloc[:400]
    spec = fit_image_spec(train, PROBLEM)
    hp = {"seed": 3, "filters": [4], "dense_units": 16, "dropout": 0.0, "learning_rate": 0.003}
    keras.utils.set_random_seed(3)
    model = PROBLEM.build_model(spec, hp)
    model.fit(
        as_model_input(kind.model_inputs(train, spec)), model_targets(train, spec), epochs=1, batch_size=64, verbose=0
    )
    export = write_export(workdir / "fashion-v1", model, spec, train)
    test = splits["test"].iloc[:3]
    test_images = kind.model_inputs(test, spec)["image"]
    rows = [{"image": image.tolist()} for image in test_images.numpy()]
    predictions = np.asarray(model.predict(as_model_input(kind.model_inputs(test, spec)), verbose=0))
    return TinyModel("fashion_mnist", {1: export}, {1: predictions}, rows)
