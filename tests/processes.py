"""Every subprocess a test starts goes through here: a bounded run, and its whole process tree killed on time-out.

A hung `dvc repro`, flow or server must fail its test within minutes, not block CI until the runner's limit. Each
child starts in its own session, so a time-out kills the stage processes DVC started too, not only DVC.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

# A `dvc repro` of the whole DAG with the tests' fast training params takes about 3 minutes on 2 shared cores;
# five times that is a hang, not a slow machine.
DEFAULT_TIMEOUT_S = 900.0


class SubprocessTimeout(AssertionError):
    """A test's subprocess ran past its time-out; its process tree was killed."""


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment stages run with: this interpreter's venv first on PATH, no analytics, TF quiet, CPU only."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update({"GX_ANALYTICS_ENABLED": "False", "DO_NOT_TRACK": "1", "TF_CPP_MIN_LOG_LEVEL": "3"})
    env.update({"DVC_NO_ANALYTICS": "1", "CUDA_VISIBLE_DEVICES": env.get("CUDA_VISIBLE_DEVICES", "")})
    env.update(extra)
    return env


def kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL the process group `process` leads (it was started with start_new_session=True), then reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)


def run(
    command: list[str],
    cwd: Path,
    check: bool = True,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `command` in `cwd` with at most `timeout_s` seconds; stdout and stderr captured as text.

    Raises AssertionError (a test failure, with the output) when `check` and the exit code is not 0, and
    SubprocessTimeout (with whatever was printed so far) when the time runs out; the process tree is killed then,
    and also when the test itself is interrupted (pytest-timeout, Ctrl-C).
    """
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env if env is not None else subprocess_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        kill_tree(process)
        stdout, stderr = process.communicate()
        raise SubprocessTimeout(
            f"{' '.join(command)} did not finish within {timeout_s:.0f} s and was killed:\n"
            f"{(stdout or '')[-3000:]}\n{(stderr or '')[-3000:]}"
        ) from None
    except BaseException:
        kill_tree(process)
        raise
    done = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def finish(process: subprocess.Popen[str], timeout_s: float = DEFAULT_TIMEOUT_S) -> str:
    """Wait for a started process (stdout piped, stderr merged) and return its output; kill its tree if it runs
    past `timeout_s` (SubprocessTimeout) or the test is interrupted meanwhile."""
    try:
        return process.communicate(timeout=timeout_s)[0] or ""
    except subprocess.TimeoutExpired:
        kill_tree(process)
        output = process.communicate()[0] or ""
        raise SubprocessTimeout(f"{process.args} did not finish within {timeout_s:.0f} s:\n{output[-3000:]}") from None
    except BaseException:
        kill_tree(process)
        raise
