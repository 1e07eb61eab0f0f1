"""TF Serving's `GET /v1/models/<name>/metadata` answer for one loaded model: its signature in TF Serving's shape,
plus the model card's signature (ranges, categories, classes) beyond TF Serving's fields."""

from __future__ import annotations

from typing import Any

from tasks.serving.model_holder import LoadedModel

TF_DTYPES = {"float32": "DT_FLOAT", "float64": "DT_DOUBLE", "int32": "DT_INT32", "int64": "DT_INT64"}
TF_DTYPES |= {"uint8": "DT_UINT8", "string": "DT_STRING"}


def tensor(name: str, dtype: str, shape: tuple[int | None, ...] | list[int]) -> dict[str, Any]:
    """One tensor's entry, the batch dimension first (-1: any size)."""
    dims = [{"size": "-1", "name": ""}] + [{"size": str(d if d is not None else -1), "name": ""} for d in shape]
    return {"dtype": TF_DTYPES.get(dtype, dtype), "tensor_shape": {"dim": dims, "unknown_rank": False}, "name": name}


def metadata_answer(model_name: str, model: LoadedModel) -> dict[str, Any]:
    signature = model.signature
    inputs = {
        spec["name"]: tensor(
            f"serving_default_{spec['name']}:0", spec["dtype"], model.input_shapes.get(spec["name"], spec["shape"])
        )
        for spec in signature["inputs"]
    }
    output = signature["output"]
    outputs = {output["name"]: tensor("StatefulPartitionedCall:0", output["dtype"], output.get("shape", []))}
    serving_default = {"inputs": inputs, "outputs": outputs, "method_name": "tensorflow/serving/predict"}
    return {
        "model_spec": {"name": model_name, "signature_name": "", "version": str(model.version)},
        "metadata": {
            "signature_def": {"signature_def": {"serving_default": serving_default}},
            "model_card_signature": signature,  # ranges, categories and classes, beyond TF Serving's fields
        },
    }
