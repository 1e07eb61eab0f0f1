"""The model card's signature block has the shape SIGNATURE.md fixes, built from the featurize spec by
`tasks.training.export.signature` (the kind's inputs, the objective's output), as the export stage builds it."""

from __future__ import annotations

import pandas as pd

from tasks.training.export import signature

SPEC = {
    "kind": "table",
    "task": "regression",
    "target": "bikers",
    "numeric": {"temp": {"mean": 0.5, "variance": 0.04}},
    "categorical": {
        "season": {"dtype": "int64", "vocabulary": [1, 2, 3, 4]},
        "weathersit": {"dtype": "string", "vocabulary": ["clear", "rain"]},
    },
}


def test_table_signature_lists_inputs_with_training_ranges_and_categories() -> None:
    train = pd.DataFrame({"temp": [0.02, 0.5, 1.0], "season": [1, 2, 4], "weathersit": ["clear", "rain", "clear"]})
    assert signature(SPEC, train) == {
        "name": "serving_default",
        "kind": "table",
        "objective": "regression",
        "inputs": [
            {"name": "temp", "dtype": "float32", "shape": [], "range": {"min": 0.02, "max": 1.0}},
            {"name": "season", "dtype": "int64", "shape": [], "categories": [1, 2, 3, 4]},
            {"name": "weathersit", "dtype": "string", "shape": [], "categories": ["clear", "rain"]},
        ],
        "output": {"name": "output_0", "dtype": "float32", "shape": [1], "meaning": "bikers"},
    }


def test_image_signature_takes_raw_uint8_images_and_names_the_classes() -> None:
    spec = {"kind": "image", "task": "classification", "target": "label", "classes": ["a", "b", "c"]}
    block = signature({**spec, "image_shape": [28, 28]}, pd.DataFrame())
    assert block["kind"] == "image" and block["objective"] == "multiclass"
    assert block["inputs"] == [{"name": "image", "dtype": "uint8", "shape": [28, 28], "range": {"min": 0, "max": 255}}]
    assert block["output"] == {
        "name": "output_0",
        "dtype": "float32",
        "shape": [3],
        "meaning": "label",
        "classes": ["a", "b", "c"],
    }
