"""`make serve` (python -m tasks.serving) as its own process group on a free loopback port, for tests that talk to
the real server the README tells a user to start."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.processes import kill_tree

ANNOUNCED = re.compile(r"on (http://127\.0\.0\.1:\d+)$")


def request(url: str, payload: dict | None = None, timeout_s: float = 30) -> tuple[int, dict]:
    """GET `url`, or POST `payload` as JSON; (status, decoded JSON body)."""
    body = json.dumps(payload).encode() if payload is not None else None
    call = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(call, timeout=timeout_s) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@contextmanager
def served(command: list[str], cwd: Path, env: dict[str, str], log: Path, start_s: float = 180) -> Iterator[str]:
    """Start `command` (a server that prints `... on http://127.0.0.1:<port>` once it answers) and yield that
    address; SIGTERM at the end (the prediction log is flushed), SIGKILL of the whole group if it hangs."""
    with log.open("w") as stderr:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True, start_new_session=True
        )
        try:
            assert process.stdout is not None
            deadline = time.monotonic() + start_s
            address = None
            while address is None and time.monotonic() < deadline and process.poll() is None:
                line = process.stdout.readline()
                match = ANNOUNCED.search(line.strip())
                address = match[1] if match else None
            assert address, f"the server announced no address: {log.read_text()[-3000:]}"
            yield address
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                kill_tree(process)
