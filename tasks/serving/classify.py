"""TF Serving's classify API on top of predict: a classify request as the predict request of the same rows, and
the classifier's probabilities as classify's answer, each class by name.

    {"examples": [{field: value}, ...], "context": {field: value}}   ->   {"result": [[[class, probability], ...]]}
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tasks.serving.request_checks import RequestError


def classify_as_predict(payload: dict[str, Any]) -> dict[str, Any]:
    """A classify request as the predict request of the same rows (`context` merged into every example)."""
    unknown = sorted(set(payload) - {"examples", "context", "signature_name"})
    if unknown:
        raise RequestError(f'unknown classify request key(s) {unknown}; expected "examples" (and "context")')
    examples, context = payload.get("examples"), payload.get("context", {})
    if not isinstance(examples, list) or not all(isinstance(e, dict) for e in examples):
        raise RequestError('a classify request needs "examples": a list of {field: value} objects')
    if not isinstance(context, dict):
        raise RequestError('"context" must be an object of {field: value} shared by every example')
    rows = [context | example for example in examples]
    return {"instances": rows} | ({"signature_name": payload["signature_name"]} if "signature_name" in payload else {})


def classify_answer(outputs: np.ndarray, classes: list[str]) -> dict[str, Any]:
    """`{"result": [[[class name, probability] per class] per example]}`, classes in the model's output order."""
    rows = outputs.tolist()
    return {"result": [[[str(name), float(p)] for name, p in zip(classes, row, strict=True)] for row in rows]}
