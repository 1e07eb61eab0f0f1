"""Where training runs: GPU detection, the tf.distribute strategy, mixed precision, and who writes the outputs.

The choice is a pure function of what was detected (`plan_distribution`), so it is tested on a CPU-only machine;
`detect_gpus` and `make_strategy` are the thin TensorFlow edges.

- No GPU, no TF_CONFIG: TensorFlow's default strategy on the CPU, float32 (the CPU path is unchanged).
- One GPU: default strategy on that GPU, mixed precision (float16 compute, float32 variables and outputs).
- Several GPUs on one machine: MirroredStrategy over all of them, mixed precision.
- TF_CONFIG naming more than one task: MultiWorkerMirroredStrategy across the machines. Only the chief (the task of
  type "chief", else worker 0) writes the stage's outputs; the other workers train into scratch folders.
`train.mixed_precision` ("auto", "always", "never") overrides the precision choice.

TensorFlow's deterministic ops are on where there is no GPU (CPU runs are bit-for-bit repeatable, which the
determinism test checks) and off on GPUs, where they cost speed and some kernels have no deterministic version
(TensorFlow then raises instead of training); GPU runs are seeded but repeatable only up to float rounding.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from tasks.core.errors import PipelineError

PRECISION_CHOICES = ("auto", "always", "never")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistributionPlan:
    strategy: str  # "default", "mirrored" or "multi_worker"
    gpus: int
    mixed_precision: bool
    is_chief: bool = True
    task_type: str = "chief"
    task_index: int = 0
    workers: int = 1

    @property
    def deterministic_ops(self) -> bool:
        return self.gpus == 0

    @property
    def policy(self) -> str:
        return "mixed_float16" if self.mixed_precision else "float32"


def parse_tf_config(raw: str | None) -> dict[str, Any] | None:
    """TF_CONFIG as a dict, or None when unset/empty. A PipelineError names TF_CONFIG when it is malformed."""
    if not raw or not raw.strip():
        return None
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as err:
        raise PipelineError(f"TF_CONFIG: not valid JSON: {err}") from None
    cluster, task = config.get("cluster"), config.get("task")
    if not isinstance(cluster, dict) or not isinstance(task, dict) or "type" not in task:
        raise PipelineError("TF_CONFIG: expected {'cluster': {...}, 'task': {'type': ..., 'index': ...}}")
    kind, index = task["type"], int(task.get("index", 0))
    if kind not in cluster or index >= len(cluster[kind]):
        raise PipelineError(f"TF_CONFIG: task {kind}:{index} is not in the cluster {sorted(cluster)}")
    return config


def is_chief(config: dict[str, Any]) -> bool:
    """The chief writes outputs: the 'chief' task, or worker 0 when the cluster names no chief."""
    task = config["task"]
    if task["type"] == "chief":
        return True
    return task["type"] == "worker" and int(task.get("index", 0)) == 0 and "chief" not in config["cluster"]


def plan_distribution(gpus: int, tf_config: str | None, mixed_precision: str = "auto") -> DistributionPlan:
    """Choose the strategy and precision for `gpus` local GPUs and the TF_CONFIG environment value."""
    if mixed_precision not in PRECISION_CHOICES:
        raise PipelineError(
            f"params.yaml: 'train.mixed_precision' must be one of {PRECISION_CHOICES}, got {mixed_precision!r}"
        )
    mixed = {"auto": gpus > 0, "always": True, "never": False}[mixed_precision]
    config = parse_tf_config(tf_config)
    if config is not None:
        workers = sum(len(v) for k, v in config["cluster"].items() if k in ("chief", "worker"))
        if workers > 1:
            return DistributionPlan(
                strategy="multi_worker",
                gpus=gpus,
                mixed_precision=mixed,
                is_chief=is_chief(config),
                task_type=str(config["task"]["type"]),
                task_index=int(config["task"].get("index", 0)),
                workers=workers,
            )
    return DistributionPlan(strategy="mirrored" if gpus > 1 else "default", gpus=gpus, mixed_precision=mixed)


def detect_gpus() -> int:
    import tensorflow as tf

    return len(tf.config.list_physical_devices("GPU"))


def make_strategy(plan: DistributionPlan) -> Any:
    """The tf.distribute strategy for `plan`, with the global Keras precision policy set to match."""
    import keras
    import tensorflow as tf

    keras.mixed_precision.set_global_policy(plan.policy)
    if plan.strategy == "multi_worker":
        return reduce_leaf_by_leaf(tf.distribute.MultiWorkerMirroredStrategy())
    if plan.strategy == "mirrored":
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


REDUCIBLE_DTYPES = ("float16", "bfloat16", "float32", "float64", "int32", "int64")


def reduce_leaf_by_leaf(strategy: Any) -> Any:
    """Make `strategy.reduce` usable by Keras 3's `fit` under MultiWorkerMirroredStrategy; returns `strategy`.

    Keras 3 (3.15 here) cannot `fit` under MultiWorkerMirroredStrategy as it stands (keras-team/keras#20585,
    tensorflow/tensorflow#72388): it calls `strategy.reduce` on the (inputs, targets) structure of a batch to get a
    sample for building the model, which the collective strategy only accepts for single tensors and not at all for
    uint8 images, and it reduces scalar metrics with `axis=0`. This wrapper, on this strategy object only, reduces a
    structure leaf by leaf, drops the axis for scalars, and answers with the local value for dtypes the collective
    ops cannot reduce (only Keras' build-time sample batch has those; it needs shapes, not a mean).
    """
    import tensorflow as tf

    reduce = strategy.reduce

    def leaf(reduce_op: Any, value: Any, axis: int | None) -> Any:
        local = strategy.experimental_local_results(value)[0]
        if local.dtype.name not in REDUCIBLE_DTYPES:
            return local
        return reduce(reduce_op, value, axis=axis if local.shape.rank else None)

    strategy.reduce = lambda reduce_op, value, axis=None: tf.nest.map_structure(
        lambda v: leaf(reduce_op, v, axis), value
    )
    return strategy
