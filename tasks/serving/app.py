"""TF Serving's REST API (FastAPI), plus `/healthz` and Prometheus `/metrics`.

    POST /v1/models/<name>[/versions/<v>|/labels/<label>]:predict   {"instances": [...]} or {"inputs": ...}
    POST /v1/models/<name>[/versions/<v>|/labels/<label>]:classify  {"examples": [...], "context": {...}}
    GET  /v1/models/<name>[/versions/<v>|/labels/<label>]            model status
    GET  /v1/models/<name>[/versions/<v>|/labels/<label>]/metadata   signature
    POST /v1/models/<name>/feedback   {"labels": [{"request_id", "instance", "label"}]}  (tasks/serving/feedback.py)

Answers are TF Serving's: `{"predictions": [...]}` for rows, `{"outputs": ...}` for columns (a classifier adds
`"classes"`, the class name of each probability), `{"result": [[[class, probability], ...]]}` for classify,
`{"error": "..."}` with 400 (invalid request), 401/403 (token), 404 (unknown model, version or label), 413 (body too
large), 503 (nothing loaded yet), 500. Each answer carries the version that produced it in the `X-Model-Version`
header and its request id in `X-Request-Id`. With a shadow version set, the request is scored by it too, on a
background thread after the answer is ready, and both outputs go to the prediction log.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from tasks.serving.classify import classify_answer, classify_as_predict
from tasks.serving.feedback import FeedbackWriter, checked_labels
from tasks.serving.metadata import metadata_answer
from tasks.serving.metrics import Metrics
from tasks.serving.model_holder import LoadedModel, ModelHolder
from tasks.serving.prediction_log import LoggedRequest, PredictionLog
from tasks.serving.request_checks import (
    CheckedBatch,
    CheckPolicy,
    OutOfRange,
    RequestError,
    ServingError,
    check_request,
    parse_body,
)

log = logging.getLogger(__name__)
ROUTE = re.compile(
    r"^(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+)|/labels/(?P<label>[^/:]+))?(?P<op>:[a-z]+|/metadata|/feedback)?$"
)
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SHADOW_QUEUE = 256


@dataclass(frozen=True)
class ServerOptions:
    max_body_bytes: int = 4 * 1024 * 1024
    policy: CheckPolicy = field(default_factory=CheckPolicy)
    token: str | None = None  # bearer token required on /v1 when set


class Serving:
    """The request handling behind the routes: resolve the model, check, predict, answer, shadow, log."""

    def __init__(
        self, holder: ModelHolder, options: ServerOptions, metrics: Metrics, prediction_log: PredictionLog | None
    ) -> None:
        self.holder = holder
        self.options = options
        self.metrics = metrics
        self.prediction_log = prediction_log
        self.shadow_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shadow")
        self.feedback: FeedbackWriter | None = None  # set where the server has a prediction log (server.py)
        self._shadow_pending = 0
        self._shadow_lock = threading.Lock()

    # --- routing ---
    def target(self, path: str) -> tuple[str, int | None, str | None, str | None]:
        match = ROUTE.match(path)
        if not match:
            raise ServingError(404, f"unknown path /v1/models/{path}", "not_found")
        name, version, label, op = match["name"], match["version"], match["label"], match["op"]
        if name != self.holder.model_name:
            raise ServingError(404, f"Servable not found for request: Latest({name})", "unknown_model")
        if version is not None and not version.isdigit():
            raise ServingError(400, f"Failed to convert version: {version!r} is not a version number", "bad_version")
        return name, int(version) if version is not None else None, label, op

    def model(self, version: int | None, label: str | None) -> LoadedModel:
        model = self.holder.resolve(version, label)
        if model is not None:
            return model
        name = self.holder.model_name
        if label is not None:
            if label in ("production", "shadow") and self.holder.production is not None:
                raise ServingError(
                    404, f"Servable not found for request: label {label!r} of {name} is not set", "unknown_label"
                )
            if label not in ("production", "shadow"):
                raise ServingError(404, f"Unrecognized servable version label: {label}", "unknown_label")
        if version is not None:
            raise ServingError(404, f"Servable not found for request: Specific({name}, {version})", "unknown_version")
        raise ServingError(
            503, f"{name}: no version is loaded yet (production pointer missing or loading)", "not_ready"
        )

    def check_token(self, request: Request) -> None:
        token = self.options.token
        if not token:
            return
        given = request.headers.get("authorization", "")
        if not given:
            raise ServingError(401, "missing bearer token: send 'Authorization: Bearer <token>'", "unauthorized")
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
            raise ServingError(403, "the bearer token is not valid", "forbidden")

    # --- predict ---
    def predict(self, body: bytes, version: int | None, label: str | None, request_id: str) -> tuple[dict, LoadedModel]:
        payload = parse_body(body)
        model = self.model(version, label)
        batch, outputs = self.score(payload, model, request_id)
        key = "predictions" if batch.row_format else "outputs"
        answer: dict[str, Any] = {key: outputs.tolist()}
        classes = model.signature.get("output", {}).get("classes")
        if classes:  # a classifier says which probability is which class, beside TF Serving's own key
            answer["classes"] = list(classes)
        return answer, model

    def classify(
        self, body: bytes, version: int | None, label: str | None, request_id: str
    ) -> tuple[dict, LoadedModel]:
        """TF Serving's classify: `{"examples": [{field: value}], "context": {field: value}}` (context fields apply
        to every example) answered `{"result": [[[class name, probability], ...] per example]}`."""
        payload = parse_body(body)
        model = self.model(version, label)
        classes = model.signature.get("output", {}).get("classes")
        if not classes:
            raise RequestError(f"{self.holder.model_name} is not a classifier: use :predict", "unsupported")
        _, outputs = self.score(classify_as_predict(payload), model, request_id)
        return classify_answer(outputs, classes), model

    def score(self, payload: dict[str, Any], model: LoadedModel, request_id: str) -> tuple[CheckedBatch, np.ndarray]:
        """Check `payload`, run the model, count, log and shadow-score: the checked batch and the outputs."""
        try:
            batch = check_request(payload, model.signature, self.options.policy)
        except OutOfRange as refused:  # what production was sent matters to monitoring, answered or not
            self.log_refused(refused, model, request_id)
            raise
        try:
            outputs = model.predict(batch.arrays)
        except Exception as err:  # a model failure on checked input is our bug, not the client's
            log.exception("version %s failed on request %s", model.version, request_id)
            raise ServingError(500, f"the model failed on this request: {type(err).__name__}", "model_failure") from err
        for name in batch.out_of_range_fields:
            self.metrics.inc("out_of_range_total", model=self.holder.model_name, field=name)
        self.metrics.inc("instances_total", batch.n, model=self.holder.model_name)
        entry = self.log_entry(request_id, model, batch, outputs)
        self.after_answer(entry, batch.arrays, model)
        return batch, outputs

    def log_refused(self, refused: OutOfRange, model: LoadedModel, request_id: str) -> None:
        """Log a request refused for out-of-range values: its inputs, no outputs, `refused` saying why."""
        if self.prediction_log is not None:
            self.prediction_log.record(self.log_entry(request_id, model, refused.batch, None, refused.kind))

    def log_entry(
        self,
        request_id: str,
        model: LoadedModel,
        batch: CheckedBatch,
        outputs: np.ndarray | None,
        refused: str | None = None,
    ) -> LoggedRequest:
        """The prediction log's record of one request: answered (`outputs`) or refused (why)."""
        return LoggedRequest(
            request_id,
            datetime.now(UTC),
            self.holder.model_name,
            model.version,
            batch.arrays,
            outputs,
            warnings=batch.warnings or None,
            refused=refused,
        )

    def after_answer(self, entry: LoggedRequest, arrays: dict[str, np.ndarray], model: LoadedModel) -> None:
        """Shadow-score (off the response path) and log; neither may delay or fail the answer."""
        shadow = self.holder.shadow
        if shadow is not None and shadow.version != model.version:
            with self._shadow_lock:
                if self._shadow_pending < SHADOW_QUEUE:
                    self._shadow_pending += 1
                    self.shadow_pool.submit(self._score_shadow, shadow, entry, arrays)
                    return
            self.metrics.inc("shadow_dropped_total", model=self.holder.model_name)
        if self.prediction_log is not None:
            self.prediction_log.record(entry)

    def _score_shadow(self, shadow: LoadedModel, entry: LoggedRequest, arrays: dict[str, np.ndarray]) -> None:
        try:
            entry.shadow_outputs = shadow.predict(arrays)
            entry.shadow_version = shadow.version
        except Exception:
            log.exception("shadow version %s failed on request %s", shadow.version, entry.request_id)
        finally:
            with self._shadow_lock:
                self._shadow_pending -= 1
            if self.prediction_log is not None:
                self.prediction_log.record(entry)

    def take_feedback(self, body: bytes) -> dict[str, Any]:
        """Labels for earlier answers, written beside the prediction log for the monitor to join."""
        if self.feedback is None:
            raise ServingError(404, "this server keeps no prediction log, so it takes no feedback", "unsupported")
        rows = checked_labels(parse_body(body))
        self.feedback.write(rows)
        self.metrics.inc("feedback_labels_total", len(rows), model=self.holder.model_name)
        return {"accepted": len(rows)}

    # --- status and metadata ---
    def status(self, version: int | None, label: str | None) -> dict[str, Any]:
        entries = []
        if version is None and label is None:
            for _, model in self.holder.serving():
                entries.append(_available(model.version))
            for failed, (_, why) in sorted(self.holder.failures.items()):
                entries.append(
                    {"version": str(failed), "state": "END", "status": {"error_code": "UNKNOWN", "error_message": why}}
                )
            if not entries:
                raise self.model_error(None, None)
        else:
            entries.append(_available(self.model(version, label).version))
        return {"model_version_status": entries}

    def model_error(self, version: int | None, label: str | None) -> ServingError:
        try:
            self.model(version, label)
        except ServingError as err:
            return err
        raise AssertionError("a model was found")

    def metadata(self, version: int | None, label: str | None) -> dict[str, Any]:
        return metadata_answer(self.holder.model_name, self.model(version, label))


def _available(version: int) -> dict[str, Any]:
    return {"version": str(version), "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}


def _error(err: ServingError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": err.message}, status_code=err.status, headers=headers)


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed `limit` (declared length or bytes received)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ServingError(
            413, f"the request body has {int(declared)} bytes; at most {limit} are accepted", "body_too_large"
        )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ServingError(413, f"the request body exceeds {limit} bytes", "body_too_large")
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(serving: Serving, log_to_close: PredictionLog | None = None) -> FastAPI:
    """The FastAPI app; its lifespan starts the model poller and the prediction log, and stops them (flushing)."""
    holder, metrics = serving.holder, serving.metrics
    model_name = holder.model_name

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(holder.start)
        if log_to_close is not None:
            log_to_close.start()
        try:
            yield
        finally:
            holder.stop()
            serving.shadow_pool.shutdown(wait=True)
            if log_to_close is not None:
                log_to_close.close()

    app = FastAPI(title="trainline serving (TF Serving REST API)", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.openapi_url = None  # type: ignore[assignment]

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

    def record(code: int, kind: str | None) -> None:
        metrics.inc("requests_total", model=model_name, code=str(code))
        if kind:
            metrics.inc("errors_total", model=model_name, kind=kind)

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        if holder.production is None:
            return JSONResponse({"status": "no model loaded", "model": model_name}, status_code=503)
        return JSONResponse({"status": "ok", "model": model_name, "version": holder.production.version})

    @app.get("/metrics")
    async def prometheus() -> PlainTextResponse:
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4")

    @app.post("/v1/models/{path:path}")
    async def post(path: str, request: Request) -> Response:
        started = time.perf_counter()
        supplied = request.headers.get("x-request-id", "")
        request_id = supplied if REQUEST_ID.match(supplied) else uuid.uuid4().hex
        headers = {"X-Request-Id": request_id}
        try:
            serving.check_token(request)
            _, version, label, op = serving.target(path)
            if op == "/feedback" and version is None and label is None:
                body = await read_body(request, serving.options.max_body_bytes)
                return JSONResponse(await run_in_threadpool(serving.take_feedback, body), headers=headers)
            if op not in (":predict", ":classify"):
                raise ServingError(
                    404 if op is None or op == "/metadata" else 400,
                    f"unsupported method {op or 'POST'} (this server answers :predict and :classify)",
                    "unsupported",
                )
            body = await read_body(request, serving.options.max_body_bytes)
            handler = serving.predict if op == ":predict" else serving.classify
            answer, model = await run_in_threadpool(handler, body, version, label, request_id)
        except ServingError as err:
            record(err.status, err.kind)
            return _error(err, headers)
        metrics.observe_latency(model_name, time.perf_counter() - started)
        record(200, None)
        headers["X-Model-Version"] = str(model.version)
        return Response(json.dumps(answer), media_type="application/json", headers=headers)

    @app.get("/v1/models/{path:path}")
    async def get(path: str, request: Request) -> Response:
        try:
            serving.check_token(request)
            _, version, label, op = serving.target(path)
            if op is None:
                answer = serving.status(version, label)
            elif op == "/metadata":
                answer = serving.metadata(version, label)
            else:
                raise ServingError(405, f"{op} needs POST", "unsupported")
        except ServingError as err:
            record(err.status, err.kind)
            return _error(err)
        record(200, None)
        return JSONResponse(answer)

    def gauges() -> dict[tuple[tuple[str, str], ...], float]:
        return {(("label", label), ("model", model_name)): float(m.version) for label, m in holder.serving()}

    metrics.gauges = gauges
    return app


__all__ = ["RequestError", "ServerOptions", "Serving", "create_app"]
