"""The tests' own subprocess helper: a hung command fails its test in bounded time and leaves no process behind."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.processes import SubprocessTimeout, run


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by its parent, init here) counts as gone
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


def test_a_hung_command_is_killed_with_its_children_and_fails_with_its_output(tmp_path: Path) -> None:
    # a shell that starts a child which would sleep for a day, like dvc starting a stage that hangs
    script = f"sleep 86400 & echo $! > {tmp_path}/child.pid; echo started; wait"
    started = time.monotonic()
    with pytest.raises(SubprocessTimeout, match=r"did not finish within 2 s(.|\n)*started"):
        run(["bash", "-c", script], tmp_path, timeout_s=2)
    assert time.monotonic() - started < 60
    child = int((tmp_path / "child.pid").read_text())
    deadline = time.monotonic() + 30
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(child), "the hung command's child outlived the time-out"


def test_a_failing_command_fails_the_test_with_its_output(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match=r"failed \(3\):(.|\n)*broken stage"):
        run(["bash", "-c", "echo broken stage >&2; exit 3"], tmp_path)
    assert run(["bash", "-c", "exit 3"], tmp_path, check=False).returncode == 3
