"""Wiring: the store, the model holder, the prediction log and the metrics into an app; uvicorn on a bound socket."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI

from tasks.core.errors import PipelineError
from tasks.core.params import Params
from tasks.serving.app import ServerOptions, Serving, create_app
from tasks.serving.feedback import FeedbackWriter
from tasks.serving.metrics import Metrics
from tasks.serving.model_holder import ModelHolder
from tasks.serving.prediction_log import PredictionLog
from tasks.serving.request_checks import CheckPolicy
from tasks.store.model_store import StoreBase


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8501
    poll_s: float = 5.0
    options: ServerOptions = field(default_factory=ServerOptions)
    log_dir: str | None = "data/prediction_log"
    flush_rows: int = 5000
    flush_s: float = 30.0
    queue_rows: int = 100_000

    @classmethod
    def from_params(cls, params: Params) -> ServerSettings:
        """`serving.*` of params.yaml, checked; the token comes from the environment variable it names."""
        out_of_range = params.get("serving.out_of_range", str, "reject")
        if out_of_range not in ("reject", "warn"):
            raise PipelineError(f"{params.source}: 'serving.out_of_range' must be reject or warn, got {out_of_range!r}")
        token_env = params.get("serving.token_env", (str, type(None)), "TRAINLINE_SERVING_TOKEN")
        return cls(
            host=params.get("serving.host", str, "127.0.0.1"),
            port=params.get("serving.port", int, 8501, minimum=0, maximum=65535),
            poll_s=params.get("serving.poll_s", float, 5.0, minimum=0.05),
            options=ServerOptions(
                max_body_bytes=params.get("serving.max_body_bytes", int, 4 * 1024 * 1024, minimum=1024),
                policy=CheckPolicy(
                    max_batch=params.get("serving.max_batch", int, 1024, minimum=1),
                    range_tolerance=params.get("serving.range_tolerance", float, 0.5, minimum=0.0),
                    out_of_range=out_of_range,
                ),
                token=os.environ.get(token_env) or None if token_env else None,
            ),
            log_dir=params.get("serving.log.dir", (str, type(None)), "data/prediction_log"),
            flush_rows=params.get("serving.log.flush_rows", int, 5000, minimum=1),
            flush_s=params.get("serving.log.flush_s", float, 30.0, minimum=0.01),
            queue_rows=params.get("serving.log.queue_rows", int, 100_000, minimum=1),
        )


def build_app(store: StoreBase, settings: ServerSettings, s3_client: Any = None) -> tuple[FastAPI, Serving]:
    """The app serving `store`'s production model (nothing is loaded until its lifespan starts)."""
    metrics = Metrics()

    def on_model_event(event: str, version: int) -> None:
        metrics.inc("model_events_total", model=store.model_name, event=event)

    def on_log_rows(outcome: str, n: int) -> None:
        metrics.inc("log_rows_total", n, model=store.model_name, outcome=outcome)

    holder = ModelHolder(store, poll_s=settings.poll_s, on_event=on_model_event)
    if s3_client is None and (settings.log_dir or "").startswith("s3://"):
        # an S3 log beside an S3 store uses the store's endpoint and region (deploy.s3); else the environment's
        s3_client = getattr(store, "client", None)
    prediction_log = (
        PredictionLog(
            settings.log_dir,
            settings.flush_rows,
            settings.flush_s,
            settings.queue_rows,
            on_rows=on_log_rows,
            s3_client=s3_client,
        )
        if settings.log_dir
        else None
    )
    serving = Serving(holder, settings.options, metrics, prediction_log)
    if settings.log_dir:
        serving.feedback = FeedbackWriter(settings.log_dir, s3_client)
    return create_app(serving, prediction_log), serving


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; port 0 lets the OS pick a free one (read it back with getsockname())."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def uvicorn_server(app: FastAPI) -> Any:
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=10, lifespan="on")
    return uvicorn.Server(config)


def serve(app: FastAPI, host: str, port: int, on_ready: Callable[[int], None] = lambda port: None) -> None:
    """Run until SIGINT/SIGTERM (then finish requests in flight, flush the prediction log, stop).

    `on_ready(port)` is called once the production model is loaded and requests are answered (port 0: the OS's pick).
    """
    sock = bind(host, port)
    bound = int(sock.getsockname()[1])
    server = uvicorn_server(app)

    def announce_when_started() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        if server.started:
            on_ready(bound)

    threading.Thread(target=announce_when_started, name="announce", daemon=True).start()
    server.run(sockets=[sock])
