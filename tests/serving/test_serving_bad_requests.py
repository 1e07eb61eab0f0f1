"""Malformed and hostile requests: each gets TF Serving's error status with a message naming the problem, and the
server keeps serving good requests between them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest

from tasks.serving.request_checks import CheckPolicy
from tasks.store.model_store import ModelStore
from tests.serving.conftest import fast_settings, store_versions
from tests.serving.live_server import LiveServer, live_server
from tests.serving.tiny_models import TinyModel

pytestmark = pytest.mark.timeout(300)
TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MAX_BODY = 64 * 1024
MAX_BATCH = 8
PREDICT = "/v1/models/bike_demand:predict"


@dataclass(frozen=True)
class Bad:
    name: str
    path: str
    body: bytes
    status: int
    message: str
    headers: dict[str, str] | None = None


def corpus(row: dict[str, Any]) -> list[Bad]:
    """The requests, built around one good instance `row` of the bike model."""

    def rows(*instances: dict[str, Any]) -> bytes:
        return json.dumps({"instances": list(instances)}).encode()

    without_hum = {k: v for k, v in row.items() if k != "hum"}
    renamed = {("tmp" if k == "temp" else k): v for k, v in row.items()}
    inf = json.dumps({"instances": [{**row, "atemp": 0.5}]}).replace('"atemp": 0.5', '"atemp": Infinity').encode()
    nan = json.dumps({"instances": [row, {**row, "temp": 0.5}]}).replace('"temp": 0.5', '"temp": NaN').encode()
    return [
        Bad("bad JSON", PREDICT, b'{"instances": [', 400, "not valid JSON"),
        Bad("JSON that is not an object", PREDICT, b"[1, 2]", 400, 'must be a JSON object with "instances"'),
        Bad("wrong field name", PREDICT, rows(renamed), 400, "instance 0: unknown field(s) ['tmp']"),
        Bad("missing field", PREDICT, rows(row, without_hum), 400, "instance 1: missing field(s) ['hum']"),
        Bad(
            "string for a number",
            PREDICT,
            rows({**row, "temp": "warm"}),
            400,
            "instance 0, field 'temp': expected a number",
        ),
        Bad(
            "boolean for a number",
            PREDICT,
            rows({**row, "hum": True}),
            400,
            "instance 0, field 'hum': expected a number",
        ),
        Bad(
            "float for an integer category",
            PREDICT,
            rows({**row, "season": 1.5}),
            400,
            "field 'season': expected an integer",
        ),
        Bad(
            "null value", PREDICT, rows({**row, "windspeed": None}), 400, "instance 0, field 'windspeed': missing value"
        ),
        Bad("NaN", PREDICT, nan, 400, "instance 1, field 'temp': NaN or infinite values are not accepted"),
        Bad("Infinity", PREDICT, inf, 400, "instance 0, field 'atemp': NaN or infinite"),
        Bad(
            "value far outside the training range",
            PREDICT,
            rows({**row, "temp": 40.0}),
            400,
            "instance 0, field 'temp': 40 is far outside the training range",
        ),
        Bad(
            "category never seen in training",
            PREDICT,
            rows({**row, "hr": 99}),
            400,
            "instance 0, field 'hr': 99 was never seen in training",
        ),
        Bad(
            "list where a scalar is expected",
            PREDICT,
            rows({**row, "temp": [0.2, 0.3]}),
            400,
            "instance 0, field 'temp': expected shape [] per instance, got [2]",
        ),
        Bad("empty instances", PREDICT, b'{"instances": []}', 400, "the request has no instances"),
        Bad(
            "both instances and inputs",
            PREDICT,
            json.dumps({"instances": [row], "inputs": {}}).encode(),
            400,
            'exactly one of "instances" (rows) or "inputs" (columns)',
        ),
        Bad("neither instances nor inputs", PREDICT, b'{"rows": []}', 400, "unknown request key(s) ['rows']"),
        Bad(
            "columns of different lengths",
            PREDICT,
            json.dumps({"inputs": {k: [v, v] if k != "hr" else [v] for k, v in row.items()}}).encode(),
            400,
            "the fields have different numbers of instances",
        ),
        Bad(
            "wrong signature_name",
            PREDICT,
            json.dumps({"signature_name": "train", "instances": [row]}).encode(),
            400,
            "unknown signature_name 'train'",
        ),
        Bad(
            "too many instances",
            PREDICT,
            rows(*[row] * (MAX_BATCH + 1)),
            400,
            f"the request has {MAX_BATCH + 1} instances; at most {MAX_BATCH}",
        ),
        Bad(
            "huge body", PREDICT, b'{"instances": [' + b" " * MAX_BODY + b"]}", 413, f"at most {MAX_BODY} are accepted"
        ),
        Bad("unknown model", "/v1/models/nope:predict", rows(row), 404, "Servable not found for request: Latest(nope)"),
        Bad(
            "unknown version",
            "/v1/models/bike_demand/versions/7:predict",
            rows(row),
            404,
            "Servable not found for request: Specific(bike_demand, 7)",
        ),
        Bad(
            "version that is not a number",
            "/v1/models/bike_demand/versions/latest:predict",
            rows(row),
            400,
            "Failed to convert version",
        ),
        Bad(
            "unknown label",
            "/v1/models/bike_demand/labels/canary:predict",
            rows(row),
            404,
            "Unrecognized servable version label: canary",
        ),
        Bad("missing token", PREDICT, rows(row), 401, "missing bearer token", headers={}),
        Bad(
            "wrong token",
            PREDICT,
            rows(row),
            403,
            "the bearer token is not valid",
            headers={"Authorization": "Bearer guess"},
        ),
    ]


@pytest.fixture(scope="module")
def guarded_server(tiny_bike: TinyModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("guarded")
    store = store_versions(ModelStore(tmp / "store", "bike_demand"), tiny_bike)
    settings = fast_settings(tmp)
    options = replace(settings.options, max_body_bytes=MAX_BODY, token=TOKEN, policy=CheckPolicy(max_batch=MAX_BATCH))
    with live_server(store, replace(settings, options=options)) as server:
        yield server


# the corpus' shape only (names), for the test ids; the requests themselves are built from a real test row
NAMES = [bad.name for bad in corpus({"temp": 0.2, "atemp": 0.2, "hum": 0.5, "hr": 1})]


def test_the_corpus_has_at_least_twelve_requests() -> None:
    assert len(NAMES) >= 12 and len(set(NAMES)) == len(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_bad_request_gets_its_status_and_message_and_the_server_keeps_serving(
    name: str, guarded_server: LiveServer, tiny_bike: TinyModel
) -> None:
    bad = next(bad for bad in corpus(tiny_bike.instances[0]) if bad.name == name)
    headers = AUTH if bad.headers is None else bad.headers
    answer = guarded_server.call("POST", bad.path, bad.body, headers={**headers, "Content-Type": "application/json"})

    assert answer.status == bad.status, f"{bad.name}: {answer.text}"
    assert set(answer.body) == {"error"}
    assert bad.message in answer.body["error"], f"{bad.name}: {answer.body['error']}"
    good = guarded_server.predict("bike_demand", {"instances": tiny_bike.instances}, headers=AUTH)
    assert good.status == 200 and len(good.body["predictions"]) == len(tiny_bike.instances)


def test_errors_are_counted_by_kind(guarded_server: LiveServer, tiny_bike: TinyModel) -> None:
    guarded_server.call("POST", PREDICT, b"{", headers=AUTH)
    metrics = guarded_server.call("GET", "/metrics").text
    assert 'trainline_serving_errors_total{kind="bad_json",model="bike_demand"}' in metrics


def test_unknown_paths_answer_in_tf_serving_error_format(guarded_server: LiveServer) -> None:
    answer = guarded_server.call("GET", "/v2/whatever")
    assert answer.status == 404 and set(answer.body) == {"error"}
