"""The `orchestrate:` section of params.yaml: how the Prefect flows run each stage (dvc repro ignores it).

    orchestrate:
      retries: 0            # further attempts of a failed stage
      retry_delay_s: 10     # wait before the first retry; doubles for each further one (exponential backoff)
      timeout_s: 7200       # a stage still running after this is killed (its whole process group) and fails
      stages: {train: {retries: 2, timeout_s: 14400}}   # per-stage overrides of the three above
      pools: {train: gpu}   # a stage sent to a worker of another work pool (flows/remote_stage.py)
      lock_wait_s: 0        # a second flow run on one workspace waits this long for the first, then stops

No stage lists this section in dvc.yaml, so changing it never re-runs a stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tasks.core.errors import PipelineError
from tasks.core.params import Params

SECTION = "orchestrate"
STAGE_KEYS = {"retries", "retry_delay_s", "timeout_s"}


@dataclass(frozen=True)
class StagePolicy:
    retries: int
    retry_delay_s: float
    timeout_s: float
    pool: str | None  # None: run here, in the flow's own workspace

    def retry_delays(self) -> list[float]:
        """Seconds to wait before each retry: the delay, doubled for every further attempt."""
        return [self.retry_delay_s * 2**attempt for attempt in range(self.retries)]


@dataclass(frozen=True)
class OrchestrationSettings:
    defaults: StagePolicy
    overrides: dict[str, dict[str, float]]
    pools: dict[str, str]
    lock_wait_s: float

    def for_stage(self, stage: str) -> StagePolicy:
        values = self.overrides.get(stage, {})
        return StagePolicy(
            retries=int(values.get("retries", self.defaults.retries)),
            retry_delay_s=float(values.get("retry_delay_s", self.defaults.retry_delay_s)),
            timeout_s=float(values.get("timeout_s", self.defaults.timeout_s)),
            pool=self.pools.get(stage),
        )


def load_settings(repo: Path, stages: list[str]) -> OrchestrationSettings:
    """Read and check `orchestrate:` of `repo`/params.yaml; a missing section means the defaults below.

    Raises PipelineError naming the key for a wrong type, a negative number or a stage dvc.yaml does not have."""
    params = Params.load(repo / "params.yaml")
    key = SECTION
    defaults = StagePolicy(
        retries=params.get(f"{key}.retries", int, 0, minimum=0),
        retry_delay_s=params.get(f"{key}.retry_delay_s", float, 10.0, minimum=0),
        timeout_s=params.get(f"{key}.timeout_s", float, 7200.0, minimum=1),
        pool=None,
    )
    overrides: dict[str, dict[str, float]] = {}
    for stage, values in (params.get(f"{key}.stages", (dict, type(None)), {}) or {}).items():
        _known_stage(params, f"{key}.stages.{stage}", stage, stages)
        if not isinstance(values, dict) or set(values) - STAGE_KEYS:
            raise PipelineError(
                f"{params.source}: '{key}.stages.{stage}' must be a mapping of {sorted(STAGE_KEYS)}, got {values!r}"
            )
        for name in values:
            minimum = 1 if name == "timeout_s" else 0
            kind = int if name == "retries" else float
            params.get(f"{key}.stages.{stage}.{name}", kind, minimum=minimum)
        overrides[stage] = values
    pools: dict[str, str] = {}
    for stage, pool in (params.get(f"{key}.pools", (dict, type(None)), {}) or {}).items():
        _known_stage(params, f"{key}.pools.{stage}", stage, stages)
        if pool is None:
            continue
        pools[stage] = params.get(f"{key}.pools.{stage}", str)
    return OrchestrationSettings(defaults, overrides, pools, params.get(f"{key}.lock_wait_s", float, 0.0, minimum=0))


def _known_stage(params: Params, key: str, stage: str, stages: list[str]) -> None:
    if stage not in stages:
        raise PipelineError(f"{params.source}: '{key}' names no stage of dvc.yaml (stages: {', '.join(stages)})")
