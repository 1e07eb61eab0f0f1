"""Strategy and precision selection as a pure function of detected GPUs and TF_CONFIG (runs without a GPU)."""

from __future__ import annotations

import json

import pytest

from tasks.core.errors import PipelineError
from tasks.training.hardware import plan_distribution


def tf_config(task_type: str, index: int, chief: bool = False, workers: int = 2) -> str:
    cluster = {"worker": [f"host{i}:2222" for i in range(workers)]}
    if chief:
        cluster["chief"] = ["chief:2222"]
    return json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index}})


def test_cpu_only_runs_the_default_strategy_in_float32() -> None:
    plan = plan_distribution(0, None)
    assert (plan.strategy, plan.policy, plan.is_chief) == ("default", "float32", True)
    assert plan.deterministic_ops  # CPU runs are bit-for-bit repeatable


def test_one_gpu_turns_on_mixed_precision_without_mirroring() -> None:
    plan = plan_distribution(1, None)
    assert (plan.strategy, plan.policy) == ("default", "mixed_float16")
    assert not plan.deterministic_ops  # some GPU kernels have no deterministic version


def test_several_gpus_mirror_in_mixed_precision() -> None:
    plan = plan_distribution(4, "")
    assert (plan.strategy, plan.policy, plan.gpus) == ("mirrored", "mixed_float16", 4)


def test_precision_can_be_forced_either_way() -> None:
    assert plan_distribution(2, None, "never").policy == "float32"
    assert plan_distribution(0, None, "always").policy == "mixed_float16"
    with pytest.raises(PipelineError, match=r"train\.mixed_precision"):
        plan_distribution(0, None, "fp8")


def test_tf_config_with_several_workers_selects_multi_worker_and_worker_0_is_chief() -> None:
    chief = plan_distribution(2, tf_config("worker", 0))
    other = plan_distribution(2, tf_config("worker", 1))
    assert chief.strategy == other.strategy == "multi_worker"
    assert chief.is_chief and not other.is_chief
    assert chief.workers == 2 and chief.policy == "mixed_float16"


def test_an_explicit_chief_task_writes_and_worker_0_does_not() -> None:
    assert plan_distribution(0, tf_config("chief", 0, chief=True)).is_chief
    assert not plan_distribution(0, tf_config("worker", 0, chief=True)).is_chief


def test_a_single_task_cluster_is_not_multi_worker() -> None:
    plan = plan_distribution(0, tf_config("worker", 0, workers=1))
    assert plan.strategy == "default" and plan.is_chief


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "TF_CONFIG: not valid JSON"),
        ('{"cluster": {"worker": ["a:1"]}}', "TF_CONFIG: expected"),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}', "task worker:3 is not in"),
    ],
)
def test_malformed_tf_config_is_named(raw: str, message: str) -> None:
    with pytest.raises(PipelineError, match=message):
        plan_distribution(0, raw)
