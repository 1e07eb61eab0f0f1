"""Deploy to S3, promote, roll back: the running server follows each change with no failed request, and every
answer carries (and is) the version that produced it."""

from __future__ import annotations

import io
import re
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tasks.store.location import open_store
from tasks.store.model_store import StoreBase
from tests.serving.conftest import S3Server, fast_settings, store_versions
from tests.serving.live_server import Answer, LiveServer, live_server
from tests.serving.tiny_models import TinyModel

pytestmark = pytest.mark.timeout(300)
CLIENTS = 3


def s3_store(server: S3Server, bucket: str) -> StoreBase:
    return open_store(f"s3://{bucket}/models", "bike_demand", endpoint_url=server.endpoint_url, region="us-east-1")


def keep_calling(server: LiveServer, payload: dict, stop: threading.Event, answers: list[tuple[float, Answer]]) -> None:
    while not stop.is_set():
        answers.append((time.monotonic(), server.predict("bike_demand", payload)))


def wait_for_version(answers: list[tuple[float, Answer]], version: int, since: float, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not any(t > since and a.headers.get("x-model-version") == str(version) for t, a in list(answers)):
        assert time.monotonic() < deadline, f"the server did not switch to version {version}"
        time.sleep(0.05)


def test_swaps_under_load_fail_no_request_and_answers_carry_their_version(
    aws_env: S3Server, bucket: str, tiny_bike: TinyModel, tmp_path: Path
) -> None:
    store_versions(s3_store(aws_env, bucket), tiny_bike)  # deploys v1 (production) and v2 to S3
    operator = s3_store(aws_env, bucket)  # the store commands' view, apart from the server's
    settings = fast_settings(tmp_path, log_dir=f"s3://{bucket}/prediction-log", flush_s=0.5)
    answers: list[tuple[float, Answer]] = []
    stop = threading.Event()
    with live_server(s3_store(aws_env, bucket), settings) as server:
        clients = [
            threading.Thread(target=keep_calling, args=(server, {"instances": tiny_bike.instances}, stop, answers))
            for _ in range(CLIENTS)
        ]
        for client in clients:
            client.start()
        try:
            for change, expected in (("promote", 2), ("rollback", 1), ("promote", 2), ("rollback", 1)):
                time.sleep(0.5)
                since = time.monotonic()
                pointer = operator.promote(2, "candidate") if change == "promote" else operator.rollback("back")
                assert pointer["version"] == expected
                wait_for_version(answers, expected, since)
            time.sleep(0.5)
        finally:
            stop.set()
            for client in clients:
                client.join(timeout=60)

    failures = [(a.status, a.text) for _, a in answers if a.status != 200]
    assert failures == [] and len(answers) > 20
    versions = [int(a.headers["x-model-version"]) for _, a in answers]
    assert set(versions) == {1, 2}
    for version, (_, answer) in zip(versions, answers, strict=True):  # the answer is the named version's
        np.testing.assert_allclose(
            np.asarray(answer.body["predictions"]), tiny_bike.keras_predictions[version], rtol=1e-5, atol=1e-5
        )
    history = [(h["action"], h["version"]) for h in operator.production()["history"]]
    assert history[-4:] == [("promote", 1), ("promote", 2), ("rollback", 1), ("promote", 2)]

    client = aws_env.client()
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix="prediction-log/")["Contents"]]
    assert keys and all(re.match(r"prediction-log/date=[-\d]{10}/hour=\d\d/part-.*\.parquet$", k) for k in keys)
    logged = pd.concat(
        pd.read_parquet(io.BytesIO(client.get_object(Bucket=bucket, Key=k)["Body"].read())) for k in keys
    )
    assert len(logged) == len(answers) * len(tiny_bike.instances) and set(logged.version) == {1, 2}
