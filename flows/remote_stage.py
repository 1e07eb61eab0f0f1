"""A stage run on a worker of another work pool, with the DVC remote (S3) carrying the data both ways.

`orchestrate.pools.<stage>: <pool>` in params.yaml sends the stage to the deployment `remote-stage/<pool>`
(infra/prefect.yaml), served by a worker of that pool (a GPU node, say) with its own working copy:

  parent (the training flow)                     worker of <pool> (flow `remote-stage`)
  1. dvc push the stage's inputs        ─S3─▶    2. check out the parent's commit in its own working copy, apply the
     run_deployment(commit, diff,                   parent's uncommitted diff and dvc.lock; dvc pull exactly the
     dvc.lock, remote)                              stage's inputs (stage_inputs); dvc repro --single-item <stage>;
                                                    dvc push its outputs; publish its dvc.lock entry (an artefact)
  4. write that entry into dvc.lock,    ◀─S3─    3. ...
     dvc pull the stage's outputs, go on

So dvc.lock ends as after a local `dvc repro`, and the parent evaluates the very bytes the worker produced.
Outputs with `cache: false` (metrics, receipts) never go through the DVC remote: they travel in the handoff.
Pushes and pulls retry with exponential backoff (`orchestrate` retries of the stage, at least 2) and then fail
with one message naming the remote. Credentials for the remote come from each side's environment.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml
from prefect import flow, get_run_logger, task

from flows.dvc_stages import (
    StageFailed,
    StageRun,
    dvc_executable,
    lock_entry,
    repro_stage,
    run_dvc_command,
    stage_inputs,
    uncached_outputs,
)
from flows.orchestration_settings import StagePolicy
from flows.workspace_lock import workspace_lock

REMOTE_STAGE_FLOW = "remote-stage"
HANDOFF_KEY = "remote-stage-handoff"
TRANSFER_TIMEOUT_S = 1800
REPO = Path(__file__).resolve().parent.parent


class RemoteUnavailable(StageFailed):
    """The DVC remote did not answer after every retry."""


def _transfer(root: Path, verb: str, targets: list[str], retries: int, delay_s: float) -> str:
    """`dvc push|pull <targets>` with `retries` further attempts after waits of delay_s, 2*delay_s, ..."""
    command = [dvc_executable(), verb, *targets]
    for attempt in range(retries + 1):
        try:
            return run_dvc_command(root, command, TRANSFER_TIMEOUT_S, what=f"dvc {verb} {' '.join(targets)}")
        except StageFailed as err:
            if attempt == retries:
                raise RemoteUnavailable(
                    f"the DVC remote ({_remote_name(root)}) failed {retries + 1} times for `dvc {verb}`; nothing was "
                    f"promoted and this run stops here. Last error:\n{err}"
                ) from None
            wait = delay_s * 2**attempt
            print(f"dvc {verb} failed (attempt {attempt + 1} of {retries + 1}); retrying in {wait:.0f} s")
            time.sleep(wait)
    raise AssertionError("unreachable")


def _remote_name(root: Path) -> str:
    done = subprocess.run([dvc_executable(), "remote", "default"], cwd=root, capture_output=True, text=True)
    name = done.stdout.strip() or "no default remote"
    url = subprocess.run([dvc_executable(), "remote", "list"], cwd=root, capture_output=True, text=True).stdout
    for line in url.splitlines():
        parts = line.split()
        if parts and parts[0] == name:
            return f"{name}: {parts[1]}"
    return name


def remote_config(root: Path) -> dict[str, str]:
    """The default DVC remote's URL and endpoint (no credentials: each side reads its own from the environment)."""
    from dvc.repo import Repo

    with Repo(str(root)) as dvc:
        name = dvc.config["core"].get("remote")
        if not name:
            raise StageFailed(f"{root}: a stage sent to another work pool needs a default DVC remote (make stack-up)")
        remote = dict(dvc.config["remote"][name])
    keep = {"url", "endpointurl", "region"}
    return {key: str(value) for key, value in remote.items() if key in keep}


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise StageFailed(f"git {' '.join(args)} failed in {root}: {done.stderr.strip()}")
    return done.stdout


# ---------------------------------------------------------------------------------------------------------------
# The worker's side.


@flow(name=REMOTE_STAGE_FLOW, log_prints=True)
def remote_stage(
    stage: str,
    repo_url: str,
    commit: str,
    diff: str = "",
    dvc_lock: str | None = None,
    remote: dict[str, str] | None = None,
    retries: int = 2,
    retry_delay_s: float = 5.0,
    timeout_s: float = 7200.0,
    workdir: str | None = None,
) -> dict[str, Any]:
    """Run `stage` of `commit` (plus the parent's uncommitted `diff` and `dvc_lock`) in this worker's working copy
    (`workdir`, default: the copy this flow was loaded from) and hand back its dvc.lock entry."""
    root = Path(workdir or os.environ.get("TRAINLINE_WORKDIR") or REPO)
    with workspace_lock(root, f"remote stage '{stage}' of {commit[:10]}", wait_s=timeout_s):
        check_out(root, repo_url, commit, diff, dvc_lock)
        if remote:
            configure_remote(root, remote)
        inputs = stage_inputs(root, stage)
        if inputs:
            _transfer(root, "pull", inputs, retries, retry_delay_s)
        run = repro_stage(root, stage, timeout_s=timeout_s)
        _transfer(root, "push", [stage], retries, retry_delay_s)
        handoff = {
            "stage": stage,
            "commit": commit,
            "ran": run.ran,
            "workdir": str(root),
            "lock_entry": lock_entry(root, stage),
            "uncached": {
                path: base64.b64encode((root / path).read_bytes()).decode()
                for path in uncached_outputs(root, stage)
                if (root / path).is_file()
            },
        }
    from prefect.artifacts import create_markdown_artifact

    create_markdown_artifact(
        key=HANDOFF_KEY,
        markdown=f"```json\n{json.dumps(handoff)}\n```\n",
        description=f"dvc.lock entry of stage '{stage}' run on this worker",
    )
    get_run_logger().info("stage %s %s on this worker; outputs pushed", stage, "ran" if run.ran else "up to date")
    return {k: v for k, v in handoff.items() if k != "uncached"}


def check_out(root: Path, repo_url: str, commit: str, diff: str, dvc_lock: str | None) -> None:
    """`root` at exactly `commit` plus `diff`, with `dvc_lock` as its dvc.lock; DVC-tracked data stays in place
    (ignored by git) and is checked by DVC's hashes."""
    if not (root / ".git").exists():
        root.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "clone", "-q", repo_url, str(root)], check=True, timeout=600)
    git(root, "fetch", "-q", repo_url, "+refs/heads/*:refs/remotes/parent/*")
    git(root, "checkout", "-q", "--force", "--detach", commit)
    if diff.strip():
        patch = root / ".dvc/tmp/parent.diff"
        patch.parent.mkdir(parents=True, exist_ok=True)
        patch.write_text(diff)
        git(root, "apply", "--whitespace=nowarn", str(patch))
    if dvc_lock is not None:
        (root / "dvc.lock").write_text(dvc_lock)


def configure_remote(root: Path, remote: dict[str, str]) -> None:
    dvc = dvc_executable()
    commands = [["remote", "add", "--local", "--force", "--default", "handoff", remote["url"]]]
    commands += [
        ["remote", "modify", "--local", "handoff", key, value] for key, value in remote.items() if key != "url"
    ]
    for args in commands:
        subprocess.run([dvc, *args], cwd=root, check=True, capture_output=True, timeout=60)


# ---------------------------------------------------------------------------------------------------------------
# The parent's side.


@task(task_run_name="{stage} on pool {pool}")
def dispatch(root: str, stage: str, pool: str, policy: StagePolicy, force: bool) -> StageRun:
    from prefect.deployments import run_deployment

    repo = Path(root)
    retries = max(policy.retries, 2)
    inputs = stage_inputs(repo, stage)
    if inputs:
        _transfer(repo, "push", inputs, retries, policy.retry_delay_s)
    lock_file = repo / "dvc.lock"
    parameters = {
        "stage": stage,
        "repo_url": os.environ.get("TRAINLINE_GIT_URL") or str(repo.resolve()),
        "commit": git(repo, "rev-parse", "HEAD").strip(),
        "diff": git(repo, "diff", "--binary", "HEAD", "--", ".", ":(exclude)dvc.lock"),
        "dvc_lock": lock_file.read_text() if lock_file.exists() else None,
        "remote": remote_config(repo),
        "retries": retries,
        "retry_delay_s": policy.retry_delay_s,
        "timeout_s": policy.timeout_s,
    }
    if force:
        raise StageFailed(f"stage '{stage}': --force is not supported for a stage sent to pool '{pool}'")
    child = run_deployment(
        f"{REMOTE_STAGE_FLOW}/{pool}", parameters=parameters, timeout=policy.timeout_s, poll_interval=1
    )
    if child.state is None or not child.state.is_completed():
        message = child.state.message if child.state else "no state"
        raise StageFailed(f"stage '{stage}' on work pool '{pool}' ended {child.state_name}: {message}")
    handoff = read_handoff(child.id)
    apply_handoff(repo, handoff, retries, policy.retry_delay_s)
    return StageRun(stage=stage, ran=bool(handoff["ran"]), output=json.dumps(handoff["lock_entry"]), where=pool)


def dispatch_stage(root: Path, stage: str, policy: StagePolicy, force: bool = False) -> StageRun:
    assert policy.pool
    return dispatch(str(root), stage, policy.pool, policy, force)


def read_handoff(flow_run_id) -> dict[str, Any]:
    """The remote stage's handoff, from the artefact its flow run published."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey

    async def read():
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]),
                    key=ArtifactFilterKey(any_=[HANDOFF_KEY]),
                )
            )

    found = asyncio.run(read()) if not _in_event_loop() else _run_in_thread(read)
    if not found:
        raise StageFailed(f"the remote stage run {flow_run_id} completed without its handoff artefact")
    text = str(found[0].data)
    return json.loads(text.split("```json\n", 1)[1].rsplit("\n```", 1)[0])


def _in_event_loop() -> bool:
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _run_in_thread(make_coroutine):
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make_coroutine())).result()


def apply_handoff(root: Path, handoff: dict[str, Any], retries: int, delay_s: float) -> None:
    """Write the remote stage's dvc.lock entry and uncached outputs into `root`, then pull its cached outputs."""
    stage, entry = handoff["stage"], handoff["lock_entry"]
    if not entry:
        raise StageFailed(f"stage '{stage}' ran remotely but its worker's dvc.lock has no entry for it")
    lock_file = root / "dvc.lock"
    lock = yaml.safe_load(lock_file.read_text()) if lock_file.exists() else None
    lock = lock or {"schema": "2.0", "stages": {}}
    lock.setdefault("stages", {})[stage] = entry
    lock_file.write_text(yaml.safe_dump(lock, sort_keys=False))
    for path, content in handoff.get("uncached", {}).items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(base64.b64decode(content))
    _transfer(root, "pull", [stage], retries, delay_s)
