"""The model card's `"signature"` block: what the served model takes and gives, per instance (see SIGNATURE.md).

The server checks every request against it (names, dtypes, shapes, categories, training ranges) before the model
runs. Built here from the featurize spec for table and image problems.
"""

from __future__ import annotations

from typing import Any

import pandas as pd


def objective(spec: dict[str, Any], n_classes: int) -> str:
    if spec.get("task") != "classification":
        return "regression"
    return "binary" if n_classes == 2 else "multiclass"


def table_signature(spec: dict[str, Any], train: pd.DataFrame) -> dict[str, Any]:
    """One scalar input per feature column: numeric ones with their training range, categorical ones with the
    values seen in training. The output is the regression target (or class probabilities)."""
    inputs: list[dict[str, Any]] = []
    for name in spec["numeric"]:
        column = pd.to_numeric(train[name], errors="coerce")
        inputs.append(
            {
                "name": name,
                "dtype": "float32",
                "shape": [],
                "range": {"min": float(column.min()), "max": float(column.max())},
            }
        )
    for name, info in spec["categorical"].items():
        inputs.append({"name": name, "dtype": info["dtype"], "shape": [], "categories": list(info["vocabulary"])})
    classes = [str(c) for c in spec.get("classes", [])]
    output: dict[str, Any] = {
        "name": "output_0",
        "dtype": "float32",
        "shape": [len(classes) if len(classes) > 2 else 1],
        "meaning": spec["target"],
    }
    if classes:
        output["classes"] = classes
    return {
        "name": "serving_default",
        "kind": "table",
        "objective": objective(spec, len(classes)),
        "inputs": inputs,
        "output": output,
    }


def image_signature(spec: dict[str, Any], classes: list[str]) -> dict[str, Any]:
    """Raw uint8 images in, class probabilities out."""
    return {
        "name": "serving_default",
        "kind": "image",
        "objective": objective(spec, len(classes)),
        "inputs": [
            {
                "name": "image",
                "dtype": "uint8",
                "shape": [int(v) for v in spec["image_shape"]],
                "range": {"min": 0, "max": 255},
            }
        ],
        "output": {
            "name": "output_0",
            "dtype": "float32",
            "shape": [len(classes)],
            "meaning": "class probabilities",
            "classes": list(classes),
        },
    }
