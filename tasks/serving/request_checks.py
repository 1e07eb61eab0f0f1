"""Checks of a TF Serving predict request against the model card's signature, before the model runs.

A request carries `instances` (rows: a list of `{input: value}` objects, or of bare values when the model has one
input) or `inputs` (columns: `{input: [value per instance]}`, or a bare list for one input), never both. Every
instance's fields are checked for names, dtype, shape, missing values, NaN/inf, and values far outside the training
range (`range_tolerance` x the range beyond its ends) or unseen categories, which are rejected or only reported
(`out_of_range: reject | warn`). Each failure raises a `RequestError` naming the instance and the field. A request
refused for its values alone (`OutOfRange`) carries its checked arrays, so the server can still log what it saw.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

NUMPY_DTYPES = {"float32": "float32", "float64": "float64", "int32": "int32", "int64": "int64", "uint8": "uint8"}
INTEGER_LIMITS = {"uint8": (0, 255), "int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


class ServingError(Exception):
    """An answer other than a prediction: an HTTP status, TF Serving's `{"error": message}`, and a kind for metrics."""

    def __init__(self, status: int, message: str, kind: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind


class RequestError(ServingError):
    def __init__(self, message: str, kind: str = "invalid_request") -> None:
        super().__init__(400, message, kind)


class OutOfRange(RequestError):
    """Refused in `reject` mode for values far outside the training range or unseen categories, and nothing else:
    the request is well-formed, so `batch` holds its checked arrays (the first problem is the message)."""

    def __init__(self, batch: CheckedBatch) -> None:
        super().__init__(batch.warnings[0], "out_of_range")
        self.batch = batch


@dataclass(frozen=True)
class CheckPolicy:
    max_batch: int = 1024
    range_tolerance: float = 0.5
    out_of_range: str = "reject"  # or "warn"


@dataclass
class CheckedBatch:
    """The request as arrays the model takes (one per input, first axis = instance), in the request's format."""

    arrays: dict[str, np.ndarray]
    n: int
    row_format: bool
    warnings: list[str] = field(default_factory=list)
    out_of_range_fields: list[str] = field(default_factory=list)


def parse_body(body: bytes) -> dict[str, Any]:
    """The JSON object of a request body (NaN and Infinity literals parse; the field checks reject them)."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RequestError(f"the request body is not valid JSON: {err}", "bad_json") from None
    if not isinstance(payload, dict):
        raise RequestError('the request body must be a JSON object with "instances" or "inputs"', "bad_json")
    return payload


def split_fields(payload: dict[str, Any], signature: dict[str, Any], policy: CheckPolicy) -> tuple[dict, int, bool]:
    """({input name: [value per instance]}, number of instances, row format?) from `instances` or `inputs`."""
    names = [spec["name"] for spec in signature["inputs"]]
    aliases = field_aliases(signature)
    optional = {spec["name"] for spec in signature["inputs"] if "missing" in spec}
    wanted = signature.get("name", "serving_default")
    if payload.get("signature_name", wanted) != wanted:
        raise RequestError(f"unknown signature_name {payload['signature_name']!r}; this model serves {wanted!r}")
    unknown_keys = sorted(set(payload) - {"instances", "inputs", "signature_name"})
    if unknown_keys:
        raise RequestError(f'unknown request key(s) {unknown_keys}; expected "instances" or "inputs"')
    if ("instances" in payload) == ("inputs" in payload):
        raise RequestError('the request must have exactly one of "instances" (rows) or "inputs" (columns)')
    if "instances" in payload:
        instances = payload["instances"]
        if not isinstance(instances, list):
            raise RequestError('"instances" must be a list of instances')
        n = len(instances)
        _check_batch_size(n, policy)
        columns: dict[str, list[Any]] = {name: [] for name in names}
        for i, instance in enumerate(instances):
            if isinstance(instance, dict):
                instance = _by_input_name(instance, aliases, f"instance {i}")
                _check_names(instance, names, f"instance {i}", optional, aliases)
                for name in names:
                    columns[name].append(instance.get(name))
            elif len(names) == 1:
                columns[names[0]].append(instance)
            else:
                raise RequestError(f"instance {i}: expected an object with the fields {names}, got {_show(instance)}")
        return columns, n, True
    inputs = payload["inputs"]
    if isinstance(inputs, dict):
        columns = _by_input_name(inputs, aliases, '"inputs"')
        _check_names(columns, names, '"inputs"', set(), aliases)
    elif len(names) == 1:
        columns = {names[0]: inputs}
    else:
        raise RequestError(f'"inputs" must be an object with the fields {names}')
    lengths = {}
    for name in names:
        if not isinstance(columns[name], list):
            raise RequestError(f'"inputs", field {name!r}: expected a list with one value per instance')
        lengths[name] = len(columns[name])
    if len(set(lengths.values())) > 1:
        raise RequestError(f'"inputs": the fields have different numbers of instances: {lengths}')
    n = next(iter(lengths.values()))
    _check_batch_size(n, policy)
    return columns, n, False


def _check_batch_size(n: int, policy: CheckPolicy) -> None:
    if n == 0:
        raise RequestError("the request has no instances", "empty_batch")
    if n > policy.max_batch:
        raise RequestError(f"the request has {n} instances; at most {policy.max_batch} are accepted", "batch_too_large")


def field_aliases(signature: dict[str, Any]) -> dict[str, str]:
    """{source field name: input name} for the inputs whose source column is named otherwise (`education-num`,
    `Miles per gallon`): a request may use the source's own name or the input's."""
    inputs = signature["inputs"]
    return {spec["field"]: spec["name"] for spec in inputs if spec.get("field", spec["name"]) != spec["name"]}


def _by_input_name(record: dict[str, Any], aliases: dict[str, str], where: str) -> dict[str, Any]:
    if not aliases or not any(key in aliases for key in record):
        return record
    renamed: dict[str, Any] = {}
    given_as: dict[str, str] = {}
    for key, value in record.items():
        name = aliases.get(key, key)
        if name in renamed:
            raise RequestError(
                f"{where}: field {key!r} is given twice (also as {given_as[name]!r}); send one of them",
                "unknown_field",
            )
        renamed[name], given_as[name] = value, key
    return renamed


def _check_names(
    record: dict[str, Any], names: list[str], where: str, optional: set[str] = frozenset(), aliases: dict | None = None
) -> None:
    """Unknown fields are refused; an absent field is refused unless its input has a missing-value policy."""
    shown = {name: field for field, name in (aliases or {}).items()}
    expected = [shown.get(n, n) for n in names]
    missing = [shown.get(n, n) for n in names if n not in record and n not in optional]
    unknown = sorted(set(record) - set(names))
    if unknown:
        raise RequestError(f"{where}: unknown field(s) {unknown}; the model takes {expected}", "unknown_field")
    if missing:
        raise RequestError(f"{where}: missing field(s) {missing}; the model takes {expected}", "missing_field")


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, float) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_request(payload: dict[str, Any], signature: dict[str, Any], policy: CheckPolicy) -> CheckedBatch:
    """Every instance of `payload` checked against `signature`; raises RequestError on the first malformed field,
    and, in `reject` mode, OutOfRange once every field is checked and some value is out of range."""
    columns, n, row_format = split_fields(payload, signature, policy)
    batch = CheckedBatch({}, n, row_format)
    for spec in signature["inputs"]:
        batch.arrays[spec["name"]] = check_field(columns[spec["name"]], spec, policy, batch)
    if batch.warnings and policy.out_of_range == "reject":
        raise OutOfRange(batch)
    return batch


def check_field(values: list[Any], spec: dict[str, Any], policy: CheckPolicy, batch: CheckedBatch) -> np.ndarray:
    """One input's values (one per instance) as an array shaped (n, *spec.shape)."""
    name, dtype, shape = spec["name"], spec["dtype"], tuple(spec.get("shape", []))
    if dtype == "string":
        return _check_strings(values, spec, batch)
    whole = _whole_column(values, spec, policy)
    if whole is not None:
        return whole
    cells = []
    gappy = "missing" in spec
    for i, value in enumerate(values):
        where = f"instance {i}, field {spec.get('field', name)!r}"
        if gappy and (_is_gap(value, {None, *spec["missing"].get("na_markers", [])}) or _is_nan(value)):
            if "marker" not in spec["missing"]:
                cells.append(np.full(shape, np.nan, dtype="float32"))  # the model imputes it (its missing policy)
                continue
            value = spec["missing"]["marker"]  # an integer category's "missing" category
        if value is None:
            raise RequestError(f"{where}: missing value (null)", "missing_value")
        array = _as_numeric(value, where, dtype)
        if array.shape != shape:
            if array.size == 1 and math.prod(shape) == 1:  # a scalar for [1] or [v] for a scalar: same thing
                array = array.reshape(shape)
            else:
                raise RequestError(
                    f"{where}: expected shape {list(shape)} per instance, got {list(array.shape)}", "wrong_shape"
                )
        cells.append(array)
        _check_values(array, where, spec, policy, batch)
    return np.stack(cells).astype(NUMPY_DTYPES.get(dtype, "float32"), copy=False)


def _whole_column(values: list[Any], spec: dict[str, Any], policy: CheckPolicy) -> np.ndarray | None:
    """The column as one array when every check passes on it at once (the common case, without a Python loop per
    value); None when anything looks wrong, and the per-instance checks then find and name the culprit."""
    dtype, shape = spec["dtype"], tuple(spec.get("shape", []))
    try:
        array = np.asarray(values)
    except ValueError:
        return None
    integer = dtype in INTEGER_LIMITS
    if array.dtype.kind not in ("iu" if integer else "iuf") or array.size == 0:
        return None
    if array.shape[1:] != shape:
        if math.prod(shape) == 1 and math.prod(array.shape[1:]) == 1:
            array = array.reshape((len(values), *shape))
        else:
            return None
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        return None
    if integer and (array.min() < INTEGER_LIMITS[dtype][0] or array.max() > INTEGER_LIMITS[dtype][1]):
        return None
    if "range" in spec:
        low, high = float(spec["range"]["min"]), float(spec["range"]["max"])
        margin = policy.range_tolerance * max(high - low, 1e-12)
        if array.min() < low - margin or array.max() > high + margin:
            return None
    elif "categories" in spec and not set(array.ravel().tolist()).issubset(spec["categories"]):
        return None
    return array.astype(NUMPY_DTYPES.get(dtype, "float32"), copy=False)


def _is_gap(value: Any, gaps: set[Any]) -> bool:
    return value is None or (isinstance(value, str) and value in gaps)


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _as_numeric(value: Any, where: str, dtype: str) -> np.ndarray:
    try:
        array = np.asarray(value)
    except ValueError:
        raise RequestError(f"{where}: ragged nested lists; expected a regular array", "wrong_shape") from None
    integer = dtype in INTEGER_LIMITS
    if array.dtype.kind == "O":
        raise RequestError(f"{where}: ragged or mixed values; expected {dtype} values", "wrong_type")
    if array.dtype.kind not in ("iu" if integer else "iuf"):
        expected = "an integer" if integer else "a number"
        raise RequestError(f"{where}: expected {expected} ({dtype}), got {_show(value)}", "wrong_type")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise RequestError(f"{where}: NaN or infinite values are not accepted", "not_finite")
    if integer:
        low, high = INTEGER_LIMITS[dtype]
        if array.size and (array.min() < low or array.max() > high):
            raise RequestError(f"{where}: values must be within [{low}, {high}] for {dtype}", "out_of_range")
    return array


def _check_values(
    array: np.ndarray, where: str, spec: dict[str, Any], policy: CheckPolicy, batch: CheckedBatch
) -> None:
    problem = None
    if "range" in spec and array.size:
        low, high = float(spec["range"]["min"]), float(spec["range"]["max"])
        margin = policy.range_tolerance * max(high - low, 1e-12)
        smallest, largest = float(array.min()), float(array.max())
        if smallest < low - margin or largest > high + margin:
            value = smallest if smallest < low - margin else largest
            problem = (
                f"{where}: {value:g} is far outside the training range [{low:g}, {high:g}] "
                f"(more than {policy.range_tolerance:g} x the range beyond it)"
            )
    elif "categories" in spec and array.size == 1 and array.item() not in set(spec["categories"]):
        problem = f"{where}: {array.item()!r} was never seen in training; known values: {_preview(spec['categories'])}"
    if problem:
        _out_of_range(problem, spec["name"], batch)


def _check_strings(values: list[Any], spec: dict[str, Any], batch: CheckedBatch) -> np.ndarray:
    name, shape = spec["name"], tuple(spec.get("shape", []))
    if shape not in ((), (1,)):
        raise RequestError(f"field {name!r}: only scalar string inputs are served", "wrong_shape")
    known = set(spec.get("categories", []))
    flat = [v[0] if isinstance(v, list) and len(v) == 1 else v for v in values]
    if "missing" in spec:  # null, an absent field or the source's NA marker: the model's "missing" category
        gaps = {None, *spec["missing"].get("na_markers", [])}
        values = flat = [spec["missing"]["marker"] if _is_gap(v, gaps) else v for v in flat]
    if all(type(v) is str for v in flat) and (not known or known.issuperset(flat)):  # all fine: no loop below
        return np.asarray(flat, dtype=object).reshape((len(flat), *shape))
    cells = []
    for i, value in enumerate(values):
        where = f"instance {i}, field {spec.get('field', name)!r}"
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if value is None:
            raise RequestError(f"{where}: missing value (null)", "missing_value")
        if not isinstance(value, str):
            raise RequestError(f"{where}: expected a string, got {_show(value)}", "wrong_type")
        if known and value not in known:
            _out_of_range(
                f"{where}: {value!r} was never seen in training; known values: {_preview(spec['categories'])}",
                name,
                batch,
            )
        cells.append(value)
    return np.asarray(cells, dtype=object).reshape((len(cells), *shape))


def _preview(values: list[Any]) -> str:
    return str(values[:12])[:-1] + ", ...]" if len(values) > 12 else str(values)


def _out_of_range(message: str, name: str, batch: CheckedBatch) -> None:
    # noted, never raised here: in reject mode check_request refuses the request once all of it is checked
    batch.warnings.append(message)
    batch.out_of_range_fields.append(name)
