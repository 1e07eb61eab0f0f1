"""The real server (uvicorn) on a loopback port the OS picks, in a thread of the test process; and a plain-HTTP
TF Serving client written from TF Serving's REST API documentation."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tasks.serving.app import Serving
from tasks.serving.server import ServerSettings, bind, build_app, uvicorn_server
from tasks.store.model_store import StoreBase


@dataclass
class Answer:
    status: int
    text: str
    headers: dict[str, str]

    @property
    def body(self) -> Any:
        return json.loads(self.text)


@dataclass
class LiveServer:
    url: str
    serving: Serving

    def call(
        self, method: str, path: str, body: bytes | dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> Answer:
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers or {})
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Answer(response.status, response.read().decode(), dict(response.headers))
        except urllib.error.HTTPError as err:
            return Answer(err.code, err.read().decode(), dict(err.headers))

    def predict(
        self, model: str, payload: dict[str, Any], version: int | None = None, label: str | None = None, **kw: Any
    ) -> Answer:
        """TF Serving's predict: POST /v1/models/<model>[/versions/<v>|/labels/<l>]:predict."""
        target = (
            f"/v1/models/{model}" + (f"/versions/{version}" if version else "") + (f"/labels/{label}" if label else "")
        )
        return self.call("POST", target + ":predict", payload, **kw)


@contextmanager
def live_server(store: StoreBase, settings: ServerSettings) -> Iterator[LiveServer]:
    """Start the app under uvicorn on 127.0.0.1:<free port>; stop it (flushing the log) on exit."""
    app, serving = build_app(store, settings)
    server = uvicorn_server(app)
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", serving)
    finally:
        server.should_exit = True
        thread.join(timeout=60)
        sock.close()
